"""The lint rules of openapi/redocly.yaml (`make spec-lint`, Redocly CLI from node_modules/).

The contract lints with no problem at all (one documented exception in .redocly.lint-ignore.yaml),
and every house rule catches the violation planted for it in fixtures/lint/violations.yaml, so a
rule whose `where` clause stops matching cannot pass silently.
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
CONFIG = ROOT / "openapi" / "redocly.yaml"
VIOLATIONS = Path(__file__).resolve().parent / "fixtures" / "lint" / "violations.yaml"


def lint(path: Path) -> dict[str, Any]:
    assert REDOCLY.exists(), "Redocly CLI is not installed: run `make node-install`"
    environment = os.environ | {
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    }
    result = subprocess.run(
        [REDOCLY, "lint", "--config", CONFIG, "--format", "json", path],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == (1 if report["totals"]["errors"] else 0), result.stderr
    return report


def test_the_contract_lints_clean() -> None:
    report = lint(ROOT / "openapi" / "openapi.yaml")
    assert report["problems"] == []
    # get_health's missing 4xx, and nothing else, is waived in openapi/.redocly.lint-ignore.yaml.
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 1}


def test_each_house_rule_catches_its_violation() -> None:
    found = {
        (problem["ruleId"], problem["location"][0]["pointer"])
        for problem in lint(VIOLATIONS)["problems"]
    }
    assert {
        ("rule/operation-id-snake-case", "#/paths/~1items/get/operationId"),
        ("rule/operation-security-explicit", "#/paths/~1items~1{item_id}/get/security"),
        (
            "rule/problem-json-on-errors",
            "#/paths/~1items/get/responses/404/content/application~1json",
        ),
        (
            "rule/problem-schema-on-errors",
            "#/paths/~1items/post/responses/422/content/application~1problem+json/schema",
        ),
        ("rule/secured-operations-document-401", "#/paths/~1items/post/responses"),
        ("rule/schema-examples", "#/components/schemas/Item"),
        ("operation-description", "#/paths/~1items/post/description"),
        ("parameter-description", "#/paths/~1items/get/parameters/0"),
        ("no-unused-components", "#/components/schemas/Unused"),
        ("response-contains-header", "#/paths/~1items/post/responses/201/headers"),
    } <= found
    # The 401 rule is about secured operations only: get_item states no security at all.
    unsecured = "#/paths/~1items~1{item_id}/get/responses"
    assert ("rule/secured-operations-document-401", unsecured) not in found
