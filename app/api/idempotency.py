"""Serving a create at most once per `Idempotency-Key` (rules in app/services/idempotency.py)."""

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from app.services import idempotency

REPLAYED_HEADER = "Idempotent-Replayed"
STORED_HEADERS = ("Location", "ETag")


async def respond_once(
    connection: AsyncConnection,
    *,
    user_id: uuid.UUID,
    key: str,
    canonical_request: str,
    respond: Callable[[], Awaitable[Response]],
) -> Response:
    """`respond()`, unless this user already sent this key: then the first response again."""
    stored = await idempotency.claim(
        connection, user_id=user_id, key=key, fingerprint=idempotency.fingerprint(canonical_request)
    )
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status,
            headers={**stored.headers, REPLAYED_HEADER: "true"},
            media_type="application/json",
        )
    try:
        response = await respond()
        kept = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
        await idempotency.store_response(
            connection,
            user_id=user_id,
            key=key,
            response=idempotency.StoredResponse(response.status_code, bytes(response.body), kept),
        )
    except Exception:
        await idempotency.release(connection, user_id=user_id, key=key)
        raise
    return response
