"""LogQueue on its own (no worker): the three overflow strategies and their counts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import pytest

import fapilog
from fapilog import Logger, _lifecycle
from fapilog._levels import ERROR, INFO, WARNING
from fapilog._methods import call_for
from fapilog._queue import LogQueue, Record
from fapilog.sinks import MemorySink

LOGGER = Logger()


def _queue(overflow: str, maxsize: int = 10, **kw: object) -> LogQueue:
    options: dict[str, object] = {
        "wake_at": 4,
        "overflow": overflow,
        "block_timeout_s": 0.05,
        "sampling_rate": 0.0,
        "high_water": 0.5,
    }
    options.update(kw)
    return LogQueue(maxsize, **options)  # type: ignore[arg-type]


def _rec(i: int) -> Record:
    return (0.0, "info", "e", {}, {}, {"i": i})


def _caller(q: LogQueue, level: int) -> Callable[[Record], bool]:
    """The queue's log method for ``level``, called like the Logger calls it."""
    call = call_for(q, level, "level")
    return lambda record: call(LOGGER, "e", **record[5])


def test_drop_rejects_at_once_when_full_and_counts() -> None:
    """drop: maxsize events fit; every later one returns False and counts as dropped."""
    q = _queue("drop")
    offer = _caller(q, INFO)
    results = [offer(_rec(i)) for i in range(15)]
    assert results == [True] * 10 + [False] * 5
    assert q.counts() == (10, 5, 0, 0, 10)


def test_a_batch_frees_its_slots_only_when_given_back() -> None:
    """take() keeps the popped events' slots (they are in a sink's hands); give_back frees them."""
    q = _queue("drop")
    offer = _caller(q, INFO)
    for i in range(10):
        offer(_rec(i))
    batch = q.take(3)
    assert [r[5]["i"] for r in batch] == [0, 1, 2]
    assert _caller(q, INFO)(_rec(99)) is False
    q.give_back(3)
    assert [offer(_rec(i)) for i in range(4)] == [True, True, True, False]


def test_sample_admits_everything_below_high_water() -> None:
    """sample: below queue_high_water × maxsize every event is admitted."""
    q = _queue("sample")
    offer = _caller(q, INFO)
    assert all(offer(_rec(i)) for i in range(5))
    assert q.counts()[:3] == (5, 0, 0)


def test_sample_keeps_warnings_and_samples_info_above_high_water() -> None:
    """sample, rate 0: above the mark INFO is sampled out, WARNING+ is kept until full."""
    q = _queue("sample")
    info, warning, error = _caller(q, INFO), _caller(q, WARNING), _caller(q, ERROR)
    for i in range(5):
        assert info(_rec(i))
    assert [info(_rec(i)) for i in range(3)] == [False] * 3
    assert [warning(_rec(i)) for i in range(3)] + [error(_rec(i)) for i in range(3)] == [
        True
    ] * 5 + [False]
    assert q.counts()[:3] == (10, 1, 3)


def test_sample_rate_is_respected_statistically() -> None:
    """sample with rate 0.5 admits about half of the INFO events above the mark."""
    q = _queue("sample", maxsize=100_000, sampling_rate=0.5, high_water=0.000_01)
    offer = _caller(q, INFO)
    admitted = sum(offer(_rec(i)) for i in range(20_000))
    assert 9_000 < admitted < 11_000
    enqueued, dropped, sampled_out, _, _ = q.counts()
    assert (enqueued, dropped, enqueued + sampled_out) == (admitted, 0, 20_000)


def test_block_times_out_and_counts_the_drop() -> None:
    """block: with no consumer, a call waits block_timeout then returns False (dropped)."""
    q = _queue("block", maxsize=2, block_timeout_s=0.1)
    offer = _caller(q, INFO)
    assert offer(_rec(0)) and offer(_rec(1))
    start = time.monotonic()
    assert offer(_rec(2)) is False
    assert time.monotonic() - start >= 0.09
    assert q.counts() == (2, 1, 0, 1, 2)


def test_block_zero_timeout_drops_without_waiting() -> None:
    """block with queue_block_timeout=0 never waits."""
    q = _queue("block", maxsize=1, block_timeout_s=0.0)
    offer = _caller(q, INFO)
    assert offer(_rec(0))
    assert offer(_rec(1)) is False
    assert q.counts()[1] == 1


def test_async_block_waits_without_blocking_the_loop() -> None:
    """aput on a full queue yields to the loop; room made by another task admits it."""
    q = _queue("block", maxsize=1, block_timeout_s=5.0)

    async def main() -> tuple[bool, list[str]]:
        order: list[str] = []
        assert await q.aput(_rec(0))

        async def consumer() -> None:
            order.append("consumer ran")
            await asyncio.sleep(0.01)
            q.give_back(len(q.take(1)))

        task = asyncio.create_task(consumer())
        result = await q.aput(_rec(1))
        order.append("admitted")
        await task
        return result, order

    result, order = asyncio.run(main())
    assert result is True
    assert order == ["consumer ran", "admitted"]
    assert q.counts() == (2, 0, 0, 1, 1)


def test_async_block_times_out() -> None:
    """aput gives up after block_timeout and counts the event as dropped."""
    q = _queue("block", maxsize=1, block_timeout_s=0.05)

    async def main() -> bool:
        await q.aput(_rec(0))
        return await q.aput(_rec(1))

    assert asyncio.run(main()) is False
    assert q.counts()[1] == 1


@pytest.mark.parametrize("overflow", ["drop", "block", "sample"])
def test_closed_queue_drops_everything(overflow: str) -> None:
    """After close() every offer (any strategy, any level) is counted as dropped."""
    q = _queue(overflow)
    q.close()
    assert _caller(q, INFO)(_rec(0)) is False
    assert _caller(q, ERROR)(_rec(1)) is False
    assert q.counts()[:3] == (0, 2, 0)
    q.give_back(len(q.take(5)))
    assert _caller(q, INFO)(_rec(2)) is False


def test_wake_fires_once_per_batch_worth_while_parked() -> None:
    """A parked worker is woken when the depth reaches wake_at, not on every event."""
    q = _queue("drop", maxsize=100)
    wakes: list[int] = []
    q.wake = lambda: wakes.append(len(q.items))
    q.parked = True
    offer = _caller(q, INFO)
    for i in range(20):
        offer(_rec(i))
    assert wakes == [4]


def test_async_waiters_do_not_pile_up_while_a_sink_stalls() -> None:
    """200 blocked ainfo() callers keep one registration each, however long they wait."""

    class Stall(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            time.sleep(0.6)
            super().write(lines)

    async def main() -> int:
        fapilog.configure_logging(
            sinks=(Stall(),),
            queue_overflow="block",
            queue_maxsize=2,
            queue_batch_size=1,
            queue_block_timeout=None,
        )
        pipeline = _lifecycle.current_pipeline()
        assert pipeline is not None
        tasks = [asyncio.create_task(fapilog.log.ainfo("x")) for _ in range(200)]
        await asyncio.sleep(0.4)
        most = len(pipeline.queue._sleepers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return most

    assert asyncio.run(main()) <= 200
