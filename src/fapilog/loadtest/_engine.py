"""Run one strategy: configure a pipeline, warm up, measure a window, drain, account."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import fapilog
from fapilog._settings import Overflow
from fapilog.loadtest._config import PROG, LoadTestConfig, UsageError
from fapilog.loadtest._histogram import LatencyHistogram
from fapilog.loadtest._window import PacedWindow, paced_window, payload_source
from fapilog.sinks import FileSink, MemorySink, NullSink, Sink

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

__all__ = ["LAG_INTERVAL_S", "RunResult", "peak_rss_kib", "run_strategy"]

#: The lag sentinel sleeps this long and records how much later it woke. Short enough to see
#: any stall that a request handler would feel, long enough to cost the loop nothing.
LAG_INTERVAL_S = 0.005
#: Below this share of the offered total rate, the report says the run fell behind its schedule.
ON_SCHEDULE_RATIO = 0.99
#: PASS needs at least this share of the target (total) rate.
TARGET_RATE_RATIO = 0.95
_PROGRESS_EVERY_S = 0.5


def peak_rss_kib() -> int | None:
    """The process's peak resident set size so far, in KiB (``ru_maxrss``); None if unknown.

    A lifetime peak: it never goes down, so a run can only show the peak of the whole process
    up to its end.
    """
    if resource is None:  # pragma: no cover - not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


@dataclass(frozen=True, slots=True)
class RunResult:
    """The measured window of one strategy and the pipeline's counts for it."""

    strategy: str
    config: LoadTestConfig
    window: PacedWindow
    attempted: int
    enqueued: int
    dropped: int
    sampled_out: int
    #: Read from the memory sink after the drain (other sinks: the pipeline's count).
    delivered: int
    delivered_source: str
    failed: int
    lost: int
    block_waits: int
    queue_depth_peak: int
    batches: int
    sink_errors: int
    retries: int
    loop_lag: LatencyHistogram
    #: Process CPU time (every thread) from the window's start until its events were drained.
    cpu_s: float
    #: The part of ``cpu_s`` spent on the event loop's thread: the producer tasks (their log
    #: calls and the harness's pacing) and, with ``worker="loop"``, the worker.
    loop_thread_cpu_s: float
    #: Events dropped because their estimated size alone exceeds ``queue_max_bytes``.
    dropped_too_large: int = 0
    #: The process's peak RSS (``ru_maxrss``, KiB) before the run and after its drain.
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None

    @property
    def peak_rss_mib(self) -> float | None:
        """The process's peak RSS at the end of the run (a lifetime peak), MiB."""
        return None if self.rss_end_kib is None else self.rss_end_kib / 1024

    @property
    def rss_growth_mib(self) -> float | None:
        """How much this run raised the process's peak RSS, MiB."""
        if self.rss_start_kib is None or self.rss_end_kib is None:
            return None
        return (self.rss_end_kib - self.rss_start_kib) / 1024

    @property
    def avg_latency_us(self) -> float:
        return self.window.mean_latency_ns / 1e3

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_s * 1e6 / self.window.calls if self.window.calls else 0.0

    @property
    def loop_thread_cpu_us_per_event(self) -> float:
        return self.loop_thread_cpu_s * 1e6 / self.window.calls if self.window.calls else 0.0

    @property
    def other_threads_cpu_us_per_event(self) -> float:
        """CPU off the loop thread per event: the thread worker, sinks, producer threads."""
        return max(0.0, self.cpu_us_per_event - self.loop_thread_cpu_us_per_event)

    @property
    def on_schedule(self) -> bool:
        return self.window.achieved_total_rate >= ON_SCHEDULE_RATIO * self.window.offered_total_rate

    @property
    def target_rate(self) -> float:
        return self.config.effective_target_rate

    @property
    def passed(self) -> bool:
        """Average enqueue latency below target at >= 95 % of the target (total) rate."""
        return (
            self.avg_latency_us < self.config.target_latency_us
            and self.window.achieved_total_rate >= TARGET_RATE_RATIO * self.target_rate
        )


def _make_sink(config: LoadTestConfig) -> Sink | str:
    if config.sink == "memory":
        return MemorySink(delay=config.sink_delay)
    if config.sink == "null":
        return NullSink()
    if config.sink.startswith("file:"):
        path = config.sink.removeprefix("file:")
        try:
            return FileSink(path)
        except OSError as exc:
            raise UsageError(f"{PROG}: error: --sink: cannot open {path!r}: {exc}") from None
    return config.sink  # "stdout": the URI, as a service would configure it


def _drain_timeout_s(config: LoadTestConfig) -> float:
    # A full queue is maxsize / batch_size batches, each paying the sink's delay; twice that
    # plus slack is ample on a busy machine, and still ends a run whose sink has stalled.
    batches = math.ceil(config.maxsize / config.batch_size)
    return 10.0 + 2.0 * batches * (config.sink_delay + 0.01)


