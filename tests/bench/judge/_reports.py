"""A small bench_ab report, built with the verdict's own functions, for the tests that format
or summarize one."""

from __future__ import annotations

from bench.judge import verdict

US = 1e-6


def ab_report(regressed_time: bool, instr_change: float) -> verdict.Report:
    report = verdict.Report(
        verdict.SCHEMA,
        {"rev": "main", "commit": "a" * 40, "label": "main (aaaaaaaaa)"},
        {"rev": "WORKTREE", "commit": "b" * 40, "label": "working tree (bbbbbbbbb)"},
        "trimmed",
        6,
        {
            "time_threshold": 0.1,
            "alpha": 0.01,
            "instructions_threshold": 0.05,
            "stdlib_share": 0.125,
        },
    )
    base = [1.0 * US] * 6
    head = [1.3 * US] * 6 if regressed_time else base
    report.timing.append(verdict.judge_timing(verdict.PLAIN_CELL, True, base, head))
    report.instructions.append(
        verdict.judge_instructions("info", 7_000, 7_000 + instr_change * 2_000, 5_000)
    )
    return report
