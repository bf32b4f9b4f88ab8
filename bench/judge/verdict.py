"""bench_ab's verdict: the rule, the judgements, and the report (Markdown and JSON).

Pure functions of the measured numbers: nothing here runs a benchmark. :mod:`ab` measures and
calls :func:`judge_timing`, :func:`judge_instructions` and :func:`judge_target`, collects their
rows in a :class:`Report`; :func:`bench.report.tables.ab_markdown` and :meth:`Report.to_json`
write it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.judge.stats import t_quantile, t_sf

SCHEMA = "fapilog.bench_ab/1"
#: Calls per second of all producers together in the A/B's paced cells.
TOTAL_RATE = 10_000
PLAIN_CELL = (
    f"enqueue[strategy=drop,maxsize=1000,worker=thread,load=nominal,total_rate={TOTAL_RATE}]"
)
STDLIB_CELL = f"stdlib[handler=QueueHandler,maxsize=1000,load=nominal,total_rate={TOTAL_RATE}]"


class Unusable(Exception):
    """Input bench_ab cannot work with; one line, exit status 2."""


# -- the rule (its justification, with the figures measured on this project's machine, is in
# the README's "How the gate decides") --------------------------------------------------------

#: A hot-path probe regresses when the library's own instructions per call (probe − floor)
#: grow by this much or more. Unchanged code moves by < 0.01 %. The plain call's own code runs
#: at ~5.6 instructions/ns, so a +10 % slowdown in CPU time is >= 5 % more instructions unless
#: the added code runs at under half that rate (interpreter-bound code runs faster: gate_power's
#: +10 % pad statements are +32 % instructions). Waiting adds none: the timed cells see that.
INSTRUCTIONS_THRESHOLD = 0.05
#: A timed cell regresses when its paired A/B ratio (geometric mean over rounds) is at least
#: this much above 1 *and* significant at ``ALPHA``. The hot[…] cell of unchanged code stays
#: within a few per cent; the paced cells wander far more, and significance is what holds them.
TIME_THRESHOLD = 0.10
#: Family-wise: with several gated cells each gets ALPHA / their number (Bonferroni), so the
#: full matrix's 40 gated timed cells do not buy 40 chances of a false alarm.
ALPHA = 0.01
#: The machine-independent target: fapilog's mean at most this share of the standard library's
#: QueueHandler mean on the same paced workload, in the same run.
STDLIB_SHARE = 1 / 8


# -- judging -----------------------------------------------------------------------------------


@dataclass
class TimingRow:
    cell: str
    gated: bool
    rounds: int
    base_mean_s: float
    head_mean_s: float
    #: Geometric mean over rounds of head/base (each round's two processes ran back to back).
    ratio: float
    ratio_low: float
    ratio_high: float
    #: One-sided p-value of "head is slower" (paired t-test on the log ratios).
    p_slower: float | None
    regressed: bool
    reason: str


def judge_timing(
    cell: str,
    gated: bool,
    base: Sequence[float],
    head: Sequence[float],
    threshold: float = TIME_THRESHOLD,
    alpha: float = ALPHA,
) -> TimingRow:
    """Paired rounds: regressed when head/base ≥ 1 + threshold and the slowdown is significant.

    Each round's base and head processes ran one after the other, so the log of their ratio
    cancels whatever the machine did at that moment; the rounds are the samples.
    """
    pairs = min(len(base), len(head))
    if pairs == 0:
        raise Unusable(f"{cell}: no values on one side")
    logs = [math.log(h / b) for b, h in zip(base[:pairs], head[:pairs], strict=True)]
    mean_log = statistics.fmean(logs)
    ratio = math.exp(mean_log)
    if pairs < 2:
        low = high = ratio
        p: float | None = None
    else:
        se = statistics.stdev(logs) / math.sqrt(pairs)
        half = t_quantile(0.975, pairs - 1) * se
        low, high = math.exp(mean_log - half), math.exp(mean_log + half)
        p = (0.0 if mean_log > 0 else 1.0) if se == 0 else t_sf(mean_log / se, pairs - 1)
    slower = ratio >= 1 + threshold
    significant = p is not None and p < alpha
    regressed = gated and slower and significant
    if not gated:
        reason = "reported, not gated"
    elif regressed:
        reason = f"{ratio - 1:+.1%} ≥ +{threshold:.0%}, p = {p:.2g} < {alpha:g}"
    elif slower:
        reason = f"{ratio - 1:+.1%} but not significant (p = {p if p is None else f'{p:.2g}'})"
    else:
        reason = f"within +{threshold:.0%}"
    return TimingRow(
        cell,
        gated,
        pairs,
        statistics.fmean(base),
        statistics.fmean(head),
        ratio,
        low,
        high,
        p,
        regressed,
        reason,
    )


@dataclass
class InstructionRow:
    probe: str
    base_per_call: float
    head_per_call: float
    floor_per_call: float
    #: Relative change of the library's own instructions per call (probe − floor).
    change: float
    regressed: bool
    reason: str


def judge_instructions(
    probe: str, base: float, head: float, floor: float, threshold: float = INSTRUCTIONS_THRESHOLD
) -> InstructionRow:
    """Regressed when fapilog's own instructions per call grow by ``threshold`` or more."""
    own_base = base - floor
    if own_base <= 0:
        raise Unusable(f"probe {probe}: {base:.0f} instructions per call, not above the floor")
    change = (head - base) / own_base
    regressed = change >= threshold
    reason = (
        f"{change:+.2%} ≥ +{threshold:.0%}" if regressed else f"{change:+.2%} < +{threshold:.0%}"
    )
    return InstructionRow(probe, base, head, floor, change, regressed, reason)


@dataclass
class Target:
    cell: str
    fapilog_mean_s: float
    stdlib_mean_s: float
    share: float
    limit: float
    passed: bool


def judge_target(
    head: dict[str, list[float]], both: Sequence[dict[str, list[float]]]
) -> Target | None:
    """HEAD's plain cell against the standard library's (pooled over both sides' processes)."""
    stdlib_values = [v for means in both for v in means.get(STDLIB_CELL, [])]
    if PLAIN_CELL not in head or not stdlib_values:
        return None
    fapilog_mean = statistics.fmean(head[PLAIN_CELL])
    stdlib_mean = statistics.fmean(stdlib_values)
    share = fapilog_mean / stdlib_mean
    return Target(PLAIN_CELL, fapilog_mean, stdlib_mean, share, STDLIB_SHARE, share <= STDLIB_SHARE)


@dataclass
class Report:
    schema: str
    base: dict[str, str]
    head: dict[str, str]
    matrix: str
    rounds: int
    rule: dict[str, float]
    timing: list[TimingRow] = field(default_factory=list)
    instructions: list[InstructionRow] = field(default_factory=list)
    instructions_skipped: str = ""
    target: Target | None = None
    wall_s: float = 0.0

    @property
    def regressions(self) -> list[str]:
        found = [f"{row.cell} (time {row.reason})" for row in self.timing if row.regressed]
        found += [
            f"{row.probe} (instructions {row.reason})" for row in self.instructions if row.regressed
        ]
        return found

    @property
    def passed(self) -> bool:
        return not self.regressions and (self.target is None or self.target.passed)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = "PASS" if self.passed else "FAIL"
        data["regressions"] = self.regressions
        return data
