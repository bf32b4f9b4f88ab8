"""The benchmark gate: check pyperf results against the latency target and a baseline.

Reads pyperf JSON files (default: every ``*.json`` under ``.bench/``), one per Python version as
``nox -s bench`` writes them, and decides per cell:

- **target**: an ``enqueue[…,total_rate=10000]`` cell misses the target (100 µs mean enqueue
  latency at 10,000 logs/s) only when even the low end of its 95 % confidence interval is above
  it. Every ``load=nominal`` cell is gated, and the ``load=overload`` cells of the non-blocking
  strategies (``drop``, ``sample``). ``block`` under overload waits for the sink by design: it is
  reported with its delivered share, never gated.
- **regression** (with ``--baseline``): slower than the baseline cell of the same Python by more
  than ``--threshold`` (default 20 %), statistically significant (one-sided Welch test,
  ``--alpha``) *and* by more than ``--min-delta-us``. A faster cell never fails.

Writes a Markdown table to stdout (and appends it to ``$GITHUB_STEP_SUMMARY`` when set),
``compare.json`` and a latency chart into ``--out-dir``. Exit status: 0 pass, 1 a target missed
or a regression, 2 unusable input (no files, unreadable or non-pyperf JSON).

Files written before the rename of the matrix's ``rate`` to ``total_rate`` (cell parameter and
metadata key) are read in today's words (:func:`bench.judge.canonical_name`), so an old artifact
or baseline still matches today's cells.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf  # type: ignore[import-untyped]

from bench.judge import EXIT_FAIL, EXIT_PASS, EXIT_UNUSABLE, canonical_name
from bench.judge.stats import MeanCI, mean_ci, welch_greater_p
from bench.load._cli import DeprecatedAlias
from bench.report.chart import STRATEGY_ORDER, Bar
from bench.report.tables import gate_json, gate_markdown

DEFAULT_BENCH_DIR = Path(".bench")
DEFAULT_OUT_DIR = DEFAULT_BENCH_DIR / "report"
REPORT_NAME = "compare.json"
TARGET_US = 100.0
#: The gated total rate: calls/s of all producers together.
TARGET_TOTAL_RATE = 10_000
NON_BLOCKING = frozenset({"drop", "sample"})
_NAME = re.compile(r"^(?P<family>[A-Za-z_][\w.-]*)\[(?P<params>[^\]]*)\]$")


class UnusableInput(Exception):
    """Input the gate cannot judge; reported as one line, exit status 2."""


@dataclass(frozen=True)
class Cell:
    """One benchmark of one suite: a matrix cell on one Python."""

    name: str
    family: str
    params: dict[str, str]
    python: str
    source: str
    values: tuple[float, ...]
    metadata: dict[str, Any]
    newest: float

    def param_int(self, key: str) -> int | None:
        raw = self.params.get(key)
        return int(raw) if raw is not None and raw.isdigit() else None


@dataclass
class Row:
    """The gate's verdict on one cell, as written to the table and to ``compare.json``."""

    name: str
    python: str
    source: str
    n: int
    mean_us: float
    ci_low_us: float
    ci_high_us: float
    gated: bool
    target_us: float | None
    delivered_share: float | None
    achieved_rate: float | None
    baseline_mean_us: float | None = None
    baseline_source: str | None = None
    change: float | None = None
    p_value: float | None = None
    verdict: str = "pass"
    reasons: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict in {"miss", "regression"}


# -- loading ---------------------------------------------------------------------------------


def parse_name(name: str) -> tuple[str, dict[str, str]]:
    """Split ``family[key=value,…]`` into its family and parameters ({} when not that form)."""
    match = _NAME.match(name)
    if not match:
        return name, {}
    params: dict[str, str] = {}
    for item in match["params"].split(","):
        key, sep, value = item.partition("=")
        if sep:
            params[key.strip()] = value.strip()
    return match["family"], params


def python_label(metadata: dict[str, Any], fallback: str) -> str:
    """``3.12`` from pyperf's ``python_version`` metadata (``3.12.1 (64-bit) revision …``)."""
    version = str(metadata.get("python_version", ""))
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        return fallback
    label = f"{match[1]}.{match[2]}"
    implementation = str(metadata.get("python_implementation", "cpython")).lower()
    return label if implementation in {"", "cpython"} else f"{implementation}-{label}"


