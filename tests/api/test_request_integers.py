"""Integers as JSON Schema counts them: `1034.0` is one, `1034.5` is not, and in a JSON body
neither is `"1034"` (query and header values are text, so `1034` is how they carry one).

Every integer a request can carry is found in the contract and sent to the parser its place
uses (app/api/deps.py) with the generated model, so an integer field added to the contract is
checked here as soon as `make generate` has run.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import pytest
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.api.contract import load_contract, operations, resolve
from app.api.deps import json_body, query_params
from generated import models as api

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RequestInteger:
    operation: str
    where: str  # application/json, query or header
    name: str
    model: type[BaseModel] | None
    value: int  # one the contract admits
    rest: dict[str, Any]  # the other values of a valid request


def _is_integer(schema: dict[str, Any]) -> bool:
    schema = resolve(schema)
    types = schema.get("type", [])
    variants = [resolve(s) for s in schema.get("anyOf", schema.get("oneOf", []))]
    return "integer" in ([types] if isinstance(types, str) else types) or any(
        _is_integer(variant) for variant in variants
    )


def _valid(schema: dict[str, Any]) -> int:
    schema = resolve(schema)
    return int(schema.get("examples", [schema.get("default", schema.get("minimum", 1))])[0])


def _class_name(operation_id: str) -> str:
    return "".join(part.capitalize() for part in operation_id.split("_"))


def request_integers() -> list[RequestInteger]:
    found = []
    for _, path, operation in operations():
        name = operation["operationId"]
        shared = load_contract()["paths"][path].get("parameters", [])
        for parameter in (resolve(p) for p in [*shared, *operation.get("parameters", [])]):
            if parameter["in"] in {"query", "header"} and _is_integer(parameter["schema"]):
                model = getattr(api, f"{_class_name(name)}ParametersQuery", None)
                value = _valid(parameter["schema"])
                found.append(
                    RequestInteger(name, parameter["in"], parameter["name"], model, value, {})
                )
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            model = getattr(api, content["schema"]["$ref"].rsplit("/", 1)[-1])
            for field, schema in resolve(content["schema"])["properties"].items():
                if _is_integer(schema):
                    rest = {k: v for k, v in content["example"].items() if k != field}
                    found.append(
                        RequestInteger(name, media_type, field, model, _valid(schema), rest)
                    )
    return found


def request(body: bytes = b"", *, content_type: str = "", query: str = "") -> Request:
    """A request as the parsers see it."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request({**scope, "query_string": query.encode()}, receive)


def parse_as_sent(integer: RequestInteger, text: str) -> object:
    """What the server reads for the integer when the request carries `text` for it."""
    if integer.where == "application/json":
        assert integer.model is not None
        rest = json.dumps(integer.rest)[1:-1]
        body = "{" + (rest + ", " if rest else "") + f"{json.dumps(integer.name)}: {text}}}"
        parsed = read(json_body(integer.model), json_request(body))
    elif integer.where == "query":
        assert integer.model is not None, f"no generated query model for {integer.operation}"
        parsed = read(query_params(integer.model), request(query=f"{integer.name}={text}"))
    else:
        pytest.fail(
            f"{integer.operation}: no parser reads the integer {integer.where} {integer.name}"
        )
    return getattr(parsed, integer.name)


def read(parse: Callable[[Request], Awaitable[M]], sent: Request) -> M:
    async def call() -> M:
        return await parse(sent)

    return asyncio.run(call())


def json_request(body: str) -> Request:
    return request(body.encode(), content_type="application/json")


INTEGERS = request_integers()


def test_the_contract_has_request_integers() -> None:
    assert {"per_page"} <= {integer.name for integer in INTEGERS}


@pytest.mark.parametrize(
    "integer", INTEGERS, ids=[f"{i.operation} {i.where} {i.name}" for i in INTEGERS]
)
def test_every_request_integer_is_parsed_as_json_schema_counts(integer: RequestInteger) -> None:
    for text in (str(integer.value), f"{integer.value}.0"):
        parsed = parse_as_sent(integer, text)
        assert type(parsed) is int and parsed == integer.value, text
    refused = [f"{integer.value}.5"]
    if integer.where == "application/json":
        refused.append(json.dumps(str(integer.value)))
    for text in refused:
        with pytest.raises(RequestValidationError):
            parse_as_sent(integer, text)


class Estimate(BaseModel):
    minutes: Annotated[int | None, Field(ge=1, le=5000)] = None


@pytest.mark.parametrize(
    ("text", "expected"), [("1034", 1034), ("1034.0", 1034), ("1e3", 1000), ("null", None)]
)
def test_a_json_integer_may_be_written_with_a_fraction_of_zero(
    text: str, expected: int | None
) -> None:
    parsed = read(json_body(Estimate), json_request(f'{{"minutes": {text}}}'))
    assert type(parsed.minutes) is type(expected) and parsed.minutes == expected
    assert isinstance(parsed, Estimate)


@pytest.mark.parametrize("text", ["1034.5", '"1034"', "true", "10340.0", "0.0", "1e400"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(RequestValidationError):
        read(json_body(Estimate), json_request(f'{{"minutes": {text}}}'))
