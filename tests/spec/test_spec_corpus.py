"""The breaking-change gate on its corpus (tests/spec/corpus/, see tests/spec/corpus.py): every
base/revision pair gives exactly the rules it names, at the level it names, with the verdict
that follows; the report shows each change with its rule, severity and why; and the gate agrees
with oasdiff's levels on at least 95 % of the pairs, the disagreements each with a reason.

Everything runs in-process (the gate is Python): the whole corpus takes well under a second.
"""

from functools import cache

import pytest
from openapi_spec_validator import validate

from scripts.spec_diff import render
from scripts.spec_diff_rules import ANNOTATION, DOCS, FAILING, RULES
from tests.spec.corpus import SEVERITY, Case, agreement, evaluate, load

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