def collect_files(paths: Sequence[Path], exclude: Sequence[Path] = ()) -> list[Path]:
    """Expand directories into the pyperf files under them (``*.json``, ``*.json.gz``), leaving
    out ``exclude`` and this script's own ``compare.json`` reports."""
    excluded = [p.resolve() for p in exclude]
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.name.endswith((".json", ".json.gz")) and p.name != REPORT_NAME
            )
            found.extend(
                p
                for p in candidates
                if p.is_file() and not any(p.resolve().is_relative_to(e) for e in excluded)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UnusableInput(f"{path}: no such file or directory")
    return found


def load_cells(files: Iterable[Path]) -> list[Cell]:
    """Every benchmark of every file; for a (Python, name) seen twice, the newest run wins."""
    latest: dict[tuple[str, str], Cell] = {}
    for path in files:
        try:
            suite = pyperf.BenchmarkSuite.load(str(path))
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UnusableInput(f"{path}: not a readable pyperf JSON file ({detail})") from exc
        mtime = path.stat().st_mtime
        for bench in suite.get_benchmarks():
            metadata = dict(bench.get_metadata())
            if "rate" in metadata and "total_rate" not in metadata:  # written before the rename
                metadata["total_rate"] = metadata.pop("rate")
            values = tuple(bench.get_values())
            if metadata.get("unit", "second") != "second" or not values:
                continue  # memory benchmarks, or runs that only calibrated
            dates = bench.get_dates()
            newest = dates[1].timestamp() if dates else mtime
            name = canonical_name(bench.get_name())
            family, params = parse_name(name)
            cell = Cell(
                name=name,
                family=family,
                params=params,
                python=python_label(metadata, fallback=path.stem),
                source=str(path),
                values=values,
                metadata=metadata,
                newest=newest,
            )
            key = (cell.python, cell.name)
            if key not in latest or latest[key].newest <= cell.newest:
                latest[key] = cell
    return list(latest.values())


# -- judging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """The gate's knobs (command-line options)."""

    target_us: float = TARGET_US
    total_rate: int = TARGET_TOTAL_RATE
    threshold: float = 0.20
    alpha: float = 0.05
    min_delta_us: float = 1.0


def is_gated(cell: Cell, gate: Gate) -> bool:
    """Whether the latency target applies to ``cell`` (see the module docstring)."""
    if cell.family != "enqueue" or cell.param_int("total_rate") != gate.total_rate:
        return False
    load = cell.params.get("load", "nominal")
    return load == "nominal" or cell.params.get("strategy") in NON_BLOCKING


def _number(cell: Cell, key: str) -> float | None:
    value = cell.metadata.get(key)
    return float(value) if isinstance(value, int | float) else None


def judge(cell: Cell, baseline: Cell | None, gate: Gate) -> Row:
    """Apply the target and the regression rule to one cell."""
    ci: MeanCI = mean_ci(cell.values)
    gated = is_gated(cell, gate)
    row = Row(
        name=cell.name,
        python=cell.python,
        source=cell.source,
        n=ci.n,
        mean_us=ci.mean * 1e6,
        ci_low_us=max(ci.low, 0.0) * 1e6,  # a t-interval can reach below zero; latency cannot
        ci_high_us=ci.high * 1e6,
        gated=gated,
        target_us=gate.target_us if gated else None,
        delivered_share=_number(cell, "delivered_share"),
        achieved_rate=_number(cell, "achieved_rate"),
    )
    waits_by_design = (
        cell.family == "enqueue" and not gated and cell.param_int("total_rate") == gate.total_rate
    )
    if gated and row.ci_low_us > gate.target_us:
        row.verdict = "miss"
        row.reasons.append(
            f"95% CI low end {row.ci_low_us:.2f} µs is above the {gate.target_us:g} µs target"
        )
    elif not gated:
        row.verdict = "report"
        if waits_by_design:
            row.reasons.append("not gated: block waits for the sink by design under overload")
        else:
            row.reasons.append("not gated")
    if baseline is not None:
        _compare_to_baseline(row, cell, baseline, gate, check=not waits_by_design)
    return row


def _compare_to_baseline(row: Row, cell: Cell, baseline: Cell, gate: Gate, *, check: bool) -> None:
    base_mean_us = math.fsum(baseline.values) / len(baseline.values) * 1e6
    row.baseline_mean_us = base_mean_us
    row.baseline_source = baseline.source
    row.change = row.mean_us / base_mean_us - 1.0 if base_mean_us > 0 else None
    row.p_value = welch_greater_p(baseline.values, cell.values)
    if not check or row.change is None or row.change <= gate.threshold:
        return
    delta_us = row.mean_us - base_mean_us
    if delta_us <= gate.min_delta_us:
        row.reasons.append(f"slower by {delta_us:.2f} µs, under the {gate.min_delta_us:g} µs floor")
    elif row.p_value is None:
        row.reasons.append("slower, but too few values to test significance")
    elif row.p_value >= gate.alpha:
        row.reasons.append(f"slower, not significant (p={row.p_value:.3f})")
    else:
        if row.verdict != "miss":
            row.verdict = "regression"
        row.reasons.append(
            f"{row.change:+.0%} vs baseline ({base_mean_us:.2f} µs), p={row.p_value:.4f}"
        )


def _sort_key(row: Row) -> tuple[Any, ...]:
    family, params = parse_name(row.name)
    maxsize = params.get("maxsize", "")
    total_rate = params.get("total_rate", "")
    python = tuple(int(p) if p.isdigit() else 0 for p in re.findall(r"\d+|\D+", row.python))
    return (
        family != "enqueue",
        family,
        total_rate != str(TARGET_TOTAL_RATE),
        int(total_rate) if total_rate.isdigit() else 0,
        params.get("load", ""),
        STRATEGY_ORDER.get(params.get("strategy", ""), 9),
        int(maxsize) if maxsize.isdigit() else 0,
        params.get("worker", ""),
        row.name,
        python,
    )


def judge_all(cells: Sequence[Cell], baselines: Sequence[Cell], gate: Gate) -> list[Row]:
    """Judge every cell against the gate and its baseline of the same Python, if any."""
    by_key = {(b.python, b.name): b for b in baselines}
    rows = [judge(cell, by_key.get((cell.python, cell.name)), gate) for cell in cells]
    return sorted(rows, key=_sort_key)


# -- reporting -------------------------------------------------------------------------------


def chart_bars(rows: Sequence[Row], gate: Gate) -> list[Bar]:
    """The enqueue cells at the gated total rate, in the chart's terms."""
    bars = []
    for row in rows:
        family, params = parse_name(row.name)
        if family == "enqueue" and params.get("total_rate") == str(gate.total_rate):
            bars.append(
                Bar(
                    python=row.python,
                    strategy=params.get("strategy", "?"),
                    maxsize=params.get("maxsize", "?"),
                    worker=params.get("worker", "?"),
                    load=params.get("load", "nominal"),
                    mean_us=row.mean_us,
                    ci_low_us=row.ci_low_us,
                    ci_high_us=row.ci_high_us,
                )
            )
    return bars


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    gate = Gate(
        target_us=args.target_us,
        total_rate=args.total_rate,
        threshold=args.threshold,
        alpha=args.alpha,
        min_delta_us=args.min_delta_us,
    )
    try:
        rows, files = _gather(args, gate)
    except UnusableInput as exc:
        print(f"bench_compare: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    passed = not any(row.failed for row in rows)
    text = gate_markdown(rows, gate, passed=passed)
    sys.stdout.write(text)
    summary = args.summary if args.summary is not None else os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    gate_json(args.out_dir / REPORT_NAME, rows, gate, passed=passed, files=files)
    print(f"\nWrote {args.out_dir / REPORT_NAME}")
    if args.chart:
        from bench.report.chart import write_chart  # matplotlib: only when drawing

        written = write_chart(
            chart_bars(rows, gate),
            target_us=gate.target_us,
            total_rate=gate.total_rate,
            out_dir=args.out_dir,
            formats=args.chart_format or ["png", "svg"],
        )
        for path in written:
            print(f"Wrote {path}")
    return EXIT_PASS if passed else EXIT_FAIL


def _gather(args: argparse.Namespace, gate: Gate) -> tuple[list[Row], list[str]]:
    paths = args.paths or [DEFAULT_BENCH_DIR]
    baseline_files = collect_files(args.baseline) if args.baseline else []
    exclude = [args.out_dir, *baseline_files]
    files = [
        f
        for f in collect_files(paths, exclude=exclude)
        if f.resolve() not in {b.resolve() for b in baseline_files}
    ]
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise UnusableInput(f"no pyperf JSON files found in {shown} (run `nox -s bench` first)")
    if args.baseline and not baseline_files:
        raise UnusableInput("--baseline: no pyperf JSON files found")
    cells = load_cells(files)
    if not any(c.family == "enqueue" for c in cells):
        raise UnusableInput(f"no enqueue[…] benchmarks in {len(files)} file(s): nothing to gate")
    rows = judge_all(cells, load_cells(baseline_files), gate)
    return rows, [str(f) for f in files]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench_compare",
        description="Check pyperf benchmark results against the latency target and a baseline.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=f"pyperf JSON files or directories (default: {DEFAULT_BENCH_DIR}/)",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        type=Path,
        metavar="PATH",
        help="baseline pyperf JSON file or directory; cells are matched by name and Python "
        "version (repeatable)",
    )
    parser.add_argument("--target-us", type=float, default=TARGET_US, help="default: %(default)s")
    parser.add_argument(
        "--total-rate",
        type=int,
        default=TARGET_TOTAL_RATE,
        help="gated total rate: calls/s of all producers together (default: %(default)s)",
    )
    parser.add_argument(
        "--rate", dest="total_rate", type=int, action=DeprecatedAlias, new="--total-rate"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.20, help="regression threshold (default: 0.20)"
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    parser.add_argument(
        "--min-delta-us", type=float, default=1.0, help="smallest slowdown that counts (µs)"
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="where compare.json and the chart go (default: %(default)s)",
    )
    parser.add_argument(
        "--summary",
        help="append the Markdown table to this file (default: $GITHUB_STEP_SUMMARY)",
    )
    parser.add_argument("--no-chart", dest="chart", action="store_false", help="skip the chart")
    parser.add_argument(
        "--chart-format",
        action="append",
        choices=["png", "svg"],
        help="chart file format (repeatable; default: png and svg)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
