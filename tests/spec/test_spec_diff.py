"""The breaking-change gate (scripts/spec_diff.py, `make spec-diff`, `make changelog`) run as a
reviewer runs it: the command line, on files and on git refs.

Every file in tests/spec/fixtures/ is base.yaml with one change (its first line says which); the
rule families are covered in depth by the corpus (tests/spec/test_spec_corpus.py). Here: exit
statuses, the report's shape (grouped by operation, rule, severity, why), the acknowledgement
file, the major-bump escape, release notes between two refs, and failures to compare (exit 2,
a message, never a traceback).
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts.spec_diff import COMMENT_LIMIT, COMMENT_MARKER, render_comment

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "spec_diff.py"
CONTRACT = ROOT / "openapi" / "openapi.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASE = FIXTURES / "base.yaml"
NO_ACKNOWLEDGEMENTS = ("--acknowledged", os.devnull)

# fixture -> (exit status, a row of the report must contain this)
EXPECTED = {
    "breaking-remove-operation": (1, "| ❌ breaking | `api-removed-without-deprecation` |"),
    "breaking-remove-response-property": (
        1,
        "| ⚠️ may break | `response-optional-property-removed` | "
        "`response 200 application/json /note` |",
    ),
    "breaking-remove-request-property": (
        1,
        "| ⚠️ may break | `request-property-removed` | `request application/json /note` |",
    ),
    "breaking-remove-enum-value": (
        1,
        "| ❌ breaking | `request-parameter-enum-value-removed` | `query status` |",
    ),
    "breaking-add-required-request-property": (
        1,
        "| ❌ breaking | `new-required-request-property` | `request application/json /owner` |",
    ),
    "breaking-add-required-parameter": (
        1,
        "| ❌ breaking | `new-required-request-parameter` | `query owner` |",
    ),
    "breaking-parameter-becomes-required": (
        1,
        "| ❌ breaking | `request-parameter-became-required` | `query limit` |",
    ),
    "breaking-tighten-constraint": (1, "| ❌ breaking | `request-property-max-length-decreased` |"),
    "breaking-change-request-type": (1, "| ❌ breaking | `request-property-type-changed` |"),
    "breaking-change-response-type": (1, "| ❌ breaking | `response-property-type-changed` |"),
    "breaking-remove-operation-minor-bump": (1, "`api-removed-without-deprecation`"),
    "breaking-remove-operation-major-bump": (0, "`api-removed-without-deprecation`"),
    "non-breaking-add-operation": (0, "| ✅ non-breaking | `endpoint-added` |"),
    "non-breaking-add-optional-request-property": (0, "`new-optional-request-property`"),
    "non-breaking-add-optional-response-property": (0, "`response-optional-property-added`"),
    "non-breaking-loosen-request-constraint": (0, "`request-property-max-length-increased`"),
    "docs-only": (0, "<details><summary>📝 Documentation changes (5)</summary>"),
}


def gate(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    return subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)],
        cwd=cwd,
        env=environment | (env or {}),
        capture_output=True,
        text=True,
        check=False,
    )


def compare(fixture: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    head = FIXTURES / f"{fixture}.yaml"
    return gate("--base-file", BASE, "--head-file", head, *NO_ACKNOWLEDGEMENTS, *args)


@pytest.fixture(scope="module")
def compared() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every fixture compared with base.yaml, a few at a time (each run starts Python)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(EXPECTED, pool.map(compare, EXPECTED), strict=True))


def test_every_fixture_is_covered() -> None:
    assert {path.stem for path in FIXTURES.glob("*.yaml")} == {*EXPECTED, "base"}


@pytest.mark.parametrize(("fixture", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_each_fixture_gets_its_verdict_and_report_line(
    compared: dict[str, subprocess.CompletedProcess[str]],
    fixture: str,
    expected: tuple[int, str],
) -> None:
    status, line = expected
    result = compared[fixture]
    assert result.returncode == status, result.stdout + result.stderr
    assert line in result.stdout, result.stdout
    assert "Traceback" not in result.stderr
    if status:
        assert "❌ **The gate fails:" in result.stdout
        assert "spec-diff: FAILED:" in result.stderr
    else:
        assert "spec-diff: passed" in result.stderr


def test_the_report_is_grouped_by_operation_with_rule_severity_and_why(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    report = compared["breaking-remove-response-property"].stdout
    assert report.startswith("## API contract changes\n")
    headings = [line for line in report.splitlines() if line.startswith("### ")]
    assert headings == [
        "### `GET /items` (`list_items`)",
        "### `POST /items` (`create_item`)",
        "### `GET /items/{item_id}` (`get_item`)",
    ]
    assert "| Severity | Rule | Where | Change | Why it matters to clients |" in report
    assert "clients that read the optional property no longer get it" in report
    # The ids of what fails the gate, ready to acknowledge.
    assert "response-optional-property-removed GET /items/{item_id} response 200" in report


def test_the_same_contract_and_docs_only_edits_pass(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    itself = gate("--base-file", CONTRACT, "--head-file", CONTRACT)
    assert itself.returncode == 0, itself.stderr
    assert "✅ **No changes to the API.**" in itself.stdout
    docs = compared["docs-only"]
    assert "### " not in docs.stdout  # no operation and no needs-review section
    assert "`GET /items/{item_id}` (`get_item`): `summary` `Get an item` → `Read one item`" in (
        docs.stdout
    )


def test_a_major_version_bump_lets_a_breaking_change_through(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert "accepted: `info.version` has a major bump (1.0.0 → 2.0.0)" in (
        compared["breaking-remove-operation-major-bump"].stdout
    )
    assert "(1.0.0 → 1.1.0)" in compared["breaking-remove-operation-minor-bump"].stdout


def test_an_acknowledged_change_passes_and_stays_in_the_report(tmp_path: Path) -> None:
    change = "api-removed-without-deprecation DELETE /items/{item_id}"
    acknowledged = tmp_path / "acknowledged-changes.txt"
    acknowledged.write_text(f"# agreed with the clients\n{change}\nno-such-change\n", "utf-8")
    head = FIXTURES / "breaking-remove-operation.yaml"
    result = gate("--base-file", BASE, "--head-file", head, "--acknowledged", acknowledged)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| ❌ breaking (acknowledged) | `api-removed-without-deprecation` |" in result.stdout
    assert "all acknowledged" in result.stdout
    assert "- `no-such-change`" in result.stdout  # acknowledgements that match nothing
    flag = compare("breaking-remove-operation", "--acknowledge", change)
    assert flag.returncode == 0, flag.stdout + flag.stderr


def test_unclassified_changes_fail_until_acknowledged(tmp_path: Path) -> None:
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    text = BASE.read_text(encoding="utf-8").replace(
        "schema: { type: integer, minimum: 1, maximum: 100 }",
        "schema: { type: integer, minimum: 1, maximum: 100, multipleOf: 10 }",
    )
    head.write_text(text, encoding="utf-8")
    result = gate("--base-file", base, "--head-file", head, *NO_ACKNOWLEDGEMENTS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "### 🔍 Needs review (1)" in result.stdout
    change = "unclassified GET /items query limit multipleOf"
    assert f"`{change}`" in result.stdout
    passed = gate("--base-file", base, "--head-file", head, "--acknowledge", change)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_unquoted_dates_are_strings_not_a_crash(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8")
    dated = text.replace(
        "      summary: List items\n",
        "      summary: List items\n      x-sunset: 2022-08-10\n      x-since: 2024-01-31\n",
    )
    assert dated != text
    head = tmp_path / "dated.yaml"
    head.write_text(dated, encoding="utf-8")
    for base in (BASE, head):
        result = gate("--base-file", base, "--head-file", head, *NO_ACKNOWLEDGEMENTS)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "`2022-08-10`" in gate("--base-file", BASE, "--head-file", head).stdout


def test_the_report_goes_to_a_file_the_job_summary_and_a_comment(tmp_path: Path) -> None:
    report, summary, comment = tmp_path / "r.md", tmp_path / "s.md", tmp_path / "c.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = compare(
        "breaking-remove-operation",
        "--report",
        report,
        "--comment",
        comment,
    )
    with_summary = gate(
        "--base-file",
        BASE,
        "--head-file",
        FIXTURES / "breaking-remove-operation.yaml",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == with_summary.returncode == 1
    assert report.read_text(encoding="utf-8") == result.stdout
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + result.stdout
    assert comment.read_text(encoding="utf-8") == "<!-- spec-diff-report -->\n" + result.stdout


def git(repo: Path, *args: str) -> None:
    executable = shutil.which("git")
    assert executable is not None
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([executable, *identity, *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository whose `main` has base.yaml as openapi/openapi.yaml, on branch `feature`."""
    contract = tmp_path / "openapi" / "openapi.yaml"
    contract.parent.mkdir()
    contract.write_bytes(BASE.read_bytes())
    git(tmp_path, "init", "--quiet", "--initial-branch", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "contract")
    git(tmp_path, "tag", "v1.0.0")
    git(tmp_path, "switch", "--quiet", "-c", "feature")
    return contract


