"""The breaking-change gate (scripts/spec_diff.py, `make spec-diff`) on small fixture contracts.

Every file in tests/spec/fixtures/ is base.yaml with one change (its first line says which). The
gate must call the change breaking (exit 1) or not (exit 0), list it in the right section of its
markdown report, and let a breaking change through only with a major bump of `info.version`.
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "spec_diff.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASE = FIXTURES / "base.yaml"

# fixture -> a line of the "Breaking changes" section must contain this
BREAKING = {
    "breaking-remove-operation": "`DELETE /items/{item_id}` (`delete_item`): [Removed] operation",
    "breaking-remove-response-property": "(`get_item`): [Removed] property `note` in Response 200",
    "breaking-remove-request-property": "[Removed] property `note` in Request Body",
    "breaking-remove-enum-value": "(`list_items`): [Replaced] possible values in query parameter",
    "breaking-add-required-request-property": "[Added] required status to `owner` in Request Body",
    "breaking-add-required-parameter": "[Added] required query parameter `owner`",
    "breaking-parameter-becomes-required": "required query parameter `limit`",
    "breaking-tighten-constraint": "maxLength validator of `name` in Request Body",
    "breaking-change-request-type": "type definition of `count` in Request Body",
    "breaking-change-response-type": "type definition of `count` in Response 200",
}
# fixture -> a line of the "Non-breaking changes" section must contain this
NON_BREAKING = {
    "non-breaking-add-operation": "`PATCH /items/{item_id}` (`update_item`): [Added] operation",
    "non-breaking-add-optional-request-property": "[Added] property `tags` in Request Body",
    "non-breaking-add-optional-response-property": "[Added] property `created_at` in Response",
    "non-breaking-loosen-request-constraint": "maxLength validator of `name` in Request Body",
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


def compare(fixture: str, *args: str) -> subprocess.CompletedProcess[str]:
    return gate("--base-file", BASE, "--head-file", FIXTURES / f"{fixture}.yaml", *args)


@pytest.fixture(scope="module")
def compared() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every fixture compared with base.yaml, a few at a time (each run starts Python and Node)."""
    names = [path.stem for path in sorted(FIXTURES.glob("*.yaml")) if path != BASE]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(compare, names), strict=True))


def section(report: str, title: str) -> list[str]:
    """The bullet lines under the `### {title} (N)` heading of the report."""
    lines = report.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f"### {title} (")]
    if not starts:
        return []
    bullets = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith(("### ", "<details>")):
            break
        if line.startswith("- "):
            bullets.append(line)
    return bullets


def test_every_fixture_is_covered() -> None:
    named = {*BREAKING, *NON_BREAKING, "base", "docs-only"}
    named |= {"breaking-remove-operation-major-bump", "breaking-remove-operation-minor-bump"}
    assert {path.stem for path in FIXTURES.glob("*.yaml")} == named


@pytest.mark.parametrize(("fixture", "expected"), BREAKING.items(), ids=list(BREAKING))
def test_breaking_changes_fail_the_gate(
    compared: dict[str, subprocess.CompletedProcess[str]], fixture: str, expected: str
) -> None:
    result = compared[fixture]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "❌" in result.stdout
    assert any(expected in line for line in section(result.stdout, "Breaking changes")), (
        result.stdout
    )
    assert "FAILED: breaking change without a major version bump" in result.stderr


@pytest.mark.parametrize(("fixture", "expected"), NON_BREAKING.items(), ids=list(NON_BREAKING))
def test_compatible_changes_pass_the_gate(
    compared: dict[str, subprocess.CompletedProcess[str]], fixture: str, expected: str
) -> None:
    result = compared[fixture]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✅ **No breaking changes.**" in result.stdout
    assert section(result.stdout, "Breaking changes") == []
    assert any(expected in line for line in section(result.stdout, "Non-breaking changes")), (
        result.stdout
    )


def test_documentation_changes_are_folded_away(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = compared["docs-only"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "### " not in result.stdout  # no breaking, non-breaking or unclassified section
    assert "<details><summary>Documentation and annotation changes (5)</summary>" in result.stdout
    assert "(`get_item`): [Replaced] annotation (summary)" in result.stdout


def test_the_same_contract_has_no_changes() -> None:
    result = gate("--base-file", BASE, "--head-file", BASE)
    assert result.returncode == 0, result.stderr
    assert "✅ **No changes to the API.**" in result.stdout
    assert "spec-diff: passed" in result.stderr


def test_a_major_version_bump_lets_a_breaking_change_through(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = compared["breaking-remove-operation-major-bump"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has a major bump (1.0.0 → 2.0.0)" in result.stdout
    assert section(result.stdout, "Breaking changes")


def test_a_minor_version_bump_does_not(
    compared: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = compared["breaking-remove-operation-minor-bump"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "without a major version bump (1.0.0 → 1.1.0)" in result.stdout


def test_the_report_goes_to_a_file_and_to_the_github_job_summary(tmp_path: Path) -> None:
    report, summary = tmp_path / "report.md", tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = compare("breaking-remove-operation", "--report", str(report))
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
    assert result.stdout.startswith("## API contract changes\n")


def git(repo: Path, *args: str) -> None:
    executable = shutil.which("git")
    assert executable is not None
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([executable, *identity, *args], cwd=repo, check=True, capture_output=True)


def test_the_base_comes_from_git_by_default_the_merge_base_with_main(tmp_path: Path) -> None:
    contract = tmp_path / "openapi" / "openapi.yaml"
    contract.parent.mkdir()
    contract.write_bytes(BASE.read_bytes())
    git(tmp_path, "init", "--quiet", "--initial-branch", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "contract")
    git(tmp_path, "switch", "--quiet", "-c", "feature")
    contract.write_bytes((FIXTURES / "breaking-remove-operation.yaml").read_bytes())

    result = gate("--head-file", contract, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Base: merge base with main (`" in result.stdout
    assert section(result.stdout, "Breaking changes")

    git(tmp_path, "commit", "--quiet", "-am", "remove delete_item")
    result = gate("--head-file", contract, "--base", "main", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Base: `main` (`" in result.stdout
    assert gate("--head-file", contract, "--base", "HEAD", cwd=tmp_path).returncode == 0


def test_a_comparison_that_cannot_be_made_is_exit_2(tmp_path: Path) -> None:
    unknown_ref = gate("--base", "no-such-ref")
    assert unknown_ref.returncode == 2
    assert "unknown git ref 'no-such-ref'" in unknown_ref.stderr
    missing = gate("--base-file", tmp_path / "missing.yaml", "--head-file", BASE)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    not_openapi = tmp_path / "list.yaml"
    not_openapi.write_text("- just a list\n", encoding="utf-8")
    assert gate("--base-file", not_openapi, "--head-file", BASE).returncode == 2
