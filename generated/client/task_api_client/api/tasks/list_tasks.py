import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.task_list import TaskList
from ...models.task_priority import TaskPriority
from ...models.task_sort import TaskSort
from ...models.task_status import TaskStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: TaskStatus | Unset = UNSET,
    priority: TaskPriority | Unset = UNSET,
    due_before: datetime.datetime | Unset = UNSET,
    due_after: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    sort: TaskSort | Unset = UNSET,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    json_priority: str | Unset = UNSET
    if not isinstance(priority, Unset):
        json_priority = priority.value

    params["priority"] = json_priority

    json_due_before: str | Unset = UNSET
    if not isinstance(due_before, Unset):
        json_due_before = due_before.isoformat()
    params["due_before"] = json_due_before

    json_due_after: str | Unset = UNSET
    if not isinstance(due_after, Unset):
        json_due_after = due_after.isoformat()
    params["due_after"] = json_due_after

    params["q"] = q

    json_sort: str | Unset = UNSET
    if not isinstance(sort, Unset):
        json_sort = sort.value

    params["sort"] = json_sort

    params["cursor"] = cursor

    params["per_page"] = per_page

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tasks",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TaskList | None:
    if response.status_code == 200:
        response_200 = TaskList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TaskList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: TaskStatus | Unset = UNSET,
    priority: TaskPriority | Unset = UNSET,
    due_before: datetime.datetime | Unset = UNSET,
    due_after: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    sort: TaskSort | Unset = UNSET,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
) -> Response[Problem | TaskList]:
    """List the current user's tasks

     Filters, sorts and pages the caller's own tasks. Sorting breaks ties by id; pages follow
    `next_cursor`, which keeps the filters and sort it was made with.

    Args:
        status (TaskStatus | Unset): Where the task stands.
        priority (TaskPriority | Unset): How important the task is. An `urgent` task created
            without a due date is due 24 hours after creation.
        due_before (datetime.datetime | Unset):
        due_after (datetime.datetime | Unset):
        q (str | Unset): Words to find in task titles, each matched as the start of a word.
        sort (TaskSort | Unset): A sort key; `-` sorts descending. Tasks without a due date sort
            last.
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TaskList]
    """

    kwargs = _get_kwargs(
        status=status,
        priority=priority,
        due_before=due_before,
        due_after=due_after,
        q=q,
        sort=sort,
        cursor=cursor,
        per_page=per_page,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    status: TaskStatus | Unset = UNSET,
    priority: TaskPriority | Unset = UNSET,
    due_before: datetime.datetime | Unset = UNSET,
    due_after: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    sort: TaskSort | Unset = UNSET,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
) -> Problem | TaskList | None:
    """List the current user's tasks

     Filters, sorts and pages the caller's own tasks. Sorting breaks ties by id; pages follow
    `next_cursor`, which keeps the filters and sort it was made with.

    Args:
        status (TaskStatus | Unset): Where the task stands.
        priority (TaskPriority | Unset): How important the task is. An `urgent` task created
            without a due date is due 24 hours after creation.
        due_before (datetime.datetime | Unset):
        due_after (datetime.datetime | Unset):
        q (str | Unset): Words to find in task titles, each matched as the start of a word.
        sort (TaskSort | Unset): A sort key; `-` sorts descending. Tasks without a due date sort
            last.
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TaskList
    """

    return sync_detailed(
        client=client,
        status=status,
        priority=priority,
        due_before=due_before,
        due_after=due_after,
        q=q,
        sort=sort,
        cursor=cursor,
        per_page=per_page,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: TaskStatus | Unset = UNSET,
    priority: TaskPriority | Unset = UNSET,
    due_before: datetime.datetime | Unset = UNSET,
    due_after: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    sort: TaskSort | Unset = UNSET,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
) -> Response[Problem | TaskList]:
    """List the current user's tasks

     Filters, sorts and pages the caller's own tasks. Sorting breaks ties by id; pages follow
    `next_cursor`, which keeps the filters and sort it was made with.

    Args:
        status (TaskStatus | Unset): Where the task stands.
        priority (TaskPriority | Unset): How important the task is. An `urgent` task created
            without a due date is due 24 hours after creation.
        due_before (datetime.datetime | Unset):
        due_after (datetime.datetime | Unset):
        q (str | Unset): Words to find in task titles, each matched as the start of a word.
        sort (TaskSort | Unset): A sort key; `-` sorts descending. Tasks without a due date sort
            last.
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TaskList]
    """

    kwargs = _get_kwargs(
        status=status,
        priority=priority,
        due_before=due_before,
        due_after=due_after,
        q=q,
        sort=sort,
        cursor=cursor,
        per_page=per_page,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    status: TaskStatus | Unset = UNSET,
    priority: TaskPriority | Unset = UNSET,
    due_before: datetime.datetime | Unset = UNSET,
    due_after: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    sort: TaskSort | Unset = UNSET,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
) -> Problem | TaskList | None:
    """List the current user's tasks

     Filters, sorts and pages the caller's own tasks. Sorting breaks ties by id; pages follow
    `next_cursor`, which keeps the filters and sort it was made with.

    Args:
        status (TaskStatus | Unset): Where the task stands.
        priority (TaskPriority | Unset): How important the task is. An `urgent` task created
            without a due date is due 24 hours after creation.
        due_before (datetime.datetime | Unset):
        due_after (datetime.datetime | Unset):
        q (str | Unset): Words to find in task titles, each matched as the start of a word.
        sort (TaskSort | Unset): A sort key; `-` sorts descending. Tasks without a due date sort
            last.
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TaskList
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            priority=priority,
            due_before=due_before,
            due_after=due_after,
            q=q,
            sort=sort,
            cursor=cursor,
            per_page=per_page,
        )
    ).parsed
