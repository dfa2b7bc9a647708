"""The breaking-change gate on its corpus (tests/spec/corpus/, see tests/spec/corpus.py): every
base/revision pair gives exactly the rules it names, at the level it names, with the verdict
that follows; the report shows each change with its rule, severity and why; and the gate agrees
with oasdiff's levels on at least 95 % of the pairs, the disagreements each with a reason.

Everything runs in-process (the gate is Python): the whole corpus takes well under a second.
"""

from functools import cache
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from scripts.spec_diff import render
from scripts.spec_diff_rules import ANNOTATION, DOCS, FAILING, RULES
from tests.spec.corpus import SEVERITY, Case, agreement, agreement_table, evaluate, load

CASES = load()


@cache
def by_id() -> dict[str, Case]:
    return {case.id: case for case in CASES}


def test_the_corpus_is_large_and_its_pairs_are_named_once() -> None:
    assert len(CASES) >= 120
    assert len(by_id()) == len(CASES), "two pairs share a family and a name"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_pair_gives_its_rule_at_its_level(case: Case) -> None:
    comparison = evaluate(case)
    found = {change.rule for change in comparison.changes if change.level != DOCS}
    assert found == case.rules - {ANNOTATION}, [change.id for change in comparison.changes]
    if ANNOTATION in case.rules:
        assert any(change.level == DOCS for change in comparison.changes)
    for rule_id in case.rules:
        assert rule_id in RULES, f"{rule_id} has no entry in scripts/spec_diff_rules.py"
    levels = [change.level for change in comparison.changes] or ["none"]
    assert min(levels, key=SEVERITY.index) == case.level
    assert comparison.passed == (case.level not in FAILING or bool(case.acknowledge))
    for change in comparison.changes:  # a response's change is never placed in a request
        if change.rule.startswith(("response-", "required-response", "optional-response")):
            assert change.where.split(" ")[0] == "response", change.id
        if change.rule.startswith(("request-body", "request-property", "new-required-request-pr")):
            assert change.where.split(" ")[0] == "request", change.id
    report = render(comparison)
    for change in comparison.changes:
        if change.level != DOCS:
            assert f"`{change.rule}`" in report
            assert change.why in report


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_pair_is_two_valid_openapi_documents(case: Case) -> None:
    validate(case.base)
    validate(case.revision)


def test_the_gate_agrees_with_oasdiff_on_95_percent_of_the_pairs() -> None:
    *_, (_, agree, total) = agreement(CASES)
    assert total >= 120
    assert agree / total >= 0.95, f"{agree}/{total}"


def test_every_disagreement_with_oasdiff_says_why() -> None:
    for case in CASES:
        assert bool(case.disagreement) == (case.agrees is False), case.id


def test_every_family_is_compared_with_oasdiff() -> None:
    families = {family for family, _, total in agreement(CASES) if total}
    assert families >= {case.family for case in CASES if case.oasdiff != "n/a"}


def test_the_readme_shows_the_agreement_of_this_corpus() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- corpus-agreement -->\n", "   <!-- /corpus-agreement -->"
    shown = readme[readme.index(start) + len(start) : readme.index(end)]
    table = "".join(f"   {line}\n" for line in agreement_table(CASES).splitlines())
    assert shown == table, "README.md is stale: paste the table of `make spec-corpus`"


def test_the_readme_lists_every_disagreement() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("The deliberate disagreements:") :]
    section = section[: section.index("4. **Pull request.**")]
    topics = {
        "response-property-enum-value-added": "A value added to a response enum",
        "response-property-enum-removed": "response\n     enum removed",
        "callback-removed": "**Callbacks**",
        "new-required-request-property": "**Callbacks**",
        "request-property-max-items-decreased": "**maxItems decreased on a request body property**",
        "request-body-additional-properties-closed": "`additionalProperties: false`",
        "none": "**A parameter moved between the operation and its path item**",
        "annotation-changed": "**A `$ref` wrapped in a one-element `allOf`**",
    }
    for case in CASES:
        if case.agrees is False:
            assert topics[case.rule] in section, case.id
