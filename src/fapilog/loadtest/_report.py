"""Render results: the text report, the ``--strategy all`` comparison table, the JSON document.

Text and JSON are built from the same :class:`RunResult` values, so they always agree.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

import fapilog
from fapilog.loadtest._config import LoadTestConfig
from fapilog.loadtest._engine import LAG_INTERVAL_S, TARGET_RATE_RATIO, RunResult
from fapilog.loadtest._histogram import RELATIVE_ERROR, LatencyHistogram

__all__ = ["SCHEMA", "comparison_table", "json_document", "text_report"]

SCHEMA = "fapilog.loadtest/1"
#: Deprecated keys of a run in the JSON document (path -> the key that replaces it). Each still
#: carries its value for this release; the new key sits just before it.
DEPRECATED_KEYS = {
    "accepted": "calls_enqueued",
    "warnings_accepted": "warnings_enqueued",
    "offered_rate": "offered_total_rate",
    "achieved_rate": "achieved_total_rate",
    "queue.high_water_mark": "queue.depth_peak",
    "target.rate": "target.total_rate",
}
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def fmt_us(value_us: float) -> str:
    """Microseconds with the precision a reader needs: ``0.84``, ``1.3``, ``42``, ``3,456``."""
    if value_us >= 10:
        return f"{value_us:,.0f}"
    if value_us >= 1:
        return f"{value_us:.1f}"
    return f"{value_us:.2f}"


def _fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def _pct_label(p: float) -> str:
    return f"p{p:g}"


def _latency_table(rows: Sequence[tuple[str, LatencyHistogram]]) -> list[str]:
    header = ["Enqueue latency (µs)", "calls", "mean", *map(_pct_label, PERCENTILES), "max"]
    table = [header]
    for label, histogram in rows:
        cells = [f"  {label}", f"{histogram.count:,}"]
        if histogram.count:
            cells.append(fmt_us(histogram.mean_ns / 1e3))
            cells += [fmt_us(histogram.percentile(p) / 1e3) for p in PERCENTILES]
            cells.append(fmt_us(histogram.max_ns / 1e3))
        else:
            cells += ["-"] * (len(PERCENTILES) + 2)
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return [
        f"{row[0]:<{widths[0]}}"
        + "".join(f"{c:>{w + 2}}" for c, w in zip(row[1:], widths[1:], strict=True))
        for row in table
    ]


def _load_line(config: LoadTestConfig) -> str:
    producers = f"{config.concurrency} tasks"
    if config.threads:
        producers += f" + {config.threads} threads"
    return (
        f"{_fmt_rate(config.offered_total_rate)} logs/s ({producers} × "
        f"{_fmt_rate(config.rate)} logs/s, {config.duration:g} s after {config.warmup:g} s warm-up)"
    )


def _mib(value_bytes: float) -> str:
    return f"{value_bytes / 2**20:,.0f}" if value_bytes >= 2**20 else f"{value_bytes / 2**20:.2g}"


def _rss_line(run: RunResult) -> str:
    budget = f"queue_max_bytes {_mib(run.config.max_bytes)} MiB"
    if run.peak_rss_mib is None or run.rss_growth_mib is None:
        return f"Peak RSS: unknown (no resource module here; {budget})"
    return (
        f"Peak RSS: {run.peak_rss_mib:,.0f} MiB process peak (ru_maxrss, since the process "
        f"started; +{run.rss_growth_mib:,.0f} MiB during the run; {budget})"
    )


def _config_line(config: LoadTestConfig) -> str:
    timeout = "none" if config.block_timeout is None else f"{config.block_timeout:g}"
    return (
        f"Configuration: worker={config.worker} sink={config.sink} "
        f"sink_delay={config.sink_delay:g} maxsize={config.maxsize:,} "
        f"batch_size={config.batch_size} flush_interval={config.flush_interval:g} "
        f"block_timeout={timeout} sampling_rate={config.sampling_rate:g} "
        f"concurrency={config.concurrency} threads={config.threads} rate={config.rate:g} "
        f"duration={config.duration:g} warmup={config.warmup:g} "
        f"payload_bytes={config.payload_bytes:,} max_bytes={config.max_bytes:,}"
    )


def _verdict(run: RunResult) -> str:
    latency_ok = run.avg_latency_us < run.config.target_latency_us
    rate_ok = run.window.achieved_total_rate >= TARGET_RATE_RATIO * run.target_rate
    return (
        f"{'PASS' if run.passed else 'FAIL'}: avg enqueue latency {fmt_us(run.avg_latency_us)} µs"
        f" {'<' if latency_ok else '>='} target {run.config.target_latency_us:g} µs; achieved total"
        f" rate {_fmt_rate(run.window.achieved_total_rate)} logs/s {'>=' if rate_ok else '<'} "
        f"{TARGET_RATE_RATIO:.0%} of target {_fmt_rate(run.target_rate)} logs/s"
    )


def text_report(run: RunResult) -> str:
    """The human report for one strategy; its first four lines are fixed in form."""
    window = run.window
    lines = [
        f"Total logs attempted: {run.attempted:,}",
        f"Successfully enqueued: {run.enqueued:,}",
        f"Dropped: {run.dropped:,}",
        f"Avg enqueue latency: {fmt_us(run.avg_latency_us)} µs",
    ]
    if window.waited.count and window.non_blocking.count:
        lines.append(
            f"  non-blocking calls: {fmt_us(window.non_blocking.mean_ns / 1e3)} µs avg "
            f"({window.non_blocking.count:,}); calls that waited for room: "
            f"{fmt_us(window.waited.mean_ns / 1e3)} µs avg ({window.waited.count:,})"
        )
    lines.append(f"Sampled out: {run.sampled_out:,}")
    if run.dropped_too_large:
        lines.append(
            f"Dropped as too large: {run.dropped_too_large:,} (each alone over queue_max_bytes "
            f"{run.config.max_bytes:,} bytes; counted in Dropped)"
        )
    delivered = f"Delivered: {run.delivered:,} ({run.delivered_source}"
    if run.failed or run.lost:
        delivered += f"; failed {run.failed:,}, lost {run.lost:,}"
    lines.append(delivered + ")")
    if run.delivered != run.enqueued:
        lines.append(
            f"  NOT DELIVERED: {run.enqueued - run.delivered:,} enqueued events did not reach "
            f"the sink (failed {run.failed:,}, lost {run.lost:,}, sink errors {run.sink_errors:,})"
        )
    lines.append(
        f"WARNING events: {window.warnings:,} offered, {window.warnings_enqueued:,} enqueued"
    )
    if run.attempted != window.calls or run.enqueued != window.calls_enqueued:
        lines.append(
            f"  MISMATCH: the load test issued {window.calls:,} calls ({window.calls_enqueued:,} "
            f"enqueued) but the pipeline counted {run.attempted:,} ({run.enqueued:,} enqueued)"
        )
    lines.append(f"Offered total rate: {_load_line(run.config)}")
    achieved = (
        f"Achieved total rate: {_fmt_rate(window.achieved_total_rate)} logs/s "
        f"({window.achieved_total_rate / window.offered_total_rate:.1%} of offered, "
        f"{window.calls:,} calls in {window.elapsed_s:.2f} s)"
    )
    lines.append(achieved)
    if not run.on_schedule:
        lines.append(
            f"  BEHIND SCHEDULE: the producers could not keep the offered total rate; the latest "
            f"call started {window.max_schedule_lag_ns / 1e6:,.1f} ms after its scheduled time"
        )
    lines += _latency_table(
        [
            ("all", window.histogram),
            ("non-blocking", window.non_blocking),
            ("waited", window.waited),
        ]
    )
    lag = run.loop_lag
    lines.append(
        f"Event-loop lag: p50 {lag.percentile(50) / 1e6:.2f} ms, p99 {lag.percentile(99) / 1e6:.2f}"
        f" ms, max {lag.max_ns / 1e6:.2f} ms ({lag.count:,} wake-ups of a "
        f"{LAG_INTERVAL_S * 1e3:g} ms sleep)"
    )
    lines.append(
        f"CPU per event: {fmt_us(run.cpu_us_per_event)} µs (whole process until drained: "
        f"{fmt_us(run.loop_thread_cpu_us_per_event)} µs on the loop thread, "
        f"{fmt_us(run.other_threads_cpu_us_per_event)} µs in other threads)"
    )
    lines.append(
        f"Queue: depth peak {run.queue_depth_peak:,} of {run.config.maxsize:,}, "
        f"calls that waited {run.block_waits:,}, batches {run.batches:,}, "
        f"sink errors {run.sink_errors:,}, retries {run.retries:,}"
    )
    lines.append(_rss_line(run))
    lines.append(f"Strategy: {run.strategy}")
    lines.append(_config_line(run.config))
    lines.append(f"Result: {_verdict(run)}")
    return "\n".join(lines)


def comparison_table(runs: Sequence[RunResult]) -> str:
    """One table comparing strategies run under the same load (``--strategy all``)."""
    config = runs[0].config

    def lat(h: LatencyHistogram, p: float | None = None) -> str:
        if not h.count:
            return "-"
        return fmt_us((h.mean_ns if p is None else h.percentile(p)) / 1e3)

    rows: list[tuple[str, list[str]]] = [
        ("Total logs attempted", [f"{r.attempted:,}" for r in runs]),
        ("Successfully enqueued", [f"{r.enqueued:,}" for r in runs]),
        ("Dropped", [f"{r.dropped:,}" for r in runs]),
        ("Avg enqueue latency (µs)", [fmt_us(r.avg_latency_us) for r in runs]),
        ("  non-blocking avg (µs)", [lat(r.window.non_blocking) for r in runs]),
        ("  waited avg (µs)", [lat(r.window.waited) for r in runs]),
        ("  calls that waited", [f"{r.window.waited_calls:,}" for r in runs]),
        ("Sampled out", [f"{r.sampled_out:,}" for r in runs]),
        ("Delivered", [f"{r.delivered:,}" for r in runs]),
        (
            "WARNING enqueued/offered",
            [f"{r.window.warnings_enqueued:,}/{r.window.warnings:,}" for r in runs],
        ),
        ("Achieved total rate (logs/s)", [_fmt_rate(r.window.achieved_total_rate) for r in runs]),
    ]
    rows += [
        (f"Latency {_pct_label(p)} (µs)", [lat(r.window.histogram, p) for r in runs])
        for p in PERCENTILES
    ]
    rows += [
        ("Latency max (µs)", [fmt_us(r.window.histogram.max_ns / 1e3) for r in runs]),
        ("Loop lag p50 (ms)", [f"{r.loop_lag.percentile(50) / 1e6:.2f}" for r in runs]),
        ("Loop lag p99 (ms)", [f"{r.loop_lag.percentile(99) / 1e6:.2f}" for r in runs]),
        ("Loop lag max (ms)", [f"{r.loop_lag.max_ns / 1e6:.2f}" for r in runs]),
        ("CPU per event (µs)", [fmt_us(r.cpu_us_per_event) for r in runs]),
        ("  on the loop thread", [fmt_us(r.loop_thread_cpu_us_per_event) for r in runs]),
        ("  in other threads", [fmt_us(r.other_threads_cpu_us_per_event) for r in runs]),
        ("Queue depth peak", [f"{r.queue_depth_peak:,}" for r in runs]),
        ("Peak RSS, process (MiB)", [_opt_mib(r.peak_rss_mib) for r in runs]),
        ("  growth during run (MiB)", [_opt_mib(r.rss_growth_mib, "+") for r in runs]),
    ]
    if any(r.dropped_too_large for r in runs):
        rows.append(("Dropped as too large", [f"{r.dropped_too_large:,}" for r in runs]))
    rows += [
        ("Result", ["PASS" if r.passed else "FAIL" for r in runs]),
    ]
    label_width = max(len(label) for label, _ in rows) + 2
    widths = [
        max(len(r.strategy), *(len(cells[i]) for _, cells in rows)) + 2 for i, r in enumerate(runs)
    ]
    head = " " * label_width + "".join(
        f"{r.strategy:>{w}}" for r, w in zip(runs, widths, strict=True)
    )
    body = [
        f"{label:<{label_width}}"
        + "".join(f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
        for label, cells in rows
    ]
    lines = [f"Strategy comparison at {_load_line(config)}", head, *body]
    lines += [r for run in runs if (r := _schedule_note(run))]
    lines.append(
        f"Peak RSS is the process's lifetime peak (ru_maxrss) at the end of each run, so a later "
        f"column includes every earlier run; run one strategy per process to compare peaks. "
        f"queue_max_bytes {_mib(config.max_bytes)} MiB"
    )
    lines.append(_config_line(config))
    lines += [f"Result {run.strategy}: {_verdict(run)}" for run in runs]
    return "\n".join(lines)


def _opt_mib(value: float | None, sign: str = "") -> str:
    return "-" if value is None else f"{sign}{value:,.0f}"


def _schedule_note(run: RunResult) -> str:
    if run.on_schedule:
        return ""
    return (
        f"{run.strategy}: BEHIND SCHEDULE: achieved a total rate of "
        f"{_fmt_rate(run.window.achieved_total_rate)} of {_fmt_rate(run.window.offered_total_rate)}"
        f" logs/s offered"
    )


def _histogram_json(histogram: LatencyHistogram, scale: float) -> dict[str, Any]:
    values: dict[str, Any] = {"count": histogram.count, "mean": histogram.mean_ns / scale}
    for p in PERCENTILES:
        values[_pct_label(p).replace(".", "_")] = histogram.percentile(p) / scale
    values["max"] = histogram.max_ns / scale
    return values


def _run_json(run: RunResult) -> dict[str, Any]:
    # Each renamed key is followed by its old name, same value, kept for this release only
    # (DEPRECATED_KEYS): readers of older documents and scripts keep working.
    window = run.window
    return {
        "strategy": run.strategy,
        "attempted": run.attempted,
        "enqueued": run.enqueued,
        "dropped": run.dropped,
        "sampled_out": run.sampled_out,
        "delivered": run.delivered,
        "delivered_source": run.delivered_source,
        "failed": run.failed,
        "lost": run.lost,
        "avg_enqueue_latency_us": run.avg_latency_us,
        "calls": window.calls,
        "calls_enqueued": window.calls_enqueued,
        "accepted": window.calls_enqueued,
        "waited_calls": window.waited_calls,
        "warnings": window.warnings,
        "warnings_enqueued": window.warnings_enqueued,
        "warnings_accepted": window.warnings_enqueued,
        "offered_total_rate": window.offered_total_rate,
        "offered_rate": window.offered_total_rate,
        "achieved_total_rate": window.achieved_total_rate,
        "achieved_rate": window.achieved_total_rate,
        "on_schedule": run.on_schedule,
        "elapsed_s": window.elapsed_s,
        "max_schedule_lag_ms": window.max_schedule_lag_ns / 1e6,
        "latency_us": {
            "all": _histogram_json(window.histogram, 1e3),
            "non_blocking": _histogram_json(window.non_blocking, 1e3),
            "waited": _histogram_json(window.waited, 1e3),
        },
        "loop_lag_ms": _histogram_json(run.loop_lag, 1e6),
        "cpu_us_per_event": run.cpu_us_per_event,
        "cpu_us_per_event_loop_thread": run.loop_thread_cpu_us_per_event,
        "cpu_us_per_event_other_threads": run.other_threads_cpu_us_per_event,
        "queue": {
            "maxsize": run.config.maxsize,
            "depth_peak": run.queue_depth_peak,
            "high_water_mark": run.queue_depth_peak,
            "block_waits": run.block_waits,
            "batches": run.batches,
            "sink_errors": run.sink_errors,
            "retries": run.retries,
        },
        "target": {
            "latency_us": run.config.target_latency_us,
            "total_rate": run.target_rate,
            "rate": run.target_rate,
            "rate_ratio": TARGET_RATE_RATIO,
        },
        "payload_bytes": run.config.payload_bytes,
        "max_bytes": run.config.max_bytes,
        "dropped_too_large": run.dropped_too_large,
        "peak_rss_mib": run.peak_rss_mib,
        "rss_growth_mib": run.rss_growth_mib,
        "passed": run.passed,
    }


def environment() -> dict[str, Any]:
    """Where the numbers were measured."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "fapilog_version": fapilog.__version__,
        "utc_time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def json_document(config: LoadTestConfig, runs: Sequence[RunResult]) -> dict[str, Any]:
    """Every reported number, the configuration and the environment, as one JSON document."""
    return {
        "schema": SCHEMA,
        "environment": environment(),
        "config": config.as_dict(),
        "histogram_relative_error": RELATIVE_ERROR,
        "loop_lag_interval_ms": LAG_INTERVAL_S * 1e3,
        "runs": [_run_json(run) for run in runs],
        "passed": all(run.passed for run in runs),
    }