async def _watch_loop_lag(histogram: LatencyHistogram) -> None:
    clock = time.perf_counter_ns
    interval_ns = round(LAG_INTERVAL_S * 1e9)
    while True:
        start = clock()
        await asyncio.sleep(LAG_INTERVAL_S)
        histogram.record(clock() - start - interval_ns)


async def _show_progress(
    show: Callable[[str], None],
    config: LoadTestConfig,
    strategy: str,
    calls: int,
    before: fapilog.PipelineStats,
) -> None:
    start = time.perf_counter()
    while True:
        await asyncio.sleep(_PROGRESS_EVERY_S)
        now = fapilog.stats()
        show(
            f"[{strategy}] {time.perf_counter() - start:5.1f}/{config.duration:g} s  "
            f"attempted {now.attempted - before.attempted:,} of {calls:,}  "
            f"queue {now.queue_depth:,}/{config.maxsize:,}  "
            f"dropped {now.dropped - before.dropped:,}"
        )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    # asyncio.wait, not ``await task``: the CancelledError stays inside the task. Letting it
    # pass through this frame made coverage (CPython 3.11) stop tracing the rest of the run.
    await asyncio.wait([task])


async def run_strategy(
    config: LoadTestConfig, strategy: Overflow, *, progress: Callable[[str], None] | None = None
) -> RunResult:
    """Measure ``strategy`` under ``config``'s load on a fresh pipeline, then shut it down."""
    sink = _make_sink(config)
    payload_source(config.payload_bytes)  # built before the first RSS reading: not the queue's
    rss_start = peak_rss_kib()
    # Configured from this coroutine, so worker="loop" lands on the loop we run on.
    fapilog.configure_logging(
        fapilog.LoggingSettings(
            level="INFO",
            sinks=(sink,),
            queue_maxsize=config.maxsize,
            queue_overflow=strategy,
            queue_batch_size=config.batch_size,
            queue_flush_interval=config.flush_interval,
            queue_block_timeout=config.block_timeout,
            sampling_rate=config.sampling_rate,
            worker=config.worker,
            queue_max_bytes=config.max_bytes,
        )
    )
    blocking = strategy == "block"
    total_rate = config.offered_total_rate
    drain_timeout = _drain_timeout_s(config)
    try:
        warmup_calls = round(total_rate * config.warmup)
        if warmup_calls:
            await paced_window(
                warmup_calls,
                total_rate,
                config.concurrency,
                blocking=blocking,
                threads=config.threads,
                payload_bytes=config.payload_bytes,
            )
            # Start the window on an empty queue, with the warm-up's events already delivered.
            await fapilog.aflush(timeout=drain_timeout)
        before = fapilog.stats()
        delivered_before = sink.count if isinstance(sink, MemorySink) else before.delivered
        calls = round(total_rate * config.duration)
        lag = LatencyHistogram()
        watchers = [asyncio.create_task(_watch_loop_lag(lag))]
        if progress is not None:
            watchers.append(
                asyncio.create_task(_show_progress(progress, config, strategy, calls, before))
            )
        cpu_start, loop_cpu_start = time.process_time(), time.thread_time()
        try:
            window = await paced_window(
                calls,
                total_rate,
                config.concurrency,
                blocking=blocking,
                threads=config.threads,
                payload_bytes=config.payload_bytes,
            )
        finally:
            for watcher in watchers:
                await _stop(watcher)
    finally:
        final = await fapilog.ashutdown(timeout=drain_timeout)
    rss_end = peak_rss_kib()
    cpu_s = time.process_time() - cpu_start
    loop_thread_cpu_s = time.thread_time() - loop_cpu_start
    if isinstance(sink, MemorySink):
        delivered, source = sink.count - delivered_before, "memory sink, after drain"
    else:
        delivered, source = final.delivered - delivered_before, "pipeline count, after drain"
    return RunResult(
        strategy=strategy,
        config=config,
        window=window,
        attempted=final.attempted - before.attempted,
        enqueued=final.enqueued - before.enqueued,
        dropped=final.dropped - before.dropped,
        sampled_out=final.sampled_out - before.sampled_out,
        delivered=delivered,
        delivered_source=source,
        failed=final.failed - before.failed,
        lost=final.lost - before.lost,
        block_waits=final.block_waits - before.block_waits,
        queue_depth_peak=final.queue_depth_peak,
        batches=final.batches - before.batches,
        sink_errors=final.sink_errors - before.sink_errors,
        retries=final.retries - before.retries,
        loop_lag=lag,
        cpu_s=cpu_s,
        loop_thread_cpu_s=loop_thread_cpu_s,
        dropped_too_large=final.dropped_too_large - before.dropped_too_large,
        rss_start_kib=rss_start,
        rss_end_kib=rss_end,
    )
