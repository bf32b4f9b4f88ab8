"""bench/judge/verdict.py: the A/B rule on made-up numbers (timing, instructions, target)."""

from __future__ import annotations

import pytest

from bench.judge import verdict
from tests.bench.judge._reports import US, ab_report


def test_timing_unchanged_code_with_drift_is_not_flagged() -> None:
    """Both sides drifting together (the machine got 40 % slower mid-run) is no regression:
    the rounds are paired, so only head/base within a round counts."""
    base = [1.0 * US, 1.1 * US, 1.4 * US, 1.4 * US, 1.0 * US, 1.2 * US]
    head = [1.01 * US, 1.09 * US, 1.41 * US, 1.39 * US, 1.0 * US, 1.21 * US]
    row = verdict.judge_timing("c", True, base, head)
    assert not row.regressed
    assert row.ratio == pytest.approx(1.0, abs=0.01)
    assert row.reason == "within +10%"


def test_timing_consistent_slowdown_is_flagged() -> None:
    """A head that is 20 % slower in every round, whatever the machine did, is a regression."""
    base = [1.0 * US, 1.3 * US, 0.9 * US, 1.1 * US, 1.0 * US, 1.2 * US]
    head = [b * f for b, f in zip(base, (1.18, 1.22, 1.2, 1.19, 1.21, 1.2), strict=True)]
    row = verdict.judge_timing("c", True, base, head)
    assert row.regressed
    assert row.ratio == pytest.approx(1.2, abs=0.01)
    assert row.p_slower is not None and row.p_slower < verdict.ALPHA
    assert row.ratio_low < row.ratio < row.ratio_high


def test_timing_slower_but_noisy_is_not_flagged() -> None:
    """A 12 % mean slowdown made of rounds that disagree in sign is not significant."""
    base = [1.0 * US] * 4
    head = [1.6 * US, 0.8 * US, 1.4 * US, 0.85 * US]
    row = verdict.judge_timing("c", True, base, head)
    assert row.ratio > 1.10
    assert not row.regressed
    assert "not significant" in row.reason


def test_timing_faster_and_ungated_never_fail() -> None:
    """A faster head never fails; a slower ungated cell is reported only."""
    base = [1.0 * US] * 5
    assert not verdict.judge_timing("c", True, base, [0.5 * US] * 5).regressed
    row = verdict.judge_timing(
        "c", False, base, [2.0 * US, 2.1 * US, 1.9 * US, 2.0 * US, 2.05 * US]
    )
    assert not row.regressed
    assert row.reason == "reported, not gated"


def test_timing_without_values_is_unusable() -> None:
    """A cell one side never measured cannot be judged: Unusable names the cell."""
    with pytest.raises(verdict.Unusable, match="cell-x"):
        verdict.judge_timing("cell-x", True, [], [1.0])


def test_instructions_change_is_relative_to_fapilogs_own_cost() -> None:
    """The change is taken on probe − floor: 7,600 → 7,800 with a 5,400 floor is +9.1 %."""
    row = verdict.judge_instructions("info", 7_600, 7_800, 5_400)
    assert row.change == pytest.approx(200 / 2_200)
    assert row.regressed


def test_instructions_unchanged_and_small_changes_pass() -> None:
    """A 0.01 % wobble and a 4.9 % growth pass; exactly the threshold fails."""
    assert not verdict.judge_instructions("info", 7_636.17, 7_636.2, 5_348).regressed
    assert not verdict.judge_instructions("info", 7_000, 7_000 + 0.049 * 2_000, 5_000).regressed
    assert verdict.judge_instructions("info", 7_000, 7_000 + 0.05 * 2_000, 5_000).regressed


def test_instructions_probe_not_above_floor_is_unusable() -> None:
    """A probe that costs no more than the empty call measured nothing: Unusable."""
    with pytest.raises(verdict.Unusable, match="not above the floor"):
        verdict.judge_instructions("info", 5_000, 5_100, 5_000)


def test_target_is_head_against_the_pooled_stdlib_mean() -> None:
    """fapilog's head mean must be ≤ 1/8 of the standard library's, pooled over both sides."""
    head = {verdict.PLAIN_CELL: [1.0 * US, 1.2 * US], verdict.STDLIB_CELL: [10 * US]}
    base = {verdict.PLAIN_CELL: [0.5 * US], verdict.STDLIB_CELL: [6 * US]}
    target = verdict.judge_target(head, [base, head])
    assert target is not None
    assert target.share == pytest.approx(1.1 / 8)
    assert not target.passed
    head[verdict.STDLIB_CELL] = [20 * US]
    target = verdict.judge_target(head, [base, head])
    assert target is not None and target.passed
    assert verdict.judge_target({verdict.PLAIN_CELL: [1.0]}, [{}]) is None


def test_report_fails_on_either_opinion_and_passes_on_neither() -> None:
    """The verdict is FAIL when timing or instructions regressed, PASS when neither did."""
    assert ab_report(False, 0.0).passed
    assert not ab_report(True, 0.0).passed
    assert not ab_report(False, 0.2).passed
    assert [r.split(" ")[0] for r in ab_report(True, 0.2).regressions] == [
        verdict.PLAIN_CELL,
        "info",
    ]
