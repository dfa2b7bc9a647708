"""The tables, each followed by its record: the row as the app reads it, one typed NamedTuple
whose fields are the table's columns, in order, the same on every database (app.core.statements
validates records from what the driver returns; tests/core/test_records.py holds each record to
its table). Enum values come from the contract's generated models, stored as plain strings."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlmodel import Field, SQLModel

from app.domain.types import UTCDateTime, utcnow
from generated.models import TaskPriority, TaskStatus, UserRole

# Stable constraint and index names, so autogenerate behaves the same on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _string_enum(enum: type[StrEnum]) -> sa.Enum:
    return sa.Enum(
        enum,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (
        sa.Index("uq_user_email_lower", sa.func.lower(sa.column("email")), unique=True),
        # The user list's order (newest first, ties by id).
        sa.Index("ix_user_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254)
    full_name: str | None = Field(default=None, max_length=100)
    hashed_password: str = Field(max_length=255)
    role: UserRole = Field(default=UserRole.user, sa_type=_string_enum(UserRole))
    is_active: bool = True
    # Bumped to revoke every token issued so far (logout, password change, deactivation).
    token_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserRecord(NamedTuple):
    id: uuid.UUID
    email: str
    full_name: str | None
    hashed_password: str
    role: UserRole
    is_active: bool
    token_version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


def priority_rank(priority: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
    """A priority's place in TaskPriority's order. Written with literals, not parameters, so
    that a query's ORDER BY is the very expression its index holds."""
    return sa.case(
        *(
            (priority == sa.literal_column(f"'{member.value}'"), sa.literal_column(str(rank)))
            for rank, member in enumerate(TaskPriority)
        )
    )


def due_date_missing(due_date: sa.ColumnElement[datetime]) -> sa.ColumnElement[bool]:
    """Sorts tasks without a due date after the others, in either direction."""
    return due_date.is_(None)


class Task(SQLModel, table=True):
    __tablename__ = "task"
    # A list's page is read off one of these in its order, after the cursor's row: it costs the
    # same on the first page and the thousandth, whatever the owner has. Ties break by id.
    __table_args__ = (
        sa.Index("ix_task_user_id_created_at_id", "user_id", "created_at", "id"),
        sa.Index("ix_task_user_id_title_id", "user_id", "title", "id"),
        sa.Index(
            "ix_task_user_id_priority_rank_id",
            "user_id",
            priority_rank(sa.column("priority")),
            "id",
        ),
        sa.Index(
            "ix_task_user_id_due_date_id",
            "user_id",
            due_date_missing(sa.column("due_date")),
            "due_date",
            "id",
        ),
        sa.Index(
            "ix_task_user_id_due_date_present_id",
            "user_id",
            ~due_date_missing(sa.column("due_date")),
            "due_date",
            "id",
        ),
        # The filters, in the default order.
        sa.Index("ix_task_user_id_status_created_at_id", "user_id", "status", "created_at", "id"),
        sa.Index(
            "ix_task_user_id_priority_created_at_id", "user_id", "priority", "created_at", "id"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    # The title's words as search finds them (app.domain.search); the migrations index it.
    search_text: str = Field(sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    description: str | None = Field(default=None, max_length=2000)
    priority: TaskPriority = Field(default=TaskPriority.medium, sa_type=_string_enum(TaskPriority))
    status: TaskStatus = Field(default=TaskStatus.todo, sa_type=_string_enum(TaskStatus))
    due_date: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped on every change; the ETag is this number.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TaskRecord(NamedTuple):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    search_text: str
    description: str | None
    priority: TaskPriority
    status: TaskStatus
    due_date: AwareDatetime | None
    version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class IdempotencyKey(SQLModel, table=True):
    """A client's `Idempotency-Key` for one create, and the response to replay for it."""

    __tablename__ = "idempotency_key"

    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    # sha256 of the canonical request, so the same key with another body is recognised.
    fingerprint: str = Field(max_length=64)
    # None while the first request is still being served.
    response_status: int | None = None
    response_body: str | None = None
    response_headers: str | None = None  # JSON object
    locked_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class IdempotencyKeyRecord(NamedTuple):
    user_id: uuid.UUID
    key: str
    fingerprint: str
    response_status: int | None
    response_body: str | None
    response_headers: str | None
    locked_at: AwareDatetime
    expires_at: AwareDatetime


def task_etag(version: int) -> str:
    """A task's version as a strong entity tag (`"3"`)."""
    return f'"{version}"'
