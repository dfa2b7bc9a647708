"""Breaking-change gate for the contract (`make spec-diff`).

Compares openapi/openapi.yaml at a git ref (by default the merge base of HEAD with `main`) with
the working tree, classifies every change with api-smart-diff (scripts/spec_diff_classify.mjs,
installed by `make node-install`), prints a markdown report fit for a pull-request comment, and
fails when a change is breaking unless `info.version` got a major bump.

Usage:
    python scripts/spec_diff.py [--base REF] [--head-file PATH] [--report FILE]
    python scripts/spec_diff.py --base-file OLD.yaml [--head-file NEW.yaml] [--report FILE]

The report goes to stdout (and to FILE with --report, and is appended to $GITHUB_STEP_SUMMARY when
that is set); progress goes to stderr. Exit status: 0 when nothing is breaking or the major
version went up, 1 for a breaking change without a major bump, 2 when the comparison could not be
made (bad ref, unreadable contract, missing node_modules).

Both documents are dereferenced before the comparison, so a change to a shared schema is reported,
and classified, at every request and response that uses it: tightening a request property is
breaking, tightening a response property is not. On top of api-smart-diff's rules are three of
ours (`house_rule`): replacing a schema `type` by one that neither contains nor is contained in the
old one (string -> integer) is breaking wherever it happens; so is removing a property from a
response, even an optional one, or from a request body that forbids unknown properties.
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "openapi" / "openapi.yaml"
CLASSIFIER = ROOT / "scripts" / "spec_diff_classify.mjs"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
KINDS = ("breaking", "non-breaking", "deprecated", "unclassified", "annotation")
SHORT = {
    "breaking": "Breaking",
    "non-breaking": "Non-breaking",
    "deprecated": "Deprecated",
    "unclassified": "Unclassified",
    "annotation": "Docs",
}
TITLES = {
    "breaking": "Breaking changes",
    "non-breaking": "Non-breaking changes",
    "deprecated": "Deprecations",
    "unclassified": "Unclassified changes (review by hand)",
    "annotation": "Documentation and annotation changes",
}


class GateError(Exception):
    """The comparison could not be made (exit status 2)."""


def progress(message: str) -> None:
    print(f"spec-diff: {message}", file=sys.stderr, flush=True)


@dataclass
class Side:
    label: str
    document: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", "?"))


@dataclass
class Change:
    kind: str
    where: str
    text: str


@dataclass
class Comparison:
    base: Side
    head: Side
    changes: list[Change] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def breaking(self) -> bool:
        return bool(self.of_kind("breaking"))

    @property
    def major_bump(self) -> bool:
        return major(self.head.version) > major(self.base.version)

    @property
    def passed(self) -> bool:
        return not self.breaking or self.major_bump


def major(version: str) -> int:
    match = re.match(r"\s*v?(\d+)", version)
    return int(match.group(1)) if match else -1


# --- reading the two contracts -------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def default_base(repo: Path) -> tuple[str, str]:
    """The merge base of HEAD with `main` (or `origin/main` when there is no local `main`)."""
    for branch in ("main", "origin/main"):
        try:
            return git(repo, "merge-base", "HEAD", branch), f"merge base with {branch}"
        except GateError:
            continue
    raise GateError("no `main` or `origin/main` to find a merge base with: pass --base REF")


def load_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GateError(f"{origin}: not YAML: {exc}") from exc
    if not isinstance(document, dict) or "openapi" not in document:
        raise GateError(f"{origin}: not an OpenAPI document")
    return document


def read_file(path: Path) -> dict[str, Any]:
    try:
        return load_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise GateError(f"cannot read {path}: {exc}") from exc


def read_at_ref(head_file: Path, ref: str | None) -> tuple[dict[str, Any], str]:
    """The contract at `ref` (default: the merge base with main), and a label for the report."""
    try:
        repo = Path(git(head_file.parent, "rev-parse", "--show-toplevel"))
    except GateError:
        raise GateError(f"{head_file} is not in a git repository: use --base-file") from None
    relative = head_file.resolve().relative_to(repo.resolve()).as_posix()
    ref, name = (ref, f"`{ref}`") if ref else default_base(repo)
    try:
        commit = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GateError:
        raise GateError(f"unknown git ref {ref!r}") from None
    text = git(repo, "show", f"{commit}:{relative}")
    return load_yaml(text, f"{ref}:{relative}"), f"{name} (`{commit[:10]}`)"


# --- comparing -----------------------------------------------------------------------------------


def dereference(document: dict[str, Any]) -> dict[str, Any]:
    """A copy with every local `$ref` replaced by a copy of its target (cycles are left as refs)."""

    def target(ref: str) -> Any:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def walk(node: Any, chain: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, chain) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and ref not in chain:
            resolved = walk(copy.deepcopy(target(ref)), (*chain, ref))
            siblings = {key: walk(value, chain) for key, value in node.items() if key != "$ref"}
            return {**resolved, **siblings} if isinstance(resolved, dict) else resolved
        return {key: walk(value, chain) for key, value in node.items()}

    result: dict[str, Any] = walk(document, ())
    return result


def classify(base: dict[str, Any], head: dict[str, Any]) -> list[dict[str, Any]]:
    """Run api-smart-diff (through scripts/spec_diff_classify.mjs) on the two documents."""
    if not (ROOT / "node_modules" / "api-smart-diff").is_dir():
        raise GateError("api-smart-diff is not installed: run `make node-install`")
    with tempfile.TemporaryDirectory(prefix="spec-diff-") as tmp:
        before, after = Path(tmp) / "before.json", Path(tmp) / "after.json"
        before.write_text(json.dumps(base), encoding="utf-8")
        after.write_text(json.dumps(head), encoding="utf-8")
        result = subprocess.run(
            ["node", str(CLASSIFIER), str(before), str(after)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise GateError(f"api-smart-diff failed: {result.stderr.strip()}")
    changes: list[dict[str, Any]] = json.loads(result.stdout)
    return changes


def type_set(value: Any) -> set[str] | None:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return set(value)
    return None


def incompatible_type_change(change: dict[str, Any]) -> bool:
    """`type` replaced by one that neither contains nor is contained in the old one."""
    path = change.get("path") or []
    if change.get("action") != "replace" or not path or path[-1] != "type":
        return False
    before, after = type_set(change.get("before")), type_set(change.get("after"))
    if before is None or after is None:
        return False
    return not (before <= after or after <= before)


def removed_response_property(change: dict[str, Any]) -> bool:
    """A property taken out of a response schema, required or not: clients may read it."""
    path = change.get("path") or []
    return (
        change.get("action") == "remove"
        and len(path) >= 2
        and path[-2] == "properties"
        and "responses" in path
    )


def node_at(document: Any, path: Iterable[Any]) -> Any:
    for part in path:
        in_dict = isinstance(document, dict) and part in document
        in_list = isinstance(document, list) and isinstance(part, int) and 0 <= part < len(document)
        if not (in_dict or in_list):
            return None
        document = document[part]
    return document


def removed_closed_request_property(change: dict[str, Any], base: dict[str, Any]) -> bool:
    """A property taken out of a request schema with `additionalProperties: false`: requests that
    send it, valid until now, are rejected."""
    path = change.get("path") or []
    if change.get("action") != "remove" or len(path) < 2 or path[-2] != "properties":
        return False
    if "requestBody" not in path:
        return False
    parent = node_at(base, path[:-2])
    return isinstance(parent, dict) and parent.get("additionalProperties") is False


def house_rule(change: dict[str, Any], base: dict[str, Any]) -> str | None:
    """Why our policy calls a change breaking that api-smart-diff does not, if it does (`base` is
    the dereferenced old document)."""
    if incompatible_type_change(change):
        return f"type {change.get('before')!r} -> {change.get('after')!r} is incompatible"
    if removed_response_property(change):
        return "clients may read the removed property"
    if removed_closed_request_property(change, base):
        return "the schema forbids unknown properties, so requests that send it now fail"
    return None


def is_api_surface(path: list[Any]) -> bool:
    """Changes under components/ already show, dereferenced, where they are used (except security
    schemes, which operations name rather than reference)."""
    return not path or path[0] != "components" or path[:2] == ["components", "securitySchemes"]


def pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def location(path: list[Any], base: dict[str, Any], head: dict[str, Any]) -> str:
    if len(path) >= 3 and path[0] == "paths" and str(path[2]) in HTTP_METHODS:
        route, method = str(path[1]), str(path[2])
        operation = head.get("paths", {}).get(route, {}).get(method) or base.get("paths", {}).get(
            route, {}
        ).get(method, {})
        operation_id = operation.get("operationId") if isinstance(operation, dict) else None
        label = f"`{method.upper()} {route}`"
        return f"{label} (`{operation_id}`)" if operation_id else label
    if len(path) >= 2 and path[0] == "paths":
        return f"`{path[1]}`"
    return f"`{pointer(path[:3])}`"


def compare(base: Side, head: Side) -> Comparison:
    comparison = Comparison(base, head)
    old, new = dereference(base.document), dereference(head.document)
    raw = classify(old, new)
    seen: set[tuple[str, str, str]] = set()
    for item in raw:
        path = list(item.get("path") or [])
        if not is_api_surface(path):
            continue
        kind = str(item.get("type", "unclassified"))
        text = str(item.get("description") or "").strip()
        if not text or text.startswith("in "):
            text = f"[{str(item.get('action', 'changed')).capitalize()}] {pointer(path)}"
        reason = house_rule(item, old) if kind != "breaking" else None
        if reason:
            kind = "breaking"
            text += f" ({reason})"
        key = (kind, location(path, base.document, head.document), text)
        if key not in seen:
            seen.add(key)
            comparison.changes.append(Change(*key))
    return comparison


# --- the report ----------------------------------------------------------------------------------


def verdict(comparison: Comparison) -> str:
    base, head = comparison.base.version, comparison.head.version
    if not comparison.changes:
        return "✅ **No changes to the API.**"
    if not comparison.breaking:
        return "✅ **No breaking changes.**"
    count = len(comparison.of_kind("breaking"))
    if comparison.major_bump:
        return (
            f"⚠️ **{count} breaking change(s), accepted: `info.version` has a major bump "
            f"({base} → {head}).** Tell the clients."
        )
    return (
        f"❌ **{count} breaking change(s) without a major version bump ({base} → {head}).** "
        "Make the change backward compatible, or bump the major version of `info.version`."
    )


def render(comparison: Comparison) -> str:
    base, head = comparison.base, comparison.head
    lines = [
        "## API contract changes",
        "",
        f"Base: {base.label} (version `{base.version}`) · Head: {head.label} "
        f"(version `{head.version}`)",
        "",
        verdict(comparison),
    ]
    if comparison.changes:
        lines += ["", "| " + " | ".join(SHORT[kind] for kind in KINDS) + " |"]
        lines += ["|" + "---:|" * len(KINDS)]
        lines += ["| " + " | ".join(str(len(comparison.of_kind(k))) for k in KINDS) + " |"]
    for kind in KINDS:
        changes = comparison.of_kind(kind)
        if not changes:
            continue
        heading = f"{TITLES[kind]} ({len(changes)})"
        bullets = [f"- {change.where}: {change.text}" for change in changes]
        if kind == "annotation":
            lines += ["", f"<details><summary>{heading}</summary>", "", *bullets, "", "</details>"]
        else:
            lines += ["", f"### {heading}", "", *bullets]
    return "\n".join(lines) + "\n"


# --- command line --------------------------------------------------------------------------------


def display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="git ref of the old contract (default: main's merge base)")
    parser.add_argument("--base-file", type=Path, help="the old contract as a file, not a ref")
    parser.add_argument("--head-file", type=Path, default=CONTRACT, help="the new contract")
    parser.add_argument("--report", type=Path, help="also write the markdown report to this file")
    args = parser.parse_args(argv)
    try:
        if args.base_file is not None and args.base:
            raise GateError("pass --base or --base-file, not both")
        head_file: Path = args.head_file.resolve()
        if args.base_file is not None:
            base = Side(f"`{display(args.base_file)}`", read_file(args.base_file))
        else:
            document, label = read_at_ref(head_file, args.base)
            base = Side(label, document)
        head = Side(f"`{display(head_file)}` (working tree)", read_file(head_file))
        progress(f"comparing {base.label} (version {base.version}) with {head.label}")
        comparison = compare(base, head)
    except GateError as exc:
        progress(f"error: {exc}")
        return 2
    counts = ", ".join(f"{len(comparison.of_kind(kind))} {kind}" for kind in KINDS)
    progress(f"{counts}")
    report = render(comparison)
    print(report, end="")
    if args.report is not None:
        args.report.write_text(report, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(report)
    if comparison.passed:
        progress("passed")
        return 0
    progress("FAILED: breaking change without a major version bump")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
