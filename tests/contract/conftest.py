"""Fixtures for the Schemathesis contract test (test_schemathesis.py).

The contract FILE (openapi/openapi.yaml) is loaded, never the app's copy of it, with the settings of
schemathesis.toml and what scripts/fuzz_contract.py derives from the contract (by-design answers,
the check that every secured operation has a route, distinct idempotency keys). Requests reach
the app in-process: Schemathesis' ASGI transport is given `BRIDGE`, an ASGI app that hands every
request to the session's running starlette `TestClient` (`client` from tests/conftest.py). So
there is one app, its lifespan running once, one event loop and one fresh database (SQLite under
a tmp dir, or TEST_DATABASE_URL), shared with the fixtures. The checks' own probes
(ignored_auth, object_level_authorization, secured_operations_are_routed) take the same way.

Credentials come from real users registered and logged in through the API; the admin is made the
way operators make one. An `Identity` keeps a live token through `logout`, `change_password` and
an email change, so those operations run for real, never skipped.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

import anyio.to_thread
import pytest
import requests
import requests.auth
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.auths import RequestsAuth
from schemathesis.wfc.escalation import EscalatingAuthProvider

from scripts.fuzz_contract import admin_operations, config_text
from tests.conftest import API, PASSWORD, Account, make_admin, unique_email, wipe_tables

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi" / "openapi.yaml"

# Operations only an admin may call (403 for everyone else, as documented).
ADMIN_OPERATIONS = tuple(sorted(admin_operations()))
# Everything under /users, the admin-only operations included, is also run as an admin.
USERS_PATH = "/users"

Scope = dict[str, Any]
Message = dict[str, Any]
Case: TypeAlias = "schemathesis.Case[Any]"
F = TypeVar("F", bound=Callable[..., None])


def operation_id(case: Any) -> str:
    """The operationId of a case's operation (or of a filter context's)."""
    return str(case.operation.definition.raw.get("operationId", case.operation.label))


@dataclass
class Stats:
    """Status codes seen per operation and per stateful link followed (checks' probes aside);
    printed after each test, which `pytest -rP` shows."""

    title: str
    seen: Counter[tuple[str, int]] = field(default_factory=Counter)
    links: Counter[tuple[str, int]] = field(default_factory=Counter)

    def record(self, case: Case, response: schemathesis.Response, link: str | None = None) -> None:
        self.seen[(case.operation.label, response.status_code)] += 1
        if link is not None:
            self.links[(link, response.status_code)] += 1

    def render(self) -> str:
        lines = [f"{self.title}: {sum(self.seen.values())} requests"]
        for title, counts in (("operations", self.seen), ("links followed", self.links)):
            if counts:
                lines.append(f"{title}:")
            for name in sorted({name for name, _ in counts}):
                codes = sorted((code, n) for (other, code), n in counts.items() if other == name)
                lines.append(f"  {name:<40} " + "  ".join(f"{code}x{n}" for code, n in codes))
        return "\n".join(lines)


class Identity:
    """An account that can always produce a live access token.

    `logout` and `change_password` revoke its tokens, and the email can change: `observe` follows
    that from the responses, and the next request logs in again (with a new account, should that
    fail). An account an admin deactivates or deletes stays so for the rest of the scenario: its
    requests get the documented 401.
    """

    def __init__(self, name: str, client: TestClient, *, admin: bool = False) -> None:
        self.name = name
        self.admin = admin
        self._client = client
        self.account: Account | None = None
        self._live = False

    def token(self) -> str:
        if self.account is None:
            self._new_account()
        elif not self._live:
            self._log_in()
        assert self.account is not None
        return self.account.access_token

    def reset(self) -> None:
        self.account = None
        self._live = False

    def _new_account(self) -> None:
        if self.admin:
            self.account = make_admin(self._client, unique_email(self.name))
        else:
            email = unique_email(self.name)
            created = self._client.post(
                f"{API}/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
            self.account = Account(created.json()["id"], email, PASSWORD, "", "")
            self._log_in()
        self._live = True

    def _log_in(self) -> None:
        assert self.account is not None
        answer = self._client.post(
            f"{API}/auth/login",
            json={"email": self.account.email, "password": self.account.password},
        )
        if answer.status_code != 200:
            # Deactivated, deleted, or credentials changed in a way we could not follow.
            self._new_account()
            return
        tokens = answer.json()
        self.account.access_token = tokens["access_token"]
        self.account.refresh_token = tokens["refresh_token"]
        self._live = True

    def observe(self, case: Case, response: schemathesis.Response) -> None:
        account = self.account
        if account is None or not 200 <= response.status_code < 300:
            return
        operation = operation_id(case)
        if response.request.headers.get("Authorization") == f"Bearer {account.access_token}":
            if operation == "logout":
                self._live = False
            elif operation == "change_password":
                new = case.body.get("new_password") if isinstance(case.body, dict) else None
                if isinstance(new, str):
                    account.password = new
                self._live = False
            elif operation == "update_current_user":
                account.email = response.json()["email"]


@dataclass
class Identities:
    """`alice` (whom requests are sent as), her peer `bob`, and an admin."""

    alice: Identity
    bob: Identity
    admin: Identity

    def __iter__(self) -> Iterator[Identity]:
        return iter((self.alice, self.bob, self.admin))

    def observe(self, case: Case, response: schemathesis.Response) -> None:
        for identity in self:
            identity.observe(case, response)

    def reset(self) -> None:
        for identity in self:
            identity.reset()


class _Active:
    """What the running test works with.

    The schemas are module-level (the pytest plugin needs them at collection time, when it also
    builds the coverage-phase cases) and the Hypothesis-driven tests may only take fixtures that
    outlive one example, so the bridge, the auth providers and the tests find the running test's
    client, identities and statistics here. The autouse `identities` fixture sets them."""

    client: TestClient | None = None
    identities: Identities | None = None
    stats: Stats | None = None

    def identity(self, name: str) -> Identity:
        assert self.identities is not None, "the `identities` fixture is not active"
        identity: Identity = getattr(self.identities, name)
        return identity

    def observe(self, case: Case, response: schemathesis.Response, link: str | None = None) -> None:
        assert self.identities is not None and self.stats is not None
        self.stats.record(case, response, link)
        self.identities.observe(case, response)


ACTIVE = _Active()


class ClientBridge:
    """An ASGI app that forwards each request to the running TestClient, as sent.

    Schemathesis reaches ASGI apps in-process, checks' probes included, but runs their lifespan on
    an event loop of its own; the app's lifespan already runs in the TestClient, so this bridge
    answers the lifespan protocol itself and relays HTTP requests and responses."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message: Message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http", scope["type"]
        client = ACTIVE.client
        assert client is not None, "the `identities` fixture is not active"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        url = "http://testserver" + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        request = partial(
            client.request,
            scope["method"],
            url,
            content=body,
            headers=scope["headers"],
            follow_redirects=False,
        )
        answer = await anyio.to_thread.run_sync(request)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": answer.headers.raw,
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


BRIDGE = ClientBridge()


class Bearer(requests.auth.AuthBase):
    """The Authorization header of an identity, filled in as the request goes out.

    The coverage-phase cases get their auth at collection time, before any account exists, and a
    token taken early could be revoked by the time it is sent, so it is looked up at the last
    moment."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {ACTIVE.identity(self.name).token()}"
        return request


@dataclass
class IdentityAuth:
    """A Schemathesis auth provider: one identity's Bearer token, optionally only for some
    operations (the first provider that answers for an operation wins)."""

    name: str
    only: tuple[str, ...] = ()

    def get(self, case: Case, ctx: schemathesis.AuthContext) -> Bearer | None:
        if self.only and operation_id(case) not in self.only:
            return None
        return Bearer(self.name)

    def set(self, case: Case, data: Bearer, ctx: schemathesis.AuthContext) -> None:
        RequestsAuth[Bearer](data).set(case, data, ctx)


def peers_auth() -> EscalatingAuthProvider:
    """What `[auth.wfc]` with `user = "alice"` and `peers = ["alice", "bob"]` registers, built
    in-process (a WFC login entry would log in over the network): every request is sent as alice,
    and bob is loaded for object_level_authorization, whose probes must never see alice's tasks."""
    return EscalatingAuthProvider(
        [IdentityAuth("alice"), IdentityAuth("bob")],
        ["alice", "bob"],
        peers=("alice", "bob"),
        pinned="alice",
    )


def load_contract(*auth: Any) -> schemathesis.BaseSchema:
    """The contract file, with schemathesis.toml and the by-design answers the contract documents
    (scripts/fuzz_contract.py), sent to the app through `BRIDGE`, with these auth providers."""
    config = schemathesis.Config.from_str(config_text())
    schema = schemathesis.openapi.from_path(CONTRACT, config=config)
    schema.app = BRIDGE
    schema.auth.providers.extend(auth)
    return schema


def parametrize(schema: schemathesis.BaseSchema) -> Callable[[F], F]:
    """`schema.parametrize()`, typed."""
    return cast(Callable[[F], F], schema.parametrize())


def wipe_database(client: TestClient) -> None:
    """Empty the tables, as tests/conftest.py does after each test."""
    wipe_tables(client)


@pytest.fixture
def stats(request: pytest.FixtureRequest) -> Iterator[Stats]:
    collected = Stats(request.node.name)
    yield collected
    print(collected.render())


@pytest.fixture(autouse=True)
def identities(client: TestClient, stats: Stats) -> Iterator[Identities]:
    active = Identities(
        alice=Identity("alice", client),
        bob=Identity("bob", client),
        admin=Identity("admin", client, admin=True),
    )
    ACTIVE.client, ACTIVE.identities, ACTIVE.stats = client, active, stats
    yield active
    ACTIVE.client, ACTIVE.identities, ACTIVE.stats = None, None, None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each operation's test its own node id, `test_as_user[GET /tasks]`.

    Schemathesis 4.32.5 names the items so, but pytest 9.2 derives node ids from the original
    function name only, so every operation would share one id (and one line in reports)."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if isinstance(item, pytest.Function) and item.parent is not None and label:
            item._id = item.parent.id.child(item.originalname).with_params(label)
