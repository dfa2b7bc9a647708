"""The contract's breaking-change gate (`make spec-diff`) and release notes (`make changelog`).

Compares openapi/openapi.yaml at a git ref (by default the merge base of HEAD with `main`) with
the working tree (or with another ref), classifies every change by the rules of
scripts/spec_diff_rules.py (oasdiff's levels; walked by scripts/spec_diff_compare.py), and prints
a markdown report grouped by operation, fit for a pull-request comment: each change with its rule
id, its severity and a line on why it matters to clients.

Usage:
    python scripts/spec_diff.py [--base REF] [--head REF | --head-file PATH] [--report FILE]
    python scripts/spec_diff.py --base-file OLD.yaml [--head-file NEW.yaml] [--report FILE]
    python scripts/spec_diff.py --changelog [--base REF] [--head REF]   (release-note markdown)

Severities: `breaking` (oasdiff ERR), `warning` (WARN: may break clients), `review` (no rule
classifies the change), `info` (INFO), `docs` (annotations only). Exit status: 1 while a breaking
or warning change is neither acknowledged nor covered by a major bump of `info.version`, or a
review change is not acknowledged; 0 otherwise (and always 0 for --changelog); 2 when the
comparison cannot be made (bad ref, unreadable contract, a bug), with a message on stderr.

A change is acknowledged by listing its id (shown in the report) on a line of the
acknowledgement file, openapi/acknowledged-changes.txt by default (`#` starts a comment), or with
--acknowledge ID. The report goes to stdout (and to FILE with --report, and is appended to
$GITHUB_STEP_SUMMARY when that is set); progress goes to stderr.
"""

