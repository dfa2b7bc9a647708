"""Serving a create at most once per `Idempotency-Key` (rules in app/services/idempotency.py)."""

import uuid
from collections.abc import Awaitable, Callable

from starlette.responses import Response

from app.core.db import Database, Run
from app.domain.errors import ServiceUnavailable
from app.services import idempotency

REPLAYED_HEADER = "Idempotent-Replayed"
STORED_HEADERS = ("Location", "ETag")


async def respond_once(
    database: Database,
    *,
    user_id: uuid.UUID,
    key: str,
    canonical_request: str,
    respond: Callable[[Run], Awaitable[Response]],
) -> Response:
    """`respond(run)`, unless this user already sent this key: then the first response again.
    The work `respond` does with `run` and the response stored for the key are committed
    together."""
    stored = await idempotency.claim(
        database, user_id=user_id, key=key, fingerprint=idempotency.fingerprint(canonical_request)
    )
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status,
            headers={**stored.headers, REPLAYED_HEADER: "true"},
            media_type="application/json",
        )
    worked = False
    try:
        async with database.transaction() as run:
            response = await respond(run)
            kept = {n: response.headers[n] for n in STORED_HEADERS if n in response.headers}
            await idempotency.store_response(
                run,
                user_id=user_id,
                key=key,
                response=idempotency.StoredResponse(
                    response.status_code, bytes(response.body), kept
                ),
            )
            worked = True
    except Exception as exc:
        # The work failed and was rolled back (a 503 promises that): a retry may do it. A COMMIT
        # that failed otherwise may have happened: the claim stays, and a retry after
        # ABANDONED_AFTER finds the response or does the work.
        if not worked or isinstance(exc, ServiceUnavailable):
            await idempotency.release(database, user_id=user_id, key=key)
        raise
    return response
