"""The server against its contract, with Schemathesis, in-process.

Seed, budget, phases, checks and the by-design answers live in schemathesis.toml. Three tests:

- `test_as_user`: every operation as an ordinary user, in the examples, coverage and fuzzing
  phases (the admin-only operations must answer 403 here);
- `test_as_admin`: the operations under /users, the admin-only ones among them, as an admin;
- `test_stateful`: scenarios that follow the contract's links (and the ones Schemathesis infers),
  each from an empty database, with the checks that need a history (use_after_free,
  ensure_resource_availability, object_level_authorization).
"""

from typing import Any

import hypothesis
import schemathesis
from fastapi.testclient import TestClient

from tests.contract.conftest import (
    ACTIVE,
    ADMIN_OPERATIONS,
    USERS_PATH,
    Case,
    Identities,
    IdentityAuth,
    load_contract,
    parametrize,
    peers_auth,
    wipe_database,
)


def outside_users(ctx: Any) -> bool:
    path: str = ctx.operation.path
    return path != USERS_PATH and not path.startswith(f"{USERS_PATH}/")


user_contract = load_contract(peers_auth())
# Only the operations under /users. (`exclude`, because `include` is ignored once
# schemathesis.toml has [[operations]] entries: they add a filter that matches everything.)
admin_contract = load_contract(IdentityAuth("admin")).exclude(func=outside_users)
# Scenarios run as alice, except that the admin-only operations are sent as the admin, so the
# links that reach users/{user_id} exercise real administration.
stateful_contract = load_contract(IdentityAuth("admin", only=ADMIN_OPERATIONS), peers_auth())


def call_and_validate(case: Case) -> None:
    response = case.call()
    # Follow revoked tokens and changed credentials before the checks send anything.
    ACTIVE.observe(case, response)
    case.validate_response(response)


@parametrize(user_contract)
def test_as_user(case: Case) -> None:
    call_and_validate(case)


@parametrize(admin_contract)
def test_as_admin(case: Case) -> None:
    call_and_validate(case)


def test_stateful(client: TestClient, identities: Identities) -> None:
    class Workflow(stateful_contract.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts from an empty database with fresh accounts, so none depends
            # on what an earlier one left behind.
            wipe_database(client)
            identities.reset()

        def step(self, input: Any) -> Any:
            # The contract's (or an inferred) link this step follows, for the statistics.
            transition = input.transition if input.is_applied else None
            self.link = None if transition is None else transition.id
            return super().step(input)

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            super().after_call(response, case)
            ACTIVE.observe(case, response, self.link)

    config = stateful_contract.config
    settings = hypothesis.settings(
        config.get_hypothesis_settings(phase="stateful"),
        phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    hypothesis.seed(config.seed)(Workflow).run(settings=settings)
