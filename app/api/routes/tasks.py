from typing import Annotated

from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import (
    AccessClaims,
    CursorsDep,
    DatabaseDep,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    TaskId,
    json_body,
    query_params,
)
from app.api.etags import none_match, versions_for_if_match
from app.api.idempotency import respond_once
from app.api.paging import list_scope, next_page, page_of
from app.api.responses import API_PREFIX, model_response, no_content
from app.api.routing import Router
from app.core.db import Run
from app.domain.models import TaskRecord, task_etag
from app.domain.search import words
from app.repositories import tasks as tasks_repo
from app.repositories.tasks import TaskFilters
from app.services import auth as auth_service
from app.services import tasks as tasks_service
from app.services.tasks import as_utc
from generated import models as api

router = Router(prefix=f"{API_PREFIX}/tasks", tags=["tasks"])


def _task(task: TaskRecord) -> api.Task:
    return api.Task.model_validate(task, from_attributes=True)


def _task_response(task: TaskRecord, *, status: int = 200, location: bool = False) -> Response:
    headers = {"ETag": task_etag(task.version)}
    if location:
        headers["Location"] = f"{API_PREFIX}/tasks/{task.id}"
    return model_response(_task(task), status=status, headers=headers)


# First in the route table: the request clients repeat most, matched without trying the others.
@router.get("/{task_id}")
async def get_task(
    claims: AccessClaims, database: DatabaseDep, task_id: TaskId, if_none_match: IfNoneMatch
) -> Response:
    task = await tasks_service.get_task(database, claims, task_id)
    if none_match(if_none_match, task):
        return Response(status_code=304, headers={"ETag": task_etag(task.version)})
    return _task_response(task)


ListTasksQuery = Annotated[api.ListTasksParametersQuery, query_params(api.ListTasksParametersQuery)]


@router.get("")
async def list_tasks(
    request: Request,
    claims: AccessClaims,
    database: DatabaseDep,
    cursors: CursorsDep,
    params: ListTasksQuery,
) -> Response:
    given = params.model_dump()
    filters = TaskFilters(
        status=given.get("status"),
        priority=given.get("priority"),
        due_before=as_utc(given.get("due_before"), field="due_before"),
        due_after=as_utc(given.get("due_after"), field="due_after"),
        search=tuple(words(given["q"])) if "q" in given else (),
    )
    sort = api.TaskSort(params.sort or api.TaskSort.created_at_desc)
    order = tasks_repo.order_of(sort)
    scope = list_scope("tasks", claims.user_id, filters, sort.value)
    page = page_of(cursors, scope, order, given.get("cursor"), params.per_page)
    tasks, last = await tasks_service.list_tasks(database, claims, filters, sort, page)
    next_cursor, headers = next_page(request, cursors, scope, order, last)
    listed = {"tasks": tasks, "per_page": page.size, "next_cursor": next_cursor}
    return model_response(
        api.TaskList.model_validate(listed, from_attributes=True), headers=headers
    )


@router.post("")
async def create_task(
    claims: AccessClaims,
    database: DatabaseDep,
    key: IdempotencyKey,
    data: Annotated[api.TaskCreate, json_body(api.TaskCreate)],
) -> Response:
    async def create(run: Run) -> Response:
        task = await tasks_service.create_task(run, claims, data)
        return _task_response(task, status=201, location=True)

    if key is None:
        return await create(database.write)
    # A replay inserts nothing, so it would not check the token: check it first.
    await auth_service.caller_for_claims(database.read, claims)
    return await respond_once(
        database,
        user_id=claims.user_id,
        key=key,
        canonical_request=data.model_dump_json(),
        respond=create,
    )


@router.put("/{task_id}")
async def replace_task(
    claims: AccessClaims,
    database: DatabaseDep,
    task_id: TaskId,
    if_match: IfMatch,
    data: Annotated[api.TaskReplace, json_body(api.TaskReplace)],
) -> Response:
    task = await tasks_service.replace_task(
        database, claims, task_id, data, expected_versions=versions_for_if_match(if_match)
    )
    return _task_response(task)


@router.patch("/{task_id}")
async def update_task(
    claims: AccessClaims,
    database: DatabaseDep,
    task_id: TaskId,
    if_match: IfMatch,
    data: Annotated[api.TaskUpdate, json_body(api.TaskUpdate)],
) -> Response:
    task = await tasks_service.update_task(
        database, claims, task_id, data, expected_versions=versions_for_if_match(if_match)
    )
    return _task_response(task)


@router.delete("/{task_id}")
async def delete_task(
    claims: AccessClaims, database: DatabaseDep, task_id: TaskId, if_match: IfMatch
) -> Response:
    await tasks_service.delete_task(
        database, claims, task_id, expected_versions=versions_for_if_match(if_match)
    )
    return no_content()
