"""The consumer: serializing a batch, one bad record never costs the others; flush barriers
acknowledged exactly once, by the batch that reaches them."""

from __future__ import annotations

import fapilog
from fapilog._consumer import Consumer
from fapilog._queue import LogQueue
from fapilog.sinks import MemorySink


def test_one_unserializable_value_does_not_cost_its_batch() -> None:
    """A huge int and a key whose str() raises fall back; the other events of the batch arrive."""

    class BadKey:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __hash__(self) -> int:
            return 1

    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,), queue_flush_interval=60)
    fapilog.log.info("good 1")
    fapilog.log.info("huge", n=10**5000)
    fapilog.log.info("bad key", d={BadKey(): 1})
    fapilog.log.info("good 2")
    final = fapilog.shutdown()
    assert (final.delivered, final.failed, final.lost) == (4, 0, 0)
    events = [r["event"] for r in sink.records]
    assert events == ["good 1", "huge", "bad key", "good 2"]
    assert sink.records[1]["n"].startswith("<int of ")


# -- flush barriers --------------------------------------------------------------------------


def _consumer(sink: MemorySink) -> Consumer:
    queue = LogQueue(
        100, wake_at=10, overflow="drop", block_timeout_s=None, sampling_rate=1.0, high_water=1.0
    )
    return Consumer(queue, [sink], batch_size=10)


def test_a_barrier_already_reached_is_acknowledged_at_once() -> None:
    """Nothing enqueued yet (target 0): the acknowledgement comes from the barrier call itself."""
    consumer = _consumer(MemorySink())
    acknowledged: list[int] = []
    withdraw = consumer.barrier(0, lambda: acknowledged.append(1))
    assert acknowledged == [1]
    withdraw()  # withdrawing an acknowledged barrier is harmless
    assert acknowledged == [1]


def test_a_barrier_is_acknowledged_once_by_the_batch_that_reaches_it() -> None:
    """Batches finish in order: the barrier at 15 fires when the batch holding event 15 is
    done (not before, not twice), from the thread that finished it."""
    consumer = _consumer(MemorySink())  # no writer threads: drain_batch writes inline
    queue = consumer.queue
    for i in range(20):
        assert queue.offer((0.0, "info", f"e{i}", {}, {}, {}))
    acknowledged: list[int] = []
    consumer.barrier(15, lambda: acknowledged.append(consumer.processed))
    assert consumer.drain_batch() == 10
    assert acknowledged == []
    assert consumer.drain_batch() == 10
    assert acknowledged == [20]
    consumer.drain_all()
    assert acknowledged == [20]


def test_a_withdrawn_barrier_is_never_acknowledged() -> None:
    """A waiter that timed out withdraws its barrier: it is not called later, nor kept."""
    consumer = _consumer(MemorySink())
    for i in range(5):
        consumer.queue.offer((0.0, "info", f"e{i}", {}, {}, {}))
    acknowledged: list[int] = []
    withdraw = consumer.barrier(5, lambda: acknowledged.append(1))
    withdraw()
    consumer.drain_all()
    assert acknowledged == []
    assert consumer._barriers == []