import argparse
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/spec_diff.py`
    sys.path.insert(0, str(ROOT))

from scripts.spec_diff_compare import Change, CompareError, compare  # noqa: E402
from scripts.spec_diff_rules import (  # noqa: E402
    BREAKING,
    DOCS,
    FAILING,
    INFO,
    REVIEW,
    RULES,
    UNCLASSIFIED,
    WARNING,
)

CONTRACT = ROOT / "openapi" / "openapi.yaml"
ACKNOWLEDGED = ROOT / "openapi" / "acknowledged-changes.txt"
COMMENT_MARKER = "<!-- spec-diff-report -->"
COMMENT_LIMIT = 60_000  # bytes of UTF-8
BADGE = {
    BREAKING: "❌ breaking",
    WARNING: "⚠️ may break",
    REVIEW: "🔍 needs review",
    INFO: "✅ non-breaking",
    DOCS: "📝 docs",
}
COUNT_LABELS = {
    BREAKING: "❌ Breaking",
    WARNING: "⚠️ May break",
    REVIEW: "🔍 Needs review",
    INFO: "✅ Non-breaking",
    DOCS: "📝 Docs",
}
ORDER = (BREAKING, WARNING, REVIEW, INFO, DOCS)


class GateError(Exception):
    """The comparison could not be made (exit status 2)."""


def progress(message: str) -> None:
    print(f"spec-diff: {message}", file=sys.stderr, flush=True)


# --- reading the two contracts -------------------------------------------------------------------


class OpenAPILoader(yaml.SafeLoader):
    """YAML as OpenAPI tools read it (YAML 1.2's core schema): an unquoted date or time stays a
    string, and only true/false are booleans (not yes/no/on/off)."""


OpenAPILoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
OpenAPILoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def stringify_keys(node: Any) -> Any:
    """Mapping keys as strings (an unquoted `200:` is read as an integer)."""
    if isinstance(node, dict):
        return {str(key): stringify_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [stringify_keys(item) for item in node]
    return node


def load_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=OpenAPILoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise GateError(f"{origin}: not YAML: {exc}") from exc
    if not isinstance(document, dict) or "openapi" not in document:
        raise GateError(f"{origin}: not an OpenAPI document")
    result: dict[str, Any] = stringify_keys(document)
    return result


def read_file(path: Path) -> dict[str, Any]:
    try:
        return load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise GateError(f"cannot read {path}: {exc}") from exc


def git(cwd: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise GateError(f"cannot run git: {exc}") from exc
    if result.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def repository(path: Path) -> tuple[Path, str]:
    """The git work tree holding `path`, and `path` relative to it."""
    try:
        repo = Path(git(path.parent, "rev-parse", "--show-toplevel"))
    except GateError:
        raise GateError(f"{path} is not in a git repository: use --base-file") from None
    return repo, path.resolve().relative_to(repo.resolve()).as_posix()


def default_base(repo: Path) -> tuple[str, str]:
    """The merge base of HEAD with `main` (or `origin/main` when there is no local `main`)."""
    for branch in ("main", "origin/main"):
        try:
            return git(repo, "merge-base", "HEAD", branch), f"merge base with {branch}"
        except GateError:
            continue
    raise GateError("no `main` or `origin/main` to find a merge base with: pass --base REF")


def read_at_ref(contract: Path, ref: str | None) -> tuple[dict[str, Any], str]:
    """The contract at `ref` (default: the merge base with main), and a label for the report."""
    repo, relative = repository(contract)
    ref, name = (ref, f"`{ref}`") if ref else default_base(repo)
    try:
        commit = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GateError:
        raise GateError(f"unknown git ref {ref!r}") from None
    text = git(repo, "show", f"{commit}:{relative}")
    return load_yaml(text, f"{ref}:{relative}"), f"{name} (`{commit[:10]}`)"


def read_acknowledged(path: Path | None, extra: Iterable[str]) -> set[str]:
    ids = {line.strip() for line in extra if line.strip()}
    if path is not None and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GateError(f"cannot read {path}: {exc}") from exc
        ids |= {line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")}
    return ids


# --- the verdict ---------------------------------------------------------------------------------


@dataclass
class Side:
    label: str
    document: dict[str, Any]

    @property
    def version(self) -> str:
        info = self.document.get("info")
        return str(info.get("version", "?")) if isinstance(info, dict) else "?"


def major(version: str) -> int:
    match = re.match(r"\s*v?(\d+)", version)
    return int(match.group(1)) if match else -1


@dataclass
class Comparison:
    base: Side
    head: Side
    changes: list[Change]
    operation_ids: dict[str, str] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)

    @property
    def major_bump(self) -> bool:
        return major(self.head.version) > major(self.base.version)

    def of_level(self, level: str) -> list[Change]:
        return [change for change in self.changes if change.level == level]

    def is_acknowledged(self, change: Change) -> bool:
        return change.id in self.acknowledged

    def blocking(self) -> list[Change]:
        """The changes that fail the gate: breaking and warning ones without a major bump, and
        review ones, unless acknowledged."""
        return [
            change
            for change in self.changes
            if change.level in FAILING
            and not self.is_acknowledged(change)
            and not (self.major_bump and change.level in (BREAKING, WARNING))
        ]

    @property
    def unused_acknowledgements(self) -> list[str]:
        ids = {change.id for change in self.changes}
        return sorted(self.acknowledged - ids)

    @property
    def passed(self) -> bool:
        return not self.blocking()


def run_comparison(
    base: Side, head: Side, acknowledged: Iterable[str] = (), **options: Any
) -> Comparison:
    try:
        differ = compare(base.document, head.document, **options)
    except CompareError as exc:
        raise GateError(str(exc)) from exc
    return Comparison(base, head, differ.changes, differ.operation_ids, set(acknowledged))


# --- the report ----------------------------------------------------------------------------------


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def operation_label(comparison: Comparison, operation: str) -> str:
    if operation == "document":
        return "The whole API"
    operation_id = comparison.operation_ids.get(operation)
    return f"`{operation}`" + (f" (`{operation_id}`)" if operation_id else "")


def grouped(changes: Iterable[Change]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.operation, []).append(change)
    return groups


def verdict(comparison: Comparison) -> str:
    counts = {level: len(comparison.of_level(level)) for level in ORDER}
    blocking = comparison.blocking()
    base, head = comparison.base.version, comparison.head.version
    if not comparison.changes:
        return "✅ **No changes to the API.**"
    if blocking:
        parts = [
            f"{n} {BADGE[level].split(' ', 1)[1]}"
            for level in (BREAKING, WARNING, REVIEW)
            if (n := sum(1 for c in blocking if c.level == level))
        ]
        return (
            f"❌ **The gate fails: {', '.join(parts)} ({base} → {head}).** Make the change "
            "backward compatible, bump the major version of `info.version` (breaking and "
            "may-break changes), or acknowledge each change by its id (see below)."
        )
    if counts[BREAKING] or counts[WARNING]:
        how = "`info.version` has a major bump" if comparison.major_bump else "all acknowledged"
        return (
            f"⚠️ **{counts[BREAKING]} breaking and {counts[WARNING]} may-break change(s), "
            f"accepted: {how} ({base} → {head}).** Tell the clients."
        )
    if counts[REVIEW]:
        return "✅ **No breaking changes; the changes that need review are acknowledged.**"
    return "✅ **No breaking changes.**"


def change_row(comparison: Comparison, change: Change) -> str:
    badge = BADGE[change.level]
    if change.level in FAILING and comparison.is_acknowledged(change):
        badge += " (acknowledged)"
    where = f"`{cell(change.where)}`" if change.where else ""
    columns = [badge, f"`{change.rule}`", where, cell(change.text), cell(change.why)]
    return "| " + " | ".join(columns) + " |"


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
        lines += ["", "| " + " | ".join(COUNT_LABELS[level] for level in ORDER) + " |"]
        lines += ["|" + "---:|" * len(ORDER)]
        lines += ["| " + " | ".join(str(len(comparison.of_level(k))) for k in ORDER) + " |"]
    review = comparison.of_level(REVIEW)
    if review:
        lines += [
            "",
            f"### 🔍 Needs review ({len(review)})",
            "",
            f"{RULES[UNCLASSIFIED].why}. The gate fails until each change is acknowledged by its "
            "id (see below).",
            "",
            "| Operation | Rule | Where | Change | Id |",
            "|---|---|---|---|---|",
        ]
        for change in review:
            done = " (acknowledged)" if comparison.is_acknowledged(change) else ""
            columns = [
                operation_label(comparison, change.operation),
                f"`{change.rule}`",
                f"`{cell(change.where)}`" if change.where else "",
                cell(change.text) + done,
                f"`{cell(change.id)}`",
            ]
            lines.append("| " + " | ".join(columns) + " |")
    classified = [c for c in comparison.changes if c.level not in (REVIEW, DOCS)]
    for operation, changes in grouped(classified).items():
        lines += [
            "",
            f"### {operation_label(comparison, operation)}",
            "",
            "| Severity | Rule | Where | Change | Why it matters to clients |",
            "|---|---|---|---|---|",
        ]
        lines += [change_row(comparison, change) for change in changes]
    docs = comparison.of_level(DOCS)
    if docs:
        lines += ["", f"<details><summary>📝 Documentation changes ({len(docs)})</summary>", ""]
        for operation, changes in grouped(docs).items():
            for change in changes:
                where = f" `{change.where}`" if change.where else ""
                lines.append(f"- {operation_label(comparison, operation)}{where}: {change.text}")
        lines += ["", "</details>"]
    blocking = comparison.blocking()
    if blocking:
        lines += [
            "",
            "<details><summary>Acknowledging changes</summary>",
            "",
            "After review, a change gets through when its id is a line of "
            "`openapi/acknowledged-changes.txt` (commit it with the change). The ids of the "
            "changes that fail the gate:",
            "",
            "```text",
            *[change.id for change in blocking],
            "```",
            "",
            "</details>",
        ]
    unused = comparison.unused_acknowledgements
    if unused:
        lines += ["", "Acknowledged ids that match no change (remove them):", ""]
        lines += [f"- `{change_id}`" for change_id in unused]
    return "\n".join(lines) + "\n"


