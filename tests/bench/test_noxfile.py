"""noxfile.py's bench session: the BENCH_* variables become bench.load.enqueue's options, and
the renamed BENCH_RATES still works for this release, with a warning."""

from __future__ import annotations

import pytest

pytest.importorskip("nox")

import noxfile


def _option(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def test_defaults_and_total_rates_from_the_environment() -> None:
    """No variable set: every axis at its default (total rate 10,000); BENCH_TOTAL_RATES sets
    --total-rates; nothing warns."""
    warnings: list[str] = []
    args = noxfile._bench_axes({}, warnings.append)
    assert _option(args, "--total-rates") == "10000" and "--rates" not in args
    assert _option(args, "--strategies") == "drop,block,sample"
    args = noxfile._bench_axes({"BENCH_TOTAL_RATES": "5000,20000"}, warnings.append)
    assert _option(args, "--total-rates") == "5000,20000"
    assert warnings == []


def test_deprecated_bench_rates_still_works_and_warns() -> None:
    """BENCH_RATES sets --total-rates for this release, with a warning naming BENCH_TOTAL_RATES;
    when both are set the new name wins."""
    warnings: list[str] = []
    args = noxfile._bench_axes({"BENCH_RATES": "5000"}, warnings.append)
    assert _option(args, "--total-rates") == "5000"
    assert warnings == [
        "BENCH_RATES is deprecated and will be removed in the next release; use BENCH_TOTAL_RATES"
    ]
    both = {"BENCH_RATES": "5000", "BENCH_TOTAL_RATES": "7000"}
    assert _option(noxfile._bench_axes(both, warnings.append), "--total-rates") == "7000"