def test_the_base_comes_from_git_by_default_the_merge_base_with_main(repository: Path) -> None:
    repository.write_bytes((FIXTURES / "breaking-remove-operation.yaml").read_bytes())
    cwd = repository.parents[1]
    result = gate("--head-file", repository, *NO_ACKNOWLEDGEMENTS, cwd=cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Base: merge base with main (`" in result.stdout

    git(cwd, "commit", "--quiet", "-am", "remove delete_item")
    result = gate("--head-file", repository, "--base", "main", *NO_ACKNOWLEDGEMENTS, cwd=cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Base: `main` (`" in result.stdout
    assert gate("--head-file", repository, "--base", "HEAD", cwd=cwd).returncode == 0


def test_the_changelog_renders_the_diff_between_two_refs_as_release_notes(
    repository: Path,
) -> None:
    cwd = repository.parents[1]
    text = (FIXTURES / "breaking-remove-operation.yaml").read_text(encoding="utf-8")
    repository.write_text(text.replace('version: "1.0.0"', 'version: "2.0.0"'), encoding="utf-8")
    git(cwd, "commit", "--quiet", "-am", "2.0.0")
    git(cwd, "tag", "v2.0.0")
    repository.write_bytes(BASE.read_bytes())  # the working tree is not what is compared
    result = gate(
        "--changelog", "--base", "v1.0.0", "--head", "v2.0.0", "--head-file", repository, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    notes = result.stdout
    assert notes.startswith("## API changes: 1.0.0 → 2.0.0\n")
    assert "### Breaking changes\n\n- `DELETE /items/{item_id}` (`delete_item`)\n" in notes
    assert (
        "  - removed (`api-removed-without-deprecation`) — clients calling the operation" in notes
    )
    same = gate("--changelog", "--base", "v1.0.0", "--head", "v1.0.0", "--head-file", repository)
    assert "No changes to the API." in same.stdout


def test_a_comparison_that_cannot_be_made_is_exit_2_with_a_message(tmp_path: Path) -> None:
    unknown_ref = gate("--base", "no-such-ref")
    assert unknown_ref.returncode == 2
    assert "unknown git ref 'no-such-ref'" in unknown_ref.stderr
    missing = gate("--base-file", tmp_path / "missing.yaml", "--head-file", BASE)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    documents = {
        "list.yaml": "- just a list\n",
        "broken.yaml": "openapi: 3.1.0\npaths: {\n",
        "dangling.yaml": "openapi: 3.1.0\npaths:\n  /a: {$ref: '#/components/pathItems/A'}\n",
        "external.yaml": "openapi: 3.1.0\npaths:\n  /a: {$ref: 'other.yaml#/A'}\n",
    }
    for name, text in documents.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = gate("--base-file", path, "--head-file", BASE)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert "spec-diff: error:" in result.stderr
        assert "Traceback" not in result.stderr


def test_odd_but_loadable_documents_never_crash(tmp_path: Path) -> None:
    odd = {
        "scalars.yaml": "openapi: 3.1.0\ninfo: 1\npaths: 2\ncomponents: x\n",
        "lists.yaml": "openapi: 3.1.0\npaths:\n  /a:\n    get: {parameters: 5, responses: [1]}\n",
        "nulls.yaml": "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        200:\n",
        "recursive.yaml": (
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    Node:\n      type: object\n"
            "      properties: {next: {$ref: '#/components/schemas/Node'}}\npaths:\n  /a:\n"
            "    get:\n      responses:\n        '200':\n          description: OK\n"
            "          content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}\n"
        ),
    }
    for name, text in odd.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        for base, head in ((path, BASE), (BASE, path), (path, path)):
            result = gate("--base-file", base, "--head-file", head, *NO_ACKNOWLEDGEMENTS)
            assert result.returncode in (0, 1), (name, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr


def test_a_comment_is_cut_to_fit_and_a_failed_comparison_replaces_it(tmp_path: Path) -> None:
    report = "## API contract changes\n" + "| ❌ breaking | `rule` | a row of the report |\n" * 5000
    comment = render_comment(report)
    assert comment.startswith(COMMENT_MARKER + "\n## API contract changes\n")
    assert len(comment.encode("utf-8")) <= COMMENT_LIMIT + 200
    assert comment.endswith("(cut: the whole report is on the run's summary page)\n")
    assert render_comment("short\n") == f"{COMMENT_MARKER}\nshort\n"

    comment_file = tmp_path / "reports" / "comment.md"
    result = gate("--base", "no-such-ref", "--comment", comment_file)
    assert result.returncode == 2
    assert comment_file.read_text(encoding="utf-8") == (
        f"{COMMENT_MARKER}\n## API contract changes\n\n"
        "⚠️ **The contracts could not be compared:** unknown git ref 'no-such-ref'\n"
    )