def render_comment(report: str) -> str:
    """The report as a pull-request comment: marked, so that the workflow finds and updates the
    same comment on every push, and cut to fit GitHub's limit (65,536 characters) and a single
    command-line argument (the workflow passes it to `gh api`)."""
    if len(report.encode("utf-8")) > COMMENT_LIMIT:
        cut = report.encode("utf-8")[:COMMENT_LIMIT].decode("utf-8", errors="ignore")
        report = (
            cut.rsplit("\n", 1)[0] + "\n\n… (cut: the whole report is on the run's summary page)\n"
        )
    return f"{COMMENT_MARKER}\n{report}"


def render_changelog(comparison: Comparison) -> str:
    """The same changes as release notes: by severity, then by operation."""
    base, head = comparison.base, comparison.head
    lines = [f"## API changes: {base.version} → {head.version}", ""]
    lines += [f"Between {base.label} and {head.label}.", ""]
    if not comparison.changes:
        return "\n".join([*lines, "No changes to the API.", ""])
    sections = (
        (BREAKING, "Breaking changes"),
        (WARNING, "Changes that may break clients"),
        (REVIEW, "Other changes, reviewed by hand"),
        (INFO, "Compatible changes"),
    )
    for level, title in sections:
        changes = comparison.of_level(level)
        if not changes:
            continue
        lines += [f"### {title}", ""]
        for operation, group in grouped(changes).items():
            lines.append(f"- {operation_label(comparison, operation)}")
            for change in group:
                where = f"`{change.where}`: " if change.where else ""
                why = f" — {change.why}" if level in (BREAKING, WARNING) else ""
                lines.append(f"  - {where}{change.text} (`{change.rule}`){why}")
        lines.append("")
    docs = comparison.of_level(DOCS)
    if docs:
        lines += [f"Also {len(docs)} documentation change(s).", ""]
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------


