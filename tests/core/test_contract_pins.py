"""What the tables and the repositories hold that the contract also says, held to the contract:
column lengths are the contract's maxLength, enums are the generated ones (app/domain/models.py
imports them), and the list filters are the operations' query parameters."""

from dataclasses import fields
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Enum, String, Table

from app.domain.models import Task, User
from app.repositories.tasks import TaskFilters
from app.repositories.users import UserFilters
from generated import models as api

PAGING = {"sort", "cursor", "per_page"}
# The query parameter `q` is the repositories' `search`.
RENAMED = {"q": "search"}


def _max_length(model: type[BaseModel], name: str) -> int | None:
    schema: dict[str, Any] = model.model_json_schema()["properties"][name]
    for variant in schema.get("anyOf", [schema]):
        if "maxLength" in variant:
            return int(variant["maxLength"])
    return None


@pytest.mark.parametrize(
    ("table", "model"),
    [(Task.metadata.tables["task"], api.Task), (User.metadata.tables["user"], api.User)],
    ids=["task", "user"],
)
def test_string_columns_are_as_long_as_the_contract_allows(
    table: Table, model: type[BaseModel]
) -> None:
    compared = 0
    for column in table.columns:
        stored = getattr(column.type, "impl_instance", column.type)
        if isinstance(stored, Enum):  # the generated enum itself; its values must fit
            assert max(map(len, stored.enums)) <= (stored.length or 0), column.name
        elif column.name in model.model_fields and isinstance(stored, String) and stored.length:
            assert stored.length == _max_length(model, column.name), column.name
            compared += 1
    assert compared >= 2


@pytest.mark.parametrize(
    ("filters", "query"),
    [(TaskFilters, api.ListTasksParametersQuery), (UserFilters, api.ListUsersParametersQuery)],
    ids=["list_tasks", "list_users"],
)
def test_the_list_filters_are_the_operations_query_parameters(
    filters: type[Any], query: type[BaseModel]
) -> None:
    parameters = {RENAMED.get(name, name) for name in query.model_fields} - PAGING
    assert {field.name for field in fields(filters)} == parameters
