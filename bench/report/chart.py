"""The gate's chart: mean enqueue latency by strategy × maxsize, one row of panels per Python.

matplotlib is a bench-only dependency, imported here and only when a chart is asked for, with the
non-interactive Agg backend so it runs on a headless CI runner.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fapilog._settings import OVERFLOW_STRATEGIES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Panels list the strategies in the settings' own order.
STRATEGY_ORDER = {strategy: i for i, strategy in enumerate(OVERFLOW_STRATEGIES)}
STRATEGY_COLOURS = {"drop": "#4C72B0", "block": "#DD8452", "sample": "#55A868"}
DEFAULT_COLOUR = "#8172B3"


@dataclass(frozen=True)
class Bar:
    """One enqueue cell of one Python, as the chart needs it."""

    python: str
    strategy: str
    maxsize: str
    worker: str
    load: str
    mean_us: float
    ci_low_us: float
    ci_high_us: float


def _python_key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split("-")[-1].split(".") if part.isdigit())


def write_chart(
    bars: Sequence[Bar], *, target_us: float, total_rate: int, out_dir: Path, formats: Sequence[str]
) -> list[Path]:
    """Draw ``bars``; returns the files written ([] when there is nothing to draw)."""
    if not bars:
        return []
    try:
        import matplotlib
    except ImportError:
        print("bench_compare: matplotlib is not installed; no chart", file=sys.stderr)
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    pythons = sorted({b.python for b in bars}, key=_python_key)
    strategies = sorted({b.strategy for b in bars}, key=lambda s: STRATEGY_ORDER.get(s, 9))
    maxsizes = sorted({b.maxsize for b in bars}, key=lambda m: (len(m), m))
    panels = sorted({(b.worker, b.load) for b in bars})
    fig, axes = plt.subplots(
        len(pythons),
        len(panels),
        figsize=(4.2 * len(panels), 3.4 * len(pythons)),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for i, python in enumerate(pythons):
        for j, (worker, load) in enumerate(panels):
            ax = axes[i][j]
            panel = [b for b in bars if b.python == python and (b.worker, b.load) == (worker, load)]
            _draw_panel(ax, panel, strategies, maxsizes, target_us)
            ax.set_title(f"Python {python} · worker={worker} · load={load}", fontsize=9)
    handles = [
        Patch(color=STRATEGY_COLOURS.get(s, DEFAULT_COLOUR), label=f"strategy={s}")
        for s in strategies
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9)
    fig.suptitle(f"Mean enqueue latency at {total_rate:,} logs/s (bars: 95% CI; dashed: target)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"latency.{fmt}"
        fig.savefig(path, format=fmt, dpi=110)
        written.append(path)
    plt.close(fig)
    return written


def _draw_panel(
    ax: Axes,
    panel: Sequence[Bar],
    strategies: Sequence[str],
    maxsizes: Sequence[str],
    target_us: float,
) -> None:
    width = 0.8 / max(len(strategies), 1)
    for k, strategy in enumerate(strategies):
        chosen = [
            (x, b)
            for x, maxsize in enumerate(maxsizes)
            for b in panel
            if b.strategy == strategy and b.maxsize == maxsize
        ]
        ax.bar(
            [x - 0.4 + width * (k + 0.5) for x, _ in chosen],
            [b.mean_us for _, b in chosen],
            width,
            # Log scale: keep the lower whisker above zero.
            yerr=[
                [max(b.mean_us - max(b.ci_low_us, b.mean_us / 100), 0.0) for _, b in chosen],
                [max(b.ci_high_us - b.mean_us, 0.0) for _, b in chosen],
            ],
            color=STRATEGY_COLOURS.get(strategy, DEFAULT_COLOUR),
            capsize=2,
        )
    ax.axhline(target_us, color="#C44E52", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(maxsizes)), [f"maxsize={m}" for m in maxsizes], fontsize=8)
    ax.set_xlim(-0.5, len(maxsizes) - 0.5)
    ax.set_ylabel("µs per call")
