"""A list's page in HTTP terms: the cursor a request brings, and the `next_cursor` and
`Link: rel="next"` of its response."""

import json
from dataclasses import fields
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

from app.api.cursors import BadCursor, CursorCodec
from app.repositories.pagination import BadKey, Order, Page

BAD_CURSOR = "The cursor is not one this list gave: start again from the first page."


def list_scope(list_name: str, caller: UUID, filters: Any, sort: str) -> str:
    """What a cursor belongs to: the list, who asks, its filters and sort (not the page size,
    which may change from page to page)."""
    values = [getattr(filters, f.name) for f in fields(filters)]
    return json.dumps([list_name, str(caller), values, sort], default=str)


def page_of(cursors: CursorCodec, scope: str, order: Order, cursor: str | None, size: int) -> Page:
    """The page a request asks for; a cursor that is not this list's is a 422."""
    if cursor is None:
        return Page(size)
    try:
        return Page(size, order.load(cursors.decode(scope, cursor)))
    except (BadCursor, BadKey) as exc:
        error = {"loc": ("query", "cursor"), "msg": BAD_CURSOR, "type": "cursor"}
        raise RequestValidationError([error]) from exc


def next_page(
    request: Request, cursors: CursorCodec, scope: str, order: Order, last: tuple[Any, ...] | None
) -> tuple[str | None, dict[str, str]]:
    """The `next_cursor` for the rows after the key `last` (None on the last page) and the
    headers that link to that page."""
    if last is None:
        return None, {}
    cursor = cursors.encode(scope, order.dump(last))
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    link = f"{request.url.path}?{urlencode([*query, ('cursor', cursor)])}"
    return cursor, {"Link": f'<{link}>; rel="next"'}
