"""The Pipeline object: a shutdown that gives up stops its threads and freezes its counts;
flush()/aflush() wait on a barrier the consumer acknowledges, and a second shutdown waits for
the first one's acknowledgement (exact, and nothing runs while nobody waits)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence

import pytest

import fapilog
from fapilog import _lifecycle
from fapilog.sinks import MemorySink


def _workers_alive() -> int:
    """fapilog's threads: the worker and the sinks' writers."""
    return sum(t.name.startswith("fapilog-") and t.is_alive() for t in threading.enumerate())


class Slow(MemorySink):
    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.2)
        super().write(lines)


def test_timed_out_shutdown_stops_the_worker_and_freezes_the_counts() -> None:
    """After a shutdown that gave up, the worker and the writer exit (no busy loop) and the
    counts stay put: what the slow sink had not taken is failed for it, and the write still in
    progress when the timeout expired is not counted again when it returns."""
    before = _workers_alive()
    fapilog.configure_logging(sinks=(Slow(),), queue_batch_size=10)
    for i in range(100):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=0.1)
    assert final.failed > 0 and final.sinks[0].failed == final.failed
    assert final.enqueued == final.delivered + final.failed + final.lost
    time.sleep(0.5)
    assert fapilog.stats() == final
    deadline = time.monotonic() + 5
    while _workers_alive() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_alive() == before


# -- flush barriers and waiting for a shutdown ------------------------------------------------


class Gate(MemorySink):
    """A sink whose writes wait until the test opens the gate (keeps every line)."""

    def __init__(self) -> None:
        super().__init__(keep=1_000_000)
        self.open = threading.Event()
        self.entered = threading.Event()

    def write(self, lines: Sequence[bytes]) -> None:
        self.entered.set()
        self.open.wait(30)
        super().write(lines)


def _pipeline() -> _lifecycle.Pipeline:
    pipeline = _lifecycle.current_pipeline()
    assert pipeline is not None
    return pipeline


@pytest.mark.timeout(30)
def test_aflush_returns_when_everything_before_it_is_written() -> None:
    """aflush resolves when the sink has taken every event logged before it: at that moment
    the sink holds them all (the barrier is exact, not a guess from a poll)."""
    sink = Gate()
    fapilog.configure_logging(sinks=(sink,), queue_batch_size=4)

    async def main() -> tuple[bool, int]:
        for i in range(10):
            fapilog.log.info("e", i=i)
        flushing = asyncio.ensure_future(fapilog.aflush(timeout=20))
        await asyncio.sleep(0.1)
        assert not flushing.done()  # the sink is still closed
        sink.open.set()
        done = await flushing
        return done, sink.count

    done, count_at_return = asyncio.run(main())
    assert done is True
    assert count_at_return == 10
    assert _pipeline().consumer._barriers == []


@pytest.mark.timeout(30)
def test_aflush_wakes_a_parked_worker_instead_of_waiting_for_its_interval() -> None:
    """With a 20 s flush interval and a batch size never reached, only the flush's wake-up can
    make the worker drain: aflush still returns True well within its 10 s timeout."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,), queue_flush_interval=20.0, queue_batch_size=1000)
    fapilog.log.info("one")
    assert asyncio.run(fapilog.aflush(timeout=10)) is True
    assert sink.count == 1


@pytest.mark.timeout(30)
def test_a_timed_out_aflush_withdraws_its_barrier() -> None:
    """A sink that does not return: aflush gives up at its timeout (False) and leaves no
    barrier behind; the events are still delivered once the sink returns."""
    sink = Gate()
    fapilog.configure_logging(sinks=(sink,))
    fapilog.log.info("stuck")
    assert asyncio.run(fapilog.aflush(timeout=0.3)) is False
    assert _pipeline().consumer._barriers == []
    sink.open.set()
    assert fapilog.flush(timeout=10) is True
    assert sink.count == 1


