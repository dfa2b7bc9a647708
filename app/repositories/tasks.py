"""Every query on the `task` table. Each one is scoped to the owner in its WHERE clause, so a
forgotten check elsewhere cannot leak another user's task."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain.models import Task
from app.repositories.pagination import Page
from app.repositories.users import contains_text
from generated.models import TaskPriority, TaskSort, TaskStatus

_PRIORITY_RANK = case(
    {p.value: rank for rank, p in enumerate(TaskPriority)}, value=col(Task.priority)
)
_SORT_COLUMNS: dict[str, Any] = {
    "created_at": col(Task.created_at),
    "due_date": col(Task.due_date),
    "priority": _PRIORITY_RANK,
    "title": col(Task.title),
}


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    search: str | None = None


def _owned(owner_id: uuid.UUID, task_id: uuid.UUID) -> tuple[Any, ...]:
    return (col(Task.id) == task_id, col(Task.user_id) == owner_id)


def _order_by(sort: TaskSort) -> list[Any]:
    key = sort.value.removeprefix("-")
    descending = sort.value.startswith("-")
    column = _SORT_COLUMNS[key]
    ordered = column.desc() if descending else column.asc()
    # Tasks without a due date sort last either way; ties are broken by id for stable pages.
    keys: list[Any] = [col(Task.due_date).is_(None)] if key == "due_date" else []
    keys += [ordered, col(Task.id).desc() if descending else col(Task.id).asc()]
    return keys


# Built once (the hottest statement): SQLAlchemy then reuses its compiled form.
_OWNED_TASK = select(Task).where(
    col(Task.id) == bindparam("task_id"), col(Task.user_id) == bindparam("owner_id")
)


async def get(session: AsyncSession, *, owner_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    rows = await session.exec(_OWNED_TASK, params={"task_id": task_id, "owner_id": owner_id})
    return rows.first()


async def add(session: AsyncSession, task: Task) -> Task:
    session.add(task)
    await session.flush()
    return task


async def list_page(
    session: AsyncSession, *, owner_id: uuid.UUID, filters: TaskFilters, sort: TaskSort, page: Page
) -> tuple[list[Task], int]:
    conditions: list[Any] = [col(Task.user_id) == owner_id]
    if filters.status is not None:
        conditions.append(col(Task.status) == filters.status)
    if filters.priority is not None:
        conditions.append(col(Task.priority) == filters.priority)
    if filters.due_before is not None:
        conditions.append(col(Task.due_date) < filters.due_before)
    if filters.due_after is not None:
        conditions.append(col(Task.due_date) >= filters.due_after)
    if filters.search:
        conditions.append(contains_text(Task.title, filters.search))
    total_query = select(func.count()).select_from(Task).where(*conditions)
    total = int((await session.exec(total_query)).one())
    rows = await session.exec(
        select(Task)
        .where(*conditions)
        .order_by(*_order_by(sort))
        .offset(page.offset)
        .limit(page.size)
    )
    return list(rows.all()), total


async def update_if_current(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
    values: dict[str, Any],
) -> Task | None:
    """Apply `values` in one conditional UPDATE, bumping the version.

    With `expected_versions`, the row changes only if it still has one of those versions, so of
    several writers holding the same ETag exactly one succeeds. None when nothing matched.
    """
    conditions = list(_owned(owner_id, task_id))
    if expected_versions is not None:
        conditions.append(col(Task.version).in_(expected_versions))
    statement = (
        update(Task)
        .where(*conditions)
        .values(**values, version=col(Task.version) + 1)
        .returning(Task)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    result = await session.exec(statement)
    return result.scalars().first()


async def delete_if_current(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> bool:
    conditions = list(_owned(owner_id, task_id))
    if expected_versions is not None:
        conditions.append(col(Task.version).in_(expected_versions))
    result = await session.exec(delete(Task).where(*conditions))
    return bool(result.rowcount)
