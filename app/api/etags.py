"""Reading `If-Match` and `If-None-Match`. A task's ETag is its version (`task_etag`)."""

import re

from app.domain.models import TaskRecord

_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')
# The largest version the column holds (INTEGER on PostgreSQL): a larger tag names no version.
MAX_VERSION = 2**31 - 1


def _tags(header: str) -> list[tuple[bool, str]]:
    return [(bool(m.group(1)), m.group(2)) for m in _TAG.finditer(header)]


def versions_for_if_match(header: str | None) -> frozenset[int] | None:
    """The versions an `If-Match` admits (strong comparison); None means any (absent or `*`)."""
    if header is None or header.strip() == "*":
        return None
    versions = (int(tag) for weak, tag in _tags(header) if not weak and tag.isdigit())
    return frozenset(version for version in versions if version <= MAX_VERSION)


def none_match(header: str | None, task: TaskRecord) -> bool:
    """Whether `If-None-Match` names the task's current version (weak comparison)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(tag == str(task.version) for _, tag in _tags(header))
