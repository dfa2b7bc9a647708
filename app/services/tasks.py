"""Task rules: ownership, the urgent-task deadline, optimistic concurrency."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from app.core.db import Database, Run
from app.core.security import TokenClaims
from app.domain.errors import NotFound, PreconditionFailed, Unauthorized, UnprocessableContent
from app.domain.models import TaskRecord, task_etag
from app.domain.types import utcnow
from app.repositories import tasks as tasks_repo
from app.repositories.pagination import Page
from app.repositories.tasks import TaskFilters
from app.services import auth as auth_service
from generated.models import (
    TaskCreate,
    TaskPriority,
    TaskReplace,
    TaskSort,
    TaskStatus,
    TaskUpdate,
)

URGENT_DEADLINE = timedelta(hours=24)
TASK_NOT_FOUND = "Task not found."
STALE_ETAG = "The task has changed since the given ETag."


def as_utc(value: datetime | None, *, field: str) -> datetime | None:
    """`value` in UTC; a time that has no UTC equivalent (year 1 at +01:00) is refused."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise UnprocessableContent(f"{field} is outside the supported range.") from exc


async def create_task(run: Run, claims: TokenClaims, data: TaskCreate) -> TaskRecord:
    """A new task of the caller's, inserted by `run` (`database.write`, or a transaction's) in
    the statement that checks their token."""
    values = data.model_dump()  # the fields sent, and the defaults of the others
    now = utcnow()
    due_date = as_utc(values.get("due_date"), field="due_date")
    if due_date is None and data.priority == TaskPriority.urgent:
        due_date = now + URGENT_DEADLINE
    task = await tasks_repo.add(
        run,
        {
            **values,
            "id": uuid.uuid4(),
            "user_id": claims.user_id,
            "status": TaskStatus.todo,
            "due_date": due_date,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
        token_version=claims.version,
    )
    if task is None:  # the insert checks nothing else
        raise Unauthorized()
    return task


async def list_tasks(
    database: Database, claims: TokenClaims, filters: TaskFilters, sort: TaskSort, page: Page
) -> tuple[list[TaskRecord], tuple[Any, ...] | None]:
    """A page of the caller's tasks, read by a statement that checks the caller's token too,
    and the key of its last row when another page follows."""
    rows = await tasks_repo.list_page(
        database.read,
        owner_id=claims.user_id,
        token_version=claims.version,
        filters=filters,
        sort=sort,
        page=page,
    )
    if not rows:  # no tasks, or a token no longer current
        await auth_service.caller_for_claims(database.read, claims)
        return [], None
    tasks = rows[: page.size]
    more = len(rows) > page.size
    return tasks, tasks_repo.sort_key(sort, tasks[-1]) if more else None


async def get_task(database: Database, claims: TokenClaims, task_id: uuid.UUID) -> TaskRecord:
    """The caller's task, read by the statement that checks their token."""
    task = await tasks_repo.get(
        database.read, owner_id=claims.user_id, token_version=claims.version, task_id=task_id
    )
    if task is None:
        await _raise_missing(database, claims)
    return task


async def _raise_missing(database: Database, claims: TokenClaims) -> NoReturn:
    """Why a statement on the caller's task matched nothing: the token (401) or the task."""
    await auth_service.caller_for_claims(database.read, claims)
    raise NotFound(TASK_NOT_FOUND)


async def replace_task(
    database: Database,
    claims: TokenClaims,
    task_id: uuid.UUID,
    data: TaskReplace,
    *,
    expected_versions: frozenset[int] | None,
) -> TaskRecord:
    sent = data.model_dump()
    values = {name: sent.get(name) for name in TaskReplace.model_fields}  # left out: null
    values["due_date"] = as_utc(values["due_date"], field="due_date")
    return await _update(database, claims, task_id, values, expected_versions)


async def update_task(
    database: Database,
    claims: TokenClaims,
    task_id: uuid.UUID,
    data: TaskUpdate,
    *,
    expected_versions: frozenset[int] | None,
) -> TaskRecord:
    values = data.model_dump()  # only the fields sent
    if "due_date" in values:
        values["due_date"] = as_utc(values["due_date"], field="due_date")
    return await _update(database, claims, task_id, values, expected_versions)


async def delete_task(
    database: Database,
    claims: TokenClaims,
    task_id: uuid.UUID,
    *,
    expected_versions: frozenset[int] | None,
) -> None:
    deleted = await tasks_repo.delete_if_current(
        database.write,
        owner_id=claims.user_id,
        token_version=claims.version,
        task_id=task_id,
        expected_versions=expected_versions,
    )
    if not deleted:
        await _raise_why_unchanged(database, claims, task_id)


async def _update(
    database: Database,
    claims: TokenClaims,
    task_id: uuid.UUID,
    values: dict[str, Any],
    expected_versions: frozenset[int] | None,
) -> TaskRecord:
    task = await tasks_repo.update_if_current(
        database.write,
        owner_id=claims.user_id,
        token_version=claims.version,
        task_id=task_id,
        expected_versions=expected_versions,
        values={**values, "updated_at": utcnow()},
    )
    if task is None:
        await _raise_why_unchanged(database, claims, task_id)
    return task


async def _raise_why_unchanged(
    database: Database, claims: TokenClaims, task_id: uuid.UUID
) -> NoReturn:
    """Why a conditional write matched nothing: the token (401), the task (404) or its version
    (412). Read after the write's transaction: the answer is as of this read."""
    current = await get_task(database, claims, task_id)
    raise PreconditionFailed(STALE_ETAG, etag=task_etag(current.version))
