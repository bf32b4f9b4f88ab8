"""The judges' reports as text: the gate's table and ``compare.json``, and bench_ab's table.

Formatting only: the verdicts come from :mod:`bench.judge` (``compare`` for the gate,
``verdict`` for the A/B) and arrive here as rows; the chart is :mod:`bench.report.chart`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from bench.judge import EXIT_FAIL, EXIT_PASS

if TYPE_CHECKING:
    from bench.judge.compare import Gate, Row
    from bench.judge.verdict import Report


# -- the gate (bench/judge/compare.py) ---------------------------------------------------------


def fmt_us(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:,.2f} ms"
    return f"{value:.2f} µs"


def _verdict_text(row: Row) -> str:
    label = {
        "pass": "PASS",
        "miss": "**FAIL** target",
        "regression": "**FAIL** regression",
        "report": "reported",
    }[row.verdict]
    return f"{label}: {'; '.join(row.reasons)}" if row.reasons else label


def gate_markdown(rows: Sequence[Row], gate: Gate, *, passed: bool) -> str:
    """The Markdown summary: a headline, then one line per cell and Python."""
    gated = [r for r in rows if r.gated]
    misses = [r for r in rows if r.verdict == "miss"]
    regressions = [r for r in rows if r.verdict == "regression"]
    worst = max(gated, key=lambda r: r.ci_low_us, default=None)
    headline = (
        f"## Benchmark gate: {'PASS' if passed else 'FAIL'}\n\n"
        f"Target: mean enqueue latency ≤ {gate.target_us:g} µs at {gate.total_rate:,} logs/s "
        f"(a cell fails when its whole 95% CI is above). "
        f"{len(gated)} gated cells, {len(misses)} over target, {len(regressions)} regressions "
        f"(> {gate.threshold:.0%} slower, p < {gate.alpha:g}, > {gate.min_delta_us:g} µs)."
    )
    if worst is not None:
        headline += f" Slowest gated cell: `{worst.name}` on {worst.python}, "
        headline += f"{fmt_us(worst.mean_us)}."
    lines = [
        headline,
        "",
        "*delivered*: share of the measured calls whose event reached the sink; *achieved*: "
        "calls/s really issued (the cell's `total_rate` is the offered one).",
        "",
        "| cell | Python | mean | 95% CI | target | baseline | delivered | achieved | verdict |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        ci = f"{fmt_us(row.ci_low_us)} – {fmt_us(row.ci_high_us)}"
        if row.n < 2:
            ci = f"n={row.n}, no interval"
        baseline = fmt_us(row.baseline_mean_us)
        if row.change is not None:
            baseline += f" ({row.change:+.0%})"
        share = "—" if row.delivered_share is None else f"{row.delivered_share:.1%}"
        achieved = "—" if row.achieved_rate is None else f"{row.achieved_rate:,.0f}/s"
        target = "—" if row.target_us is None else f"{row.target_us:g} µs"
        lines.append(
            f"| `{row.name}` | {row.python} | {fmt_us(row.mean_us)} | {ci} | {target} "
            f"| {baseline} | {share} | {achieved} | {_verdict_text(row)} |"
        )
    return "\n".join(lines) + "\n"


def gate_json(
    path: Path, rows: Sequence[Row], gate: Gate, *, passed: bool, files: list[str]
) -> None:
    """``compare.json``: the verdict, the gate's settings, and every row."""
    document = {
        "verdict": "pass" if passed else "fail",
        "exit_code": EXIT_PASS if passed else EXIT_FAIL,
        "gate": asdict(gate),
        "files": files,
        "misses": [r.name + f" ({r.python})" for r in rows if r.verdict == "miss"],
        "regressions": [r.name + f" ({r.python})" for r in rows if r.verdict == "regression"],
        "cells": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- the same-runner A/B (bench/judge/ab.py) ---------------------------------------------------


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def ab_markdown(report: Report) -> str:
    """bench_ab's Markdown: the rule, the instruction counts, the timed cells, the target."""
    verdict = "PASS" if report.passed else "FAIL"
    lines = [
        f"**Same-runner A/B: {verdict}** — base {report.base['label']} vs head "
        f"{report.head['label']}, {report.matrix} matrix, {report.rounds} interleaved rounds, "
        f"{report.wall_s:.0f} s",
        "",
        f"Rule: a gated cell regresses when head/base ≥ +{report.rule['time_threshold']:.0%} "
        f"(paired over rounds, p < {report.rule['alpha']:.2g} per cell); a probe regresses when "
        "fapilog's "
        f"instructions per call grow ≥ +{report.rule['instructions_threshold']:.0%}; fapilog's "
        f"plain cell must stay ≤ 1/{1 / report.rule['stdlib_share']:.0f} of the standard "
        "library's QueueHandler mean.",
        "",
    ]
    if report.instructions or report.instructions_skipped:
        lines += [
            "| probe (instructions per call) | base | head | change (fapilog's own) | verdict |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for row in report.instructions:
            mark = "FAIL" if row.regressed else "PASS"
            lines.append(
                f"| `{row.probe}` | {row.base_per_call:,.0f} | {row.head_per_call:,.0f} | "
                f"{row.change:+.2%} | {mark}: {row.reason} |"
            )
        if report.instructions_skipped:
            lines.append(f"| — | | | | skipped: {report.instructions_skipped} |")
        if report.instructions:
            floor = report.instructions[0].floor_per_call
            lines += [
                "",
                f"Floor (the probe loop calling an empty function): {floor:,.0f} "
                "instructions per call, subtracted before the change is taken.",
            ]
        lines.append("")
    lines += [
        "| cell | base mean | head mean | head/base | 95% CI | p (slower) | verdict |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for t in report.timing:
        mark = "FAIL" if t.regressed else ("PASS" if t.gated else "reported")
        p = "—" if t.p_slower is None else f"{t.p_slower:.2g}"
        lines.append(
            f"| `{t.cell}` | {_us(t.base_mean_s)} | {_us(t.head_mean_s)} | {t.ratio:.3f} | "
            f"{t.ratio_low:.3f} – {t.ratio_high:.3f} | {p} | {mark}: {t.reason} |"
        )
    if report.target is not None:
        tg = report.target
        lines += [
            "",
            f"Target: head's `{tg.cell}` mean {_us(tg.fapilog_mean_s)} is "
            f"1/{1 / tg.share:.1f} of the standard library's {_us(tg.stdlib_mean_s)} "
            f"(limit 1/{1 / tg.limit:.0f}): {'PASS' if tg.passed else 'FAIL'}",
        ]
    if report.regressions:
        lines += ["", "Regressions: " + "; ".join(f"`{r}`" for r in report.regressions)]
    return "\n".join(lines) + "\n"


# -- the A/B's power (bench/judge/gate_power.py) -----------------------------------------------


def power_markdown(result: dict[str, object]) -> str:
    """gate_power's headline table: per slowdown variant, how often bench_ab flagged it."""
    n = result["n"]
    rule = result["rule"]
    assert isinstance(rule, dict)
    lines = [
        f"**Gate power** — {n} repetitions of the trimmed bench_ab per variant, against HEAD "
        f"{str(result['head'])[:9]}; own cost of the plain call {result['own_cost_ns']:.0f} ns "
        f"(tight loop), one pad statement {result['pad_statement_ns']:.2f} ns",
        "",
        f"Rule: a gated timed cell ≥ +{rule['time_threshold']:.0%} with p < "
        f"{rule['alpha']:g} split over the gated cells, or instructions ≥ "
        f"+{rule['instructions_threshold']:.0%}.",
        "",
        "| variant | pad statements | own CPU time (calibration) | instructions | flagged | "
        "by paced time | by hot CPU time | by instructions | paced head/base | hot head/base |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    variants = result["variants"]
    assert isinstance(variants, list)

    def spread(ratios: list[float]) -> str:
        return f"{statistics.fmean(ratios):.3f} ({min(ratios):.3f} – {max(ratios):.3f})"

    for v in variants:
        change = v["instruction_change"]
        lines.append(
            f"| {v['name']} | {v['statements']} | {v['measured_slowdown']:+.1%} | "
            f"{'—' if change is None else f'{change:+.1%}'} | "
            f"{sum(v['flagged'])}/{len(v['flagged'])} | {v['by_time']} | {v['by_hot']} | "
            f"{v['by_instructions']} | {spread(v['time_ratios'])} | {spread(v['hot_ratios'])} |"
        )
    walls = result["wall_s"]
    assert isinstance(walls, dict)
    lines += ["", "Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items())]
    return "\n".join(lines) + "\n"
