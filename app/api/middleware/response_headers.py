"""Headers added to responses on their way out: the security headers every response carries, and
the RateLimit-* headers of the budget the request spent (see app/api/rate_limit.py)."""

from starlette.types import Scope

from app.api.rate_limit import STATE_KEY, Budget

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(*, hsts: bool) -> dict[str, str]:
    return {**SECURITY_HEADERS, **({"Strict-Transport-Security": HSTS} if hsts else {})}


def rate_limit_headers(scope: Scope) -> dict[str, str]:
    budget: Budget | None = scope["state"].get(STATE_KEY)
    return {} if budget is None else budget.headers()
