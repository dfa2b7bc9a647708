"""The rows of the tables as the app reads them: one typed record per table, the same on every
database (app.core.statements validates them from what the driver returns).

A record's fields are its table's columns, in order; tests/core/test_records.py holds them to
the tables in app/domain/models.py.
"""

from typing import NamedTuple
from uuid import UUID

from pydantic import AwareDatetime

from generated.models import TaskPriority, TaskStatus, UserRole


class UserRecord(NamedTuple):
    id: UUID
    email: str
    full_name: str | None
    hashed_password: str
    role: UserRole
    is_active: bool
    token_version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskRecord(NamedTuple):
    id: UUID
    user_id: UUID
    title: str
    search_text: str
    description: str | None
    priority: TaskPriority
    status: TaskStatus
    due_date: AwareDatetime | None
    version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class IdempotencyKeyRecord(NamedTuple):
    user_id: UUID
    key: str
    fingerprint: str
    response_status: int | None
    response_body: str | None
    response_headers: str | None
    locked_at: AwareDatetime
    expires_at: AwareDatetime
