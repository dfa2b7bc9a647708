"""The contract's dead corners, from a Schemathesis NDJSON report (written by `make fuzz`).

Lists documented (operation, status) pairs that the fuzzer never saw, and statuses it saw that the
contract does not document. Informational: exits 0 unless the report cannot be read.

Usage: python scripts/contract_coverage.py reports/events.ndjson
"""

import json
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.api.contract import operations


@cache
def documented() -> dict[str, set[str]]:
    return {
        f"{method.upper()} {path}": set(operation["responses"])
        for method, path, operation in operations()
    }


def observed(report: Path) -> dict[str, set[str]]:
    """Statuses seen per documented operation. Requests with a method the path does not have
    (the unsupported_method check's probes, answered 405) belong to no operation."""
    seen: dict[str, set[str]] = defaultdict(set)
    with report.open(encoding="utf-8") as events:
        for line in events:
            event: dict[str, Any] = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if not scenario:
                continue
            for interaction in scenario["recorder"].get("interactions", {}).values():
                response = interaction.get("response")
                if response is None:
                    continue
                # A stateful scenario records several operations: name each by its own request.
                label = _label(interaction["request"])
                if label is not None:
                    seen[label].add(str(response["status_code"]))
    return seen


def _label(request: dict[str, Any]) -> str | None:
    """The operation a request was for: the most specific path that matches (/users/me before
    /users/{user_id}, as the server routes), if it has the request's method."""
    templates = {operation.split(" ", 1)[1] for operation in documented()}
    matching = sorted(
        (t for t in templates if _matches(request["uri"], t)), key=lambda t: t.count("{")
    )
    label = f"{request['method']} {matching[0]}" if matching else None
    return label if label in documented() else None


def _matches(uri: str, template: str) -> bool:
    path = uri.split("?", 1)[0].split("/api/v1", 1)[-1]
    parts, expected = path.strip("/").split("/"), template.strip("/").split("/")
    return len(parts) == len(expected) and all(
        e.startswith("{") or p == e for p, e in zip(parts, expected, strict=True)
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    contract, seen = documented(), observed(Path(argv[0]))
    never = {op: sorted(statuses - seen.get(op, set())) for op, statuses in contract.items()}
    never = {op: statuses for op, statuses in never.items() if statuses}
    extra = {op: sorted(statuses - contract.get(op, set())) for op, statuses in seen.items()}
    extra = {op: statuses for op, statuses in extra.items() if statuses}
    pairs = sum(len(s) for s in contract.values())
    covered = pairs - sum(len(s) for s in never.values())
    print(f"Contract coverage: {covered}/{pairs} documented (operation, status) pairs observed.")
    if never:
        print("Documented but never observed:")
        for op, statuses in sorted(never.items()):
            print(f"  {op}: {', '.join(statuses)}")
    print("Observed but not documented:" if extra else "Observed but not documented: none")
    for op, statuses in sorted(extra.items()):
        print(f"  {op}: {', '.join(statuses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
