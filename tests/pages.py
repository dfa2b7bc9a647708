"""Reading a whole list through the API, page after page."""

from collections.abc import Callable
from typing import Any

import httpx


def every_item(
    get: Callable[..., httpx.Response], path: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every item of the list at `path`, following `next_cursor` from the first page to the last
    (`get` is a TestClient's or an httpx client's)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params if cursor is None else {**params, "cursor": cursor}
        response = get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        [name] = set(body) - {"per_page", "next_cursor"}
        items += body[name]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
