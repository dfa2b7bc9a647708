"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz.py).

Every request carries a live access token of a real account on the server under test. The fuzzer
itself logs out, changes the password and changes the email; `after_call` follows that, and the
next request logs in again (or registers a fresh account when the old one is gone).
"""

import os
import uuid
from typing import Any

import httpx
import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "http://127.0.0.1:8000/api/v1")
# Not the contract's example password, so the fuzzer rarely guesses it.
PASSWORD = "fuzz-password-0f6e"  # noqa: S105


class Account:
    def __init__(self) -> None:
        self.email = ""
        self.password = PASSWORD
        self.token: str | None = None

    def live_token(self) -> str:
        if self.token is None and not self._log_in():
            self._register()
        assert self.token is not None
        return self.token

    def _register(self) -> None:
        self.email, self.password = f"fuzz-{uuid.uuid4().hex[:12]}@example.com", PASSWORD
        body = {"email": self.email, "password": self.password}
        httpx.post(f"{BASE_URL}/auth/register", json=body, timeout=30).raise_for_status()
        if not self._log_in():
            raise RuntimeError("a freshly registered fuzz account cannot log in")

    def _log_in(self) -> bool:
        if not self.email:
            return False
        body = {"email": self.email, "password": self.password}
        response = httpx.post(f"{BASE_URL}/auth/login", json=body, timeout=30)
        self.token = response.json()["access_token"] if response.status_code == 200 else None
        return self.token is not None


ACCOUNT = Account()


@schemathesis.auth(refresh_interval=None)
class LiveBearer:
    def get(self, case: Any, context: Any) -> str:
        return ACCOUNT.live_token()

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    sent = response.request.headers.get("Authorization")
    if not 200 <= response.status_code < 300 or sent != f"Bearer {ACCOUNT.token}":
        return
    operation = case.operation.definition.raw.get("operationId")
    if operation == "logout":
        ACCOUNT.token = None
    elif operation == "change_password":
        body = case.body if isinstance(case.body, dict) else {}
        ACCOUNT.password = str(body.get("new_password", ACCOUNT.password))
        ACCOUNT.token = None
    elif operation == "update_current_user":
        ACCOUNT.email = response.json()["email"]