def display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--base", help="git ref of the old contract (default: main's merge base)")
    parser.add_argument("--base-file", type=Path, help="the old contract as a file, not a ref")
    parser.add_argument("--head", help="git ref of the new contract (default: the working tree)")
    parser.add_argument("--head-file", type=Path, default=CONTRACT, help="the new contract")
    parser.add_argument("--report", type=Path, help="also write the markdown to this file")
    parser.add_argument("--comment", type=Path, help="also write it as a PR comment to this file")
    parser.add_argument(
        "--acknowledged",
        type=Path,
        default=ACKNOWLEDGED,
        help="file of acknowledged change ids, one a line (default: %(default)s)",
    )
    parser.add_argument(
        "--acknowledge", action="append", default=[], metavar="ID", help="acknowledge one change"
    )
    parser.add_argument(
        "--changelog", action="store_true", help="print release notes instead (exit 0)"
    )
    return parser.parse_args(argv)


def sides(args: argparse.Namespace) -> tuple[Side, Side]:
    if args.base_file is not None and args.base:
        raise GateError("pass --base or --base-file, not both")
    head_file: Path = args.head_file.resolve()
    if args.head:
        document, label = read_at_ref(head_file, args.head)
        head = Side(label, document)
    else:
        head = Side(f"`{display(head_file)}` (working tree)", read_file(head_file))
    if args.base_file is not None:
        return Side(f"`{display(args.base_file)}`", read_file(args.base_file)), head
    document, label = read_at_ref(head_file, args.base)
    return Side(label, document), head


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        base, head = sides(args)
        acknowledged = read_acknowledged(args.acknowledged, args.acknowledge)
        progress(f"comparing {base.label} (version {base.version}) with {head.label}")
        comparison = run_comparison(base, head, acknowledged)
        report = render_changelog(comparison) if args.changelog else render(comparison)
    except Exception as exc:  # a bug too must be exit 2 with a message, never "breaking"
        message = str(exc) if isinstance(exc, GateError) else f"{type(exc).__name__}: {exc}"
        progress(f"error: {message}")
        if args.comment is not None:  # replace the last report, which no longer holds
            failure = (
                f"## API contract changes\n\n⚠️ **The contracts could not be compared:** {message}\n"
            )
            with contextlib.suppress(OSError):
                args.comment.parent.mkdir(parents=True, exist_ok=True)
                args.comment.write_text(render_comment(failure), encoding="utf-8")
        return 2
    counts = ", ".join(f"{len(comparison.of_level(level))} {level}" for level in ORDER)
    progress(counts)
    print(report, end="")
    try:
        for path, text in ((args.report, report), (args.comment, render_comment(report))):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(report)
    except OSError as exc:
        progress(f"error: cannot write the report: {exc}")
        return 2
    if args.changelog:
        return 0
    if comparison.passed:
        progress("passed")
        return 0
    progress(f"FAILED: {len(comparison.blocking())} change(s) fail the gate (see the report)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
