"""What both fuzz runs (`make fuzz` and tests/contract/) read off the contract rather than list
by hand, registered with Schemathesis on import.

- `config_text()`: schemathesis.toml, plus each operation's by-design answers to a request that
  is valid as sent: every 4xx it documents but 413 and 422, which say the request itself is
  wrong (a stale If-Match is a 412, a wrong current password a 400);
- `admin_operations()`: the operations that document a 403, which only an admin may call;
- the check `secured_operations_are_routed`: a secured operation answers a request without a
  token with 401; a 404 there means no route serves it (probed with the helpers of
  Schemathesis' own ignored_auth check; the version is pinned);
- the hook `before_call`: as the contract asks of a client, an `Idempotency-Key` names one
  request (and its retries), so the fuzzer's keys, drawn from a few examples, are made the key
  of their body; and a client sends only the cursors a list gave it, for the same filters, so a
  well-formed `cursor` that this run's lists did not give (`after_call` notes them) is left out.
"""

import hashlib
import json
import re
from functools import cache
from typing import Any, TypeGuard

import schemathesis
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi._auth_retry import get_security_parameters, remove_auth, send_probe

from app.api.contract import missing_route, operations, resolve
from scripts.servers import ROOT

CONFIG = ROOT / "schemathesis.toml"
# Statuses that refuse the request as sent: a valid one never gets them.
INVALID_AS_SENT = frozenset({"413", "422"})


def config_text() -> str:
    """schemathesis.toml with an `[[operations]]` entry per operation with by-design answers."""
    sections = [CONFIG.read_text(encoding="utf-8")]
    for _, _, operation in operations():
        extra = sorted(
            status
            for status in operation["responses"]
            if status.startswith("4")
            and status not in INVALID_AS_SENT
            and status not in POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
        )
        if extra:
            statuses = [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, *extra]
            sections.append(
                "[[operations]]\n"
                f"include-operation-id = {json.dumps(operation['operationId'])}\n"
                f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}\n"
            )
    return "\n".join(sections)


def admin_operations() -> frozenset[str]:
    return frozenset(
        operation["operationId"]
        for _, _, operation in operations()
        if "403" in operation["responses"]
    )


_probed: set[str] = set()


@schemathesis.check
def secured_operations_are_routed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Once per secured operation: the case without its token must be refused with 401, not
    missed with 404."""
    operation = case.operation
    raw = operation.definition.raw
    if not raw.get("security") or operation.label in _probed:
        return None
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return None  # an invalid path parameter may miss the route whatever the table holds
    _probed.add(operation.label)
    anonymous = remove_auth(case, get_security_parameters(operation))
    answer = send_probe(ctx, case, anonymous)
    if answer.status_code == 404:
        message = missing_route(operation.method, operation.path, raw)
        raise Failure(
            operation=operation.label, title="No route serves the operation", message=message
        )
    return None


@cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = resolve({"$ref": f"#/components/schemas/{name}"})
    return schema


def _valid(value: Any, schema: dict[str, Any]) -> TypeGuard[str]:
    """`value` is a string that `schema` (a string schema with a pattern) accepts."""
    return (
        isinstance(value, str)
        and len(value) <= schema["maxLength"]
        and re.fullmatch(schema["pattern"], value) is not None
    )


# The cursors this run's lists gave: (operation, caller, filters, cursor).
_given_cursors: set[tuple[str, str, str, str]] = set()


def _list_of(case: Any) -> tuple[str, str, str]:
    """Which list a request reads: its operation, who asks, and its filters and sort."""
    query = {k: v for k, v in (case.query or {}).items() if k not in ("cursor", "per_page")}
    caller = str((case.headers or {}).get("Authorization", ""))
    return case.operation.label, caller, json.dumps(query, sort_keys=True, default=str)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if response.status_code != 200 or "next_cursor" not in response.text:
        return
    cursor = response.json().get("next_cursor")
    if isinstance(cursor, str):
        _given_cursors.add((*_list_of(case), cursor))


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """A well-formed cursor that no list gave is left out, and a valid Idempotency-Key becomes
    `<key>.<digest of the body>`; invalid ones are sent as drawn, so the negative cases stay
    negative."""
    query = case.query or {}
    cursor = query.get("cursor")
    if _valid(cursor, _schema("PageCursor")) and (*_list_of(case), cursor) not in _given_cursors:
        del query["cursor"]
    key = (case.headers or {}).get("Idempotency-Key")
    schema = _schema("IdempotencyKey")
    if not _valid(key, schema):
        return
    body = json.dumps(case.body, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(body).hexdigest()[:16]
    case.headers["Idempotency-Key"] = f"{key[: schema['maxLength'] - len(digest) - 1]}.{digest}"
