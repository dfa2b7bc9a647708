"""The breaking-change gate's corpus: small base/revision pairs in tests/spec/corpus/*.yaml, one
file per rule family, each pair with the rule it exercises, the gate's expected level and
oasdiff's level for the same change (read off oasdiff's checker rules and tests).

A pair's `base` and `revision` are OpenAPI documents. `openapi` (3.0.3) and `info` may be left
out, and shortcuts keep the pairs small; each becomes the operation it names:

- `request: SCHEMA`: `POST /items` with a required `application/json` body of that schema;
- `response: SCHEMA` and `response_headers: {NAME: HEADER}`: `GET /items/{id}`'s 200 response;
- `query: [PARAMETER, ...]` and `get: {...}` (merged into the operation): `GET /items`.

    python -m tests.spec.corpus     # the agreement with oasdiff, per family (markdown)
"""

import copy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scripts.spec_diff import OpenAPILoader, Side, run_comparison
from scripts.spec_diff_rules import BREAKING, DOCS, INFO, OASDIFF_LEVEL, REVIEW, WARNING

CORPUS = Path(__file__).resolve().parent / "corpus"
SEVERITY = (BREAKING, WARNING, REVIEW, INFO, DOCS, "none")
OASDIFF_LEVELS = ("ERR", "WARN", "INFO", "none", "n/a")


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    rule: str  # the rule the pair exercises ("none": no change at all)
    level: str  # the gate's verdict: the most severe level among the pair's changes
    oasdiff: str  # ERR, WARN, INFO, none (oasdiff reports nothing), n/a (not compared)
    base: dict[str, Any]
    revision: dict[str, Any]
    also: tuple[str, ...] = ()  # other rules the pair triggers
    disagreement: str = ""  # why the gate's level differs from oasdiff's, when it does
    acknowledge: tuple[str, ...] = ()  # change ids the pair acknowledges

    @property
    def id(self) -> str:
        return f"{self.family}: {self.name}"

    @property
    def rules(self) -> set[str]:
        return set() if self.rule == "none" else {self.rule, *self.also}

    @property
    def agrees(self) -> bool | None:
        """Whether the gate's level is oasdiff's (None: not compared). oasdiff reporting nothing
        counts as INFO: both let the change through silently."""
        if self.oasdiff == "n/a":
            return None
        ours = OASDIFF_LEVEL.get(self.level, "INFO" if self.level in (DOCS, "none") else "REVIEW")
        theirs = "INFO" if self.oasdiff == "none" else self.oasdiff
        return ours == theirs


def document(side: dict[str, Any]) -> dict[str, Any]:
    """A pair's side as a whole OpenAPI document (see the module's docstring)."""
    side = copy.deepcopy(side)
    shortcuts = {"request", "response", "response_headers", "query", "get"}
    result: dict[str, Any] = {
        "openapi": side.pop("openapi", "3.0.3"),
        "info": side.pop("info", {"title": "Corpus", "version": "1.0.0"}),
    }
    result.update({key: value for key, value in side.items() if key not in shortcuts})
    paths: dict[str, Any] = result.setdefault("paths", {})
    if "request" in side:
        body = {"required": True, "content": {"application/json": {"schema": side["request"]}}}
        paths.setdefault("/items", {})["post"] = {
            "requestBody": body,
            "responses": {"201": {"description": "Created"}},
        }
    if "query" in side or "get" in side:
        operation: dict[str, Any] = {"responses": {"200": {"description": "OK"}}}
        if "query" in side:
            operation["parameters"] = side["query"]
        operation.update(side.get("get", {}))
        paths.setdefault("/items", {})["get"] = operation
    if "response" in side or "response_headers" in side:
        response: dict[str, Any] = {"description": "OK"}
        if "response_headers" in side:
            response["headers"] = side["response_headers"]
        if "response" in side:
            response["content"] = {"application/json": {"schema": side["response"]}}
        identifier = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        paths["/items/{id}"] = {
            "parameters": [identifier],
            "get": {"responses": {"200": response}},
        }
    return result


def load() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=OpenAPILoader)  # noqa: S506
        for raw in content["cases"]:
            cases.append(
                Case(
                    family=path.stem.replace("_", "-"),
                    name=raw["name"],
                    rule=raw["rule"],
                    level=raw["level"],
                    oasdiff=raw["oasdiff"],
                    base=document(raw["base"]),
                    revision=document(raw["revision"]),
                    also=tuple(raw.get("also", ())),
                    disagreement=raw.get("disagreement", ""),
                    acknowledge=tuple(raw.get("acknowledge", ())),
                )
            )
    return cases


def evaluate(case: Case) -> Any:
    """The gate's comparison of the pair (scripts.spec_diff.Comparison)."""
    return run_comparison(
        Side("base", case.base), Side("revision", case.revision), case.acknowledge
    )


def agreement(cases: list[Case]) -> Iterator[tuple[str, int, int]]:
    """(family, agreeing pairs, compared pairs), per family, then "all"."""
    families: dict[str, list[bool]] = {}
    for case in cases:
        if case.agrees is not None:
            families.setdefault(case.family, []).append(case.agrees)
    for family, verdicts in families.items():
        yield family, sum(verdicts), len(verdicts)
    every = [verdict for verdicts in families.values() for verdict in verdicts]
    yield "all", sum(every), len(every)


def agreement_table(cases: list[Case]) -> str:
    """The agreement with oasdiff per family, as the markdown table README.md shows."""
    lines = ["| rule family | pairs | compared with oasdiff | agree |", "|---|---:|---:|---:|"]
    sizes: dict[str, int] = {}
    for case in cases:
        sizes[case.family] = sizes.get(case.family, 0) + 1
    compared = {family: (agree, total) for family, agree, total in agreement(cases)}
    for family in sorted(sizes):
        agree, total = compared.get(family, (0, 0))
        share = f"{agree} ({100 * agree / total:.0f} %)" if total else "(the gate's own)"
        lines.append(f"| {family} | {sizes[family]} | {total} | {share} |")
    agree, total = compared["all"]
    lines.append(
        f"| **all** | **{len(cases)}** | **{total}** | **{agree} ({100 * agree / total:.1f} %)** |"
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    cases = load()
    print(agreement_table(cases))
    print("Disagreements with oasdiff:\n")
    for case in cases:
        if case.agrees is False:
            print(f"- {case.id}: `{case.rule}`, the gate {case.level}, oasdiff {case.oasdiff}.")
            print(f"  {case.disagreement}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
