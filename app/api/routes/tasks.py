import uuid
from functools import lru_cache

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.deps import (
    access_claims,
    database_of,
    idempotency_key,
    if_match,
    if_none_match,
    json_of,
    path_id,
    query_of,
)
from app.api.etags import none_match, versions_for_if_match
from app.api.idempotency import respond_once
from app.api.responses import API_PREFIX, json_response, no_content
from app.domain.models import task_etag
from app.repositories.pagination import Page
from app.repositories.tasks import TaskFilters, TaskRow
from app.services import auth as auth_service
from app.services import tasks as tasks_service
from app.services.tasks import as_utc
from generated import models as api

router = APIRouter(prefix=f"{API_PREFIX}/tasks", tags=["tasks"])


# Rows whose JSON is remembered: ~1 KB each for a typical task; at most ~30 KB (the contract's
# longest title and description, all emoji), so at most ~30 MB a process.
TASK_JSON_CACHE_ROWS = 1024


def task_json(task: TaskRow) -> str:
    """The task's JSON as the contract's `Task` model validates and serialises it.

    A pure function of the row, so it is remembered: reads answer the same rows again and again
    (a list's page, a polled task), and the validation and serialisation cost more than reading
    the row. The key is the row's column names and every value as read, so any change to a row
    (every write also bumps its version) makes a new key; the least recently used rows go first.
    """
    return _task_json(task._fields, task)


@lru_cache(maxsize=TASK_JSON_CACHE_ROWS)
def _task_json(fields: tuple[str, ...], task: TaskRow) -> str:
    return api.Task.model_validate(task, from_attributes=True).model_dump_json()


def _task_response(task: TaskRow, *, status: int = 200, location: bool = False) -> Response:
    headers = {"ETag": task_etag(task.version)}
    if location:
        headers["Location"] = f"{API_PREFIX}/tasks/{uuid.UUID(str(task.id))}"
    return json_response(task_json(task), status=status, headers=headers)


# First in the route table: the request clients repeat most, matched without trying the others.
@router.get("/{task_id}")
async def get_task(request: Request) -> Response:
    claims = await access_claims(request)
    task_id = path_id(request, "task_id")
    etags = if_none_match(request)
    task = await tasks_service.get_task(database_of(request), claims, task_id)
    if none_match(etags, task):
        return Response(status_code=304, headers={"ETag": task_etag(task.version)})
    return _task_response(task)


@router.get("")
async def list_tasks(request: Request) -> Response:
    claims = await access_claims(request)
    params = query_of(request, api.ListTasksParametersQuery)
    given = params.model_dump()
    filters = TaskFilters(
        status=given.get("status"),
        priority=given.get("priority"),
        due_before=as_utc(given.get("due_before"), field="due_before"),
        due_after=as_utc(given.get("due_after"), field="due_after"),
        search=given.get("q"),
    )
    sort = api.TaskSort(params.sort or api.TaskSort.created_at_desc)
    page = Page(params.page, params.per_page)
    tasks, total = await tasks_service.list_tasks(database_of(request), claims, filters, sort, page)
    envelope = api.TaskList(tasks=[], total=total, page=page.number, per_page=page.size)
    # The envelope is serialised without tasks, so its only '"tasks":[]' is that field.
    body = envelope.model_dump_json().replace(
        '"tasks":[]', '"tasks":[' + ",".join(map(task_json, tasks)) + "]", 1
    )
    return json_response(body)


@router.post("")
async def create_task(request: Request) -> Response:
    claims = await access_claims(request)
    key = idempotency_key(request)
    data = await json_of(request, api.TaskCreate)
    database = database_of(request)
    if key is None:
        task = await tasks_service.create_task(database, claims, data)
        return _task_response(task, status=201, location=True)
    # The task and the response stored for the key are committed together.
    async with database.connection(write=True) as connection:

        async def create() -> Response:
            task = await tasks_service.create_task(connection, claims, data)
            return _task_response(task, status=201, location=True)

        # A replay inserts nothing, so it would not check the token: check it first.
        await auth_service.caller_for_claims(connection, claims)
        return await respond_once(
            connection,
            user_id=claims.user_id,
            key=key,
            canonical_request=data.model_dump_json(),
            respond=create,
        )


@router.put("/{task_id}")
async def replace_task(request: Request) -> Response:
    claims = await access_claims(request)
    task_id = path_id(request, "task_id")
    expected_versions = versions_for_if_match(if_match(request))
    data = await json_of(request, api.TaskReplace)
    task = await tasks_service.replace_task(
        database_of(request), claims, task_id, data, expected_versions=expected_versions
    )
    return _task_response(task)


@router.patch("/{task_id}")
async def update_task(request: Request) -> Response:
    claims = await access_claims(request)
    task_id = path_id(request, "task_id")
    expected_versions = versions_for_if_match(if_match(request))
    data = await json_of(request, api.TaskUpdate)
    task = await tasks_service.update_task(
        database_of(request), claims, task_id, data, expected_versions=expected_versions
    )
    return _task_response(task)


@router.delete("/{task_id}")
async def delete_task(request: Request) -> Response:
    claims = await access_claims(request)
    task_id = path_id(request, "task_id")
    expected_versions = versions_for_if_match(if_match(request))
    await tasks_service.delete_task(
        database_of(request), claims, task_id, expected_versions=expected_versions
    )
    return no_content()