@pytest.mark.timeout(60)
def test_concurrent_flushes_each_see_everything_logged_before_them() -> None:
    """8 threads and 8 tasks log and flush at once: every flush that returns True finds its
    own events (logged before it) already in the sink."""
    sink = MemorySink(keep=1_000_000, delay=0.002)
    fapilog.configure_logging(sinks=(sink,), queue_maxsize=100_000, queue_batch_size=16)
    failures: list[str] = []

    def seen(tag: str) -> set[int]:
        return {r["n"] for r in map(json.loads, sink.lines) if r.get("tag") == tag}

    def thread_body(index: int) -> None:
        tag = f"t{index}"
        for n in range(30):
            fapilog.log.info("e", tag=tag, n=n)
            if n % 10 == 9:
                if not fapilog.flush(timeout=20):
                    failures.append(f"{tag}: flush timed out")
                elif seen(tag) < set(range(n + 1)):
                    failures.append(f"{tag}: flush returned before event {n} was written")

    async def task_body(index: int) -> None:
        tag = f"a{index}"
        for n in range(30):
            await fapilog.log.ainfo("e", tag=tag, n=n)
            if n % 10 == 9:
                if not await fapilog.aflush(timeout=20):
                    failures.append(f"{tag}: aflush timed out")
                elif seen(tag) < set(range(n + 1)):
                    failures.append(f"{tag}: aflush returned before event {n} was written")

    async def tasks() -> None:
        await asyncio.gather(*(task_body(i) for i in range(8)))

    threads = [threading.Thread(target=thread_body, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    asyncio.run(tasks())
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert sink.count == 16 * 30


@pytest.mark.timeout(30)
def test_a_flush_waiting_on_a_hung_sink_ends_with_the_shutdown_that_gives_up() -> None:
    """shutdown(0.3) gives up on a hung sink: a flush waiting meanwhile with a 20 s timeout is
    acknowledged then, not at its own timeout (True: its event is accounted for, as failed)."""
    sink = Gate()
    fapilog.configure_logging(sinks=(sink,))
    fapilog.log.info("stuck")
    assert sink.entered.wait(10)
    result: list[bool] = []
    flusher = threading.Thread(target=lambda: result.append(fapilog.flush(timeout=20)))
    flusher.start()
    time.sleep(0.1)
    final = fapilog.shutdown(timeout=0.3)
    flusher.join(5)
    assert not flusher.is_alive(), "the flush outlived the shutdown that gave up"
    assert result == [True]
    assert final.failed == 1
    sink.open.set()


@pytest.mark.timeout(30)
def test_a_second_shutdown_returns_when_the_first_has_stopped() -> None:
    """Two threads shut down at once (and a task with ashutdown): the ones that did not run
    the drain return when it has finished, with the same final counts."""
    sink = Gate()
    fapilog.configure_logging(sinks=(sink,))
    for i in range(5):
        fapilog.log.info("e", i=i)
    assert sink.entered.wait(10)
    results: dict[str, fapilog.PipelineStats] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", fapilog.shutdown(20)))
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=lambda: results.__setitem__("second", fapilog.shutdown(20)))
    second.start()

    async def third() -> None:
        results["third"] = await fapilog.ashutdown(20)

    waiter = threading.Thread(target=lambda: asyncio.run(third()))
    waiter.start()
    time.sleep(0.2)
    assert second.is_alive() and waiter.is_alive(), "a second shutdown returned before the drain"
    sink.open.set()
    for thread in (first, second, waiter):
        thread.join(10)
        assert not thread.is_alive()
    assert results["first"].delivered == 5
    assert results["second"] == results["first"]
    assert results["third"] == results["first"]


@pytest.mark.timeout(30)
def test_a_flush_from_inside_the_consumers_bookkeeping_completes() -> None:
    """A flush on a thread that holds the consumer's count lock (a signal handler that
    interrupted it) cannot get a barrier acknowledgement — no batch can finish meanwhile — so
    it waits with the lock released, and everything is delivered."""
    sink = MemorySink(delay=0.02)
    fapilog.configure_logging(sinks=(sink,))
    for i in range(10):
        fapilog.log.info("x", i=i)
    consumer = _pipeline().consumer
    with consumer._count_lock:
        assert fapilog.flush(timeout=10) is True
    assert sink.count == 10
