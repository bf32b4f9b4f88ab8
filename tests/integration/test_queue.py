"""Many threads and tasks at once, a small queue, a slow sink: the counts stay exact.

Every test here has a pytest-timeout (pyproject sets 60 s) so a deadlock fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

import fapilog
from fapilog.sinks import MemorySink
from tests.conftest import run_threads

THREADS = 8
TASKS = 50
PER_PRODUCER = 200


def _hammer(*, with_warnings: bool = False) -> Counter[str]:
    """8 threads + 50 tasks log at once; returns the caller-side tally of calls and results."""
    tally: Counter[str] = Counter()
    lock = threading.Lock()

    def record(level: str, accepted: bool) -> None:
        with lock:
            tally["calls"] += 1
            tally[f"{level}_{'true' if accepted else 'false'}"] += 1

    def thread_body(index: int) -> None:
        log = fapilog.get_logger(f"thread-{index}")
        for i in range(PER_PRODUCER):
            if with_warnings and i % 10 == 0:
                record("warning", log.warning("t", i=i))
            else:
                record("info", log.info("t", i=i))

    async def task_body(index: int) -> None:
        log = fapilog.get_logger(f"task-{index}")
        for i in range(PER_PRODUCER):
            if with_warnings and i % 10 == 0:
                record("warning", await log.awarning("a", i=i))
            else:
                record("info", await log.ainfo("a", i=i))
            if i % 20 == 0:
                await asyncio.sleep(0)

    async def tasks() -> None:
        await asyncio.gather(*(task_body(i) for i in range(TASKS)))

    threads_done = threading.Thread(target=run_threads, args=(THREADS, thread_body))
    threads_done.start()
    asyncio.run(tasks())
    threads_done.join()
    return tally


@pytest.mark.parametrize("overflow", ["drop", "block", "sample"])
def test_invariants_hold_exactly_under_concurrency(overflow: str) -> None:
    """attempted = enqueued + dropped + sampled_out, and after shutdown
    enqueued = delivered + failed + lost, matching what the callers saw, for each strategy."""
    sink = MemorySink(delay=0.002)
    fapilog.configure_logging(
        sinks=(sink,),
        queue_maxsize=64,
        queue_batch_size=16,
        queue_overflow=overflow,
        queue_block_timeout=None,
        sampling_rate=0.3,
        queue_high_water=0.5,
    )
    tally = _hammer()
    final = fapilog.shutdown(timeout=30)
    total = (THREADS + TASKS) * PER_PRODUCER
    assert tally["calls"] == total
    assert final.attempted == total
    assert final.attempted == final.enqueued + final.dropped + final.sampled_out
    assert final.enqueued == tally["info_true"]
    assert final.enqueued == final.delivered + final.failed + final.lost
    assert final.failed == final.lost == 0
    assert sink.count == final.delivered
    assert final.queue_depth_peak <= 64
    if overflow == "block":
        assert (final.dropped, final.delivered) == (0, total)
        assert final.block_waits > 0
    elif overflow == "drop":
        assert final.dropped > 0 and final.sampled_out == 0
    else:
        assert final.sampled_out > 0


def test_sample_keeps_every_warning_while_there_is_room() -> None:
    """sample: WARNING+ events are never sampled out; a refused warning is a full-queue drop."""
    sink = MemorySink(delay=0.002, keep=100_000)
    fapilog.configure_logging(
        sinks=(sink,),
        queue_maxsize=200,
        queue_batch_size=16,
        queue_overflow="sample",
        sampling_rate=0.0,
        queue_high_water=0.1,
    )
    tally = _hammer(with_warnings=True)
    final = fapilog.shutdown(timeout=30)
    assert final.sampled_out > 0
    assert tally["info_false"] == final.sampled_out + (final.dropped - tally["warning_false"])
    assert tally["warning_false"] <= final.dropped
    delivered_warnings = sum(1 for r in sink.records if r["level"] == "warning")
    assert delivered_warnings == tally["warning_true"]
    assert tally["warning_true"] > 0


def test_block_with_a_healthy_sink_loses_nothing_under_threads() -> None:
    """block, no timeout: every call from 16 threads is delivered, none dropped or lost."""
    sink = MemorySink(delay=0.001)
    fapilog.configure_logging(
        sinks=(sink,),
        queue_maxsize=8,
        queue_batch_size=4,
        queue_overflow="block",
        queue_block_timeout=None,
    )
    run_threads(16, lambda i: [fapilog.log.info("b", t=i, n=n) for n in range(300)] and None)
    final = fapilog.shutdown(timeout=30)
    assert (final.attempted, final.delivered, final.dropped, final.lost) == (4800, 4800, 0, 0)
    assert sink.count == 4800


def test_sync_block_on_the_loop_worker_loop_drains_inline() -> None:
    """A sync call on the loop that hosts the loop worker cannot wait: it drains inline."""
    sink = MemorySink(delay=0.001)

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_maxsize=4,
            queue_batch_size=2,
            queue_overflow="block",
            queue_block_timeout=None,
        )
        for i in range(500):
            assert fapilog.log.info("sync on loop", i=i)
        return await fapilog.ashutdown()

    final = asyncio.run(main())
    assert (final.delivered, final.dropped, sink.count) == (500, 0, 500)
    assert final.block_waits > 0


def test_async_block_callers_with_loop_worker_and_threads() -> None:
    """Async callers await room on the loop worker's loop while threads block on it too."""
    sink = MemorySink(delay=0.001)

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_maxsize=8,
            queue_batch_size=4,
            queue_overflow="block",
            queue_block_timeout=None,
        )

        async def producer(n: int) -> None:
            for i in range(100):
                assert await fapilog.log.ainfo("task", n=n, i=i)

        thread = threading.Thread(
            target=run_threads,
            args=(4, lambda t: [fapilog.log.info("thr", t=t) for _ in range(100)] and None),
        )
        thread.start()
        await asyncio.gather(*(producer(n) for n in range(20)))
        await asyncio.to_thread(thread.join)
        return await fapilog.ashutdown()

    final = asyncio.run(main())
    assert (final.attempted, final.delivered, final.dropped) == (2400, 2400, 0)


def test_async_block_with_thread_worker_does_not_block_the_loop() -> None:
    """With the thread worker, awaiting ainfo on a full queue lets other tasks run."""
    sink = MemorySink(delay=0.005)

    async def main() -> int:
        fapilog.configure_logging(
            sinks=(sink,),
            queue_maxsize=2,
            queue_batch_size=1,
            queue_overflow="block",
            queue_block_timeout=None,
        )
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.001)

        tick_task = asyncio.create_task(ticker())
        for i in range(40):
            await fapilog.log.ainfo("x", i=i)
        stop = True
        await tick_task
        await fapilog.ashutdown()
        return ticks

    assert asyncio.run(main()) >= 20
    assert sink.count == 40
