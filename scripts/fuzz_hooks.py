"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz.py),
with those both fuzz runs share (scripts/fuzz_contract.py).

Every request carries a live access token of a real account on the server under test: the admin
operations an admin's (the server's first admin, FUZZ_ADMIN_EMAIL), the rest a user's. The fuzzer
itself logs out, changes passwords and emails; `after_call` follows that, and the next request
logs in again (the user registers afresh when the old account is gone).
"""

import os
import uuid
from typing import Any

import httpx
import schemathesis

from scripts.fuzz_contract import admin_operations

BASE_URL = os.environ.get("FUZZ_BASE_URL", "http://127.0.0.1:8000/api/v1")
# Not the contract's example password, so the fuzzer rarely guesses it.
PASSWORD = "fuzz-password-0f6e"  # noqa: S105
ADMIN_OPERATIONS = admin_operations()


class Account:
    def __init__(self, email: str = "", password: str = PASSWORD) -> None:
        self.email = email
        self.password = password
        self.token: str | None = None

    def live_token(self) -> str:
        if self.token is None and not self._log_in():
            self._register()
        assert self.token is not None
        return self.token

    def observe(self, operation: str, case: Any, response: Any) -> None:
        """Follow what a successful call sent with this account's token did to it."""
        if operation == "logout":
            self.token = None
        elif operation == "change_password":
            body = case.body if isinstance(case.body, dict) else {}
            self.password = str(body.get("new_password", self.password))
            self.token = None
        elif operation == "update_current_user":
            self.email = response.json()["email"]

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


USER = Account()
# The server's first admin; should the fuzzer take its rights away, admin operations fall back to
# the user (and get the documented 403).
ADMIN = Account(os.environ.get("FUZZ_ADMIN_EMAIL", ""), os.environ.get("FUZZ_ADMIN_PASSWORD", ""))


def _operation(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId"))


@schemathesis.auth(refresh_interval=None)
class LiveBearer:
    def get(self, case: Any, context: Any) -> str:
        if _operation(case) in ADMIN_OPERATIONS and ADMIN.email:
            try:
                return ADMIN.live_token()
            except httpx.HTTPStatusError:
                ADMIN.email = ""
        return USER.live_token()

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    sent = response.request.headers.get("Authorization")
    for account in (USER, ADMIN):
        if account.token is None or sent != f"Bearer {account.token}":
            continue
        if response.status_code == 401:
            account.token = None  # revoked, deactivated or deleted: log in (or register) again
        elif 200 <= response.status_code < 300:
            account.observe(_operation(case), case, response)
