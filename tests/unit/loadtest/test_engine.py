"""The load test engine, in process: accounting, warm-up, sinks, the loop worker, payload
budgets and peak RSS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fapilog.loadtest._config import LoadTestConfig, parse_config
from fapilog.loadtest._engine import peak_rss_kib, run_strategy
from fapilog.loadtest._report import json_document, text_report

TINY = LoadTestConfig(concurrency=2, rate=500.0, duration=0.2, warmup=0.1)


@pytest.mark.parametrize("strategy", ["drop", "block", "sample"])
def test_counts_cover_the_window_only_and_add_up(strategy: str) -> None:
    """Warm-up calls are excluded; attempted = enqueued + dropped + sampled out; all delivered."""
    run = asyncio.run(run_strategy(TINY, strategy))
    assert run.window.calls == run.attempted == 200  # 2 tasks × 500/s × 0.2 s, no warm-up
    assert run.attempted == run.enqueued + run.dropped + run.sampled_out
    assert run.window.calls_enqueued == run.enqueued
    assert run.delivered == run.enqueued
    assert run.delivered_source == "memory sink, after drain"
    assert (run.failed, run.lost) == (0, 0)
    assert run.loop_lag.count > 0
    assert run.cpu_s > 0
    assert 0 < run.loop_thread_cpu_s <= run.cpu_s + 0.01


def test_null_sink_delivery_comes_from_the_pipeline() -> None:
    """Without the memory sink, delivered is the pipeline's own count after the drain."""
    config = LoadTestConfig(concurrency=1, rate=500.0, duration=0.1, warmup=0.0, sink="null")
    run = asyncio.run(run_strategy(config, "drop"))
    assert run.delivered == run.enqueued == 50
    assert run.delivered_source == "pipeline count, after drain"


def test_file_sink_writes_every_event(tmp_path: Path) -> None:
    """--sink file:PATH writes one JSON line per delivered event."""
    path = tmp_path / "load.log"
    config = LoadTestConfig(
        concurrency=1, rate=500.0, duration=0.1, warmup=0.0, sink=f"file:{path}"
    )
    run = asyncio.run(run_strategy(config, "drop"))
    assert len(path.read_text().splitlines()) == run.delivered == 50


def test_loop_worker_runs_on_the_test_loop() -> None:
    """worker=loop is configured from inside the running loop, so it works."""
    config = LoadTestConfig(concurrency=2, rate=500.0, duration=0.1, warmup=0.0, worker="loop")
    run = asyncio.run(run_strategy(config, "block"))
    assert run.delivered == run.enqueued == 100


@pytest.mark.timeout(60)
def test_events_larger_than_the_budget_are_counted_too_large_end_to_end() -> None:
    """A 4,000-char payload against a 2 KiB budget: every event of the measured window dropped
    as too large, reported. (The warm-up lets fapilog see its first large event: sizes are
    charged from then on.)"""
    config = parse_config(
        [
            "--payload-bytes",
            "4000",
            "--max-bytes",
            "2KiB",
            "--concurrency",
            "1",
            "--rate",
            "200",
            "--duration",
            "0.2",
            "--warmup",
            "0.3",
        ],
        {},
    )
    run = asyncio.run(run_strategy(config, "drop"))
    assert run.attempted == 40
    assert run.dropped_too_large == run.dropped == 40
    assert run.enqueued == run.delivered == 0
    assert run.rss_start_kib is not None and run.rss_end_kib is not None
    assert 0 < run.rss_start_kib <= run.rss_end_kib
    assert "Dropped as too large: 40 (each alone over queue_max_bytes 2,048 bytes" in (
        text_report(run)
    )
    assert json_document(config, [run])["runs"][0]["dropped_too_large"] == 40


def test_peak_rss_kib_is_the_processes_peak_and_never_falls() -> None:
    """ru_maxrss in KiB: a plausible size, never falling, and at least the 64 MiB held resident."""
    before = peak_rss_kib()
    assert before is not None and 1024 < before < 64 * 2**20
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    after = peak_rss_kib()
    del block
    assert after is not None and after >= before
    assert peak_rss_kib() == pytest.approx(after, abs=8 * 1024)
    assert after >= 60 * 1024
