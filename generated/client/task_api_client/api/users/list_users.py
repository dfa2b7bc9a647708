from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.user_list import UserList
from ...models.user_role import UserRole
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
    role: UserRole | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    q: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["per_page"] = per_page

    json_role: str | Unset = UNSET
    if not isinstance(role, Unset):
        json_role = role.value

    params["role"] = json_role

    params["is_active"] = is_active

    params["q"] = q

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/users",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UserList | None:
    if response.status_code == 200:
        response_200 = UserList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | UserList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
    role: UserRole | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    q: str | Unset = UNSET,
) -> Response[Problem | UserList]:
    """List users

     Admins only, newest first. Filters by role, active flag and a case-insensitive email or name search.

    Args:
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.
        role (UserRole | Unset): What the user may do; admins manage users.
        is_active (bool | Unset):
        q (str | Unset): A case-insensitive substring.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserList]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        per_page=per_page,
        role=role,
        is_active=is_active,
        q=q,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
    role: UserRole | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    q: str | Unset = UNSET,
) -> Problem | UserList | None:
    """List users

     Admins only, newest first. Filters by role, active flag and a case-insensitive email or name search.

    Args:
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.
        role (UserRole | Unset): What the user may do; admins manage users.
        is_active (bool | Unset):
        q (str | Unset): A case-insensitive substring.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserList
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        per_page=per_page,
        role=role,
        is_active=is_active,
        q=q,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
    role: UserRole | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    q: str | Unset = UNSET,
) -> Response[Problem | UserList]:
    """List users

     Admins only, newest first. Filters by role, active flag and a case-insensitive email or name search.

    Args:
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.
        role (UserRole | Unset): What the user may do; admins manage users.
        is_active (bool | Unset):
        q (str | Unset): A case-insensitive substring.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserList]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        per_page=per_page,
        role=role,
        is_active=is_active,
        q=q,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    per_page: int | Unset = 20,
    role: UserRole | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    q: str | Unset = UNSET,
) -> Problem | UserList | None:
    """List users

     Admins only, newest first. Filters by role, active flag and a case-insensitive email or name search.

    Args:
        cursor (str | Unset): An opaque position in a list, made by the server.
        per_page (int | Unset):  Default: 20.
        role (UserRole | Unset): What the user may do; admins manage users.
        is_active (bool | Unset):
        q (str | Unset): A case-insensitive substring.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserList
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            per_page=per_page,
            role=role,
            is_active=is_active,
            q=q,
        )
    ).parsed
