"""The loop worker (worker='loop'): timeouts that leave the loop running, inline drains that
never raise or deadlock, and the hand-over to a thread when its loop ends."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import fapilog
from fapilog.sinks import MemorySink


class Slow(MemorySink):
    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.2)
        super().write(lines)


def test_timed_out_ashutdown_on_a_loop_worker_leaves_the_loop_running() -> None:
    """With worker='loop', a shutdown that times out must not freeze the event loop."""

    async def main() -> float:
        fapilog.configure_logging(sinks=(Slow(),), worker="loop", queue_batch_size=10)
        for i in range(50):
            fapilog.log.info("e", i=i)
        await fapilog.ashutdown(timeout=0.1)
        start = time.monotonic()
        await asyncio.sleep(0.05)
        return time.monotonic() - start

    assert asyncio.run(main()) < 2.0


def test_sink_that_logs_with_loop_worker_and_block_does_not_deadlock() -> None:
    """A sink that logs through fapilog (loop worker, block, full queue) gets a drop, not a hang."""

    class Chatty(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            for _ in range(3):
                fapilog.log.info("from inside the sink")
            fapilog.flush(timeout=1)
            super().write(lines)

    sink = Chatty()

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=4,
            queue_batch_size=2,
            queue_block_timeout=None,
        )
        for i in range(20):
            fapilog.log.info("e", i=i)
        return await fapilog.ashutdown(timeout=5)

    final = asyncio.run(main())
    assert final.attempted == final.enqueued + final.dropped
    assert final.enqueued == final.delivered


def test_loop_worker_hands_over_to_a_thread_when_its_loop_ends() -> None:
    """Events logged after asyncio.run() returned (drop mode) are still delivered."""
    sink = MemorySink()

    async def configure() -> None:
        fapilog.configure_logging(sinks=(sink,), worker="loop", queue_maxsize=1000)

    async def second_run() -> None:
        for i in range(3000):
            fapilog.log.info("second loop", i=i)
            if i % 100 == 0:
                await asyncio.sleep(0.001)

    asyncio.run(configure())
    asyncio.run(second_run())
    final = fapilog.shutdown(timeout=10)
    assert final.dropped < 3000 // 2
    assert sink.count == final.enqueued == final.delivered


def test_block_thread_does_not_hang_after_the_loop_worker_loop_ended() -> None:
    """A thread blocking on a full queue whose loop worker's loop is gone still gets through."""
    sink = MemorySink()

    async def configure() -> None:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=4,
            queue_batch_size=2,
            queue_block_timeout=None,
        )

    asyncio.run(configure())
    results: list[bool] = []
    thread = threading.Thread(
        target=lambda: results.extend(fapilog.log.info("t") for _ in range(50))
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    assert results == [True] * 50
    assert fapilog.shutdown().delivered == 50


def test_inline_drain_of_a_hostile_value_does_not_raise() -> None:
    """loop worker + block: the call that drains a batch inline never raises, whatever it holds."""

    async def main() -> list[bool]:
        fapilog.configure_logging(
            sinks=(MemorySink(),),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=2,
            queue_batch_size=1,
            queue_block_timeout=None,
        )
        return [fapilog.log.info("x", n=10**5000) for _ in range(6)]

    assert asyncio.run(main()) == [True] * 6


class ExitsOnRepr:
    """A value whose ``repr`` raises SystemExit (a BaseException, not an Exception)."""

    def __repr__(self) -> str:
        raise SystemExit(3)


def test_a_value_raising_system_exit_does_not_end_asyncio_run_with_the_loop_worker() -> None:
    """With the loop worker, the same value must not end ``asyncio.run`` (the worker task would
    otherwise let SystemExit escape into the loop), and nothing escapes later log calls."""
    sink = MemorySink(keep=10)

    async def main() -> str:
        fapilog.configure_logging(sinks=(sink,), worker="loop")
        fapilog.log.info("hostile", value=ExitsOnRepr())
        await asyncio.sleep(0.3)
        assert fapilog.log.info("after")
        assert await fapilog.aflush(5)
        return "finished"

    assert asyncio.run(main()) == "finished"
    assert [r["event"] for r in sink.records][-1] == "after"
