"""The queue's byte budget and memory with real payloads: megabyte events into a slow sink,
the budget under drop/block/sample, a huge queue that costs nothing up front."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest

import fapilog
from fapilog.sinks import MemorySink
from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(120)

_PAYLOADS_INTO_A_SLOW_SINK = """
import json, resource
import fapilog
from fapilog.sinks import MemorySink

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

sink = MemorySink(delay=0.02)
settings = dict(sinks=(sink,), queue_maxsize=10_000, queue_batch_size=16,
                queue_overflow=STRATEGY, queue_block_timeout=None)
if BUDGET is not None:
    settings["queue_max_bytes"] = BUDGET
fapilog.configure_logging(**settings)
before = peak_mb()
results = [fapilog.log.info("payload", i=i, body="x" * SIZE) for i in range(COUNT)]
final = fapilog.shutdown(60)
print(json.dumps({"growth_mb": peak_mb() - before, "accepted": sum(results),
                  "dropped": final.dropped, "delivered": final.delivered, "sink": sink.count}))
"""


def _run(strategy: str, size: int, count: int, budget: str | None) -> dict[str, float]:
    code = f"STRATEGY = {strategy!r}\nSIZE = {size}\nCOUNT = {count}\nBUDGET = {budget!r}\n"
    child = run_child(code + _PAYLOADS_INTO_A_SLOW_SINK, timeout=100)
    assert child.returncode == 0, child.stderr
    result: dict[str, float] = json.loads(child.stdout)
    return result


def test_one_megabyte_payloads_stay_within_the_budget_under_drop() -> None:
    """1,000 events with a fresh 1 MB field into a slow sink: with the default 64 MiB budget
    the process grows by well under 1,000 MB (at 861a157 it held every payload), and what did
    not fit is counted as dropped."""
    out = _run("drop", 1_000_000, 1_000, None)
    assert out["growth_mb"] < 300
    assert out["dropped"] > 0
    assert out["accepted"] + out["dropped"] == 1_000
    assert out["delivered"] == out["sink"] == out["accepted"]


def test_ten_megabyte_payloads_wait_for_the_budget_under_block() -> None:
    """Under ``block``, 100 events with a fresh 10 MB field and a 32 MiB budget wait for room
    instead of piling up: every event is delivered and the process grows by the budget plus the
    documented first-occurrence window (up to one batch, 16 events here, before the first large
    one is seen, and a batch held twice while it is serialized) — about 300 MB, not the 1,000 MB
    of payloads."""
    out = _run("block", 10_000_000, 100, "32MiB")
    assert out["accepted"] == out["delivered"] == out["sink"] == 100
    assert out["dropped"] == 0
    assert out["growth_mb"] < 450


def test_an_event_larger_than_the_whole_budget_is_dropped_and_counted() -> None:
    """Once fapilog charges sizes (from the first large event it sees on), a single event
    bigger than ``queue_max_bytes`` is never admitted, whatever the strategy (``block`` does not
    wait for what can never fit): dropped, counted, the call returns False."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,), queue_overflow="block", queue_max_bytes="1MiB")
    assert fapilog.log.info("fine", body="x" * 500_000) is True
    assert fapilog.flush(5)  # the worker has seen a large event: sizes are charged from now on
    assert fapilog.log.info("huge", body="x" * 2_000_000) is False
    assert fapilog.log.info("fine again", body="x" * 500_000) is True
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert (stats.dropped, stats.dropped_too_large, stats.delivered) == (1, 1, 2)
    assert sink.count == 2


def test_sample_keeps_the_last_part_of_the_budget_for_warnings() -> None:
    """Under ``sample``, sub-WARNING large events may fill the budget only up to
    ``queue_high_water``; WARNING and above may use the rest (errors are kept first)."""
    hold = MemorySink(delay=1.0)  # holds each batch a second: nothing is released meanwhile
    fapilog.configure_logging(
        sinks=(hold,),
        queue_overflow="sample",
        queue_max_bytes=100_000,
        queue_high_water=0.5,
        queue_batch_size=1,
    )
    fapilog.log.warning("first large event", body="x" * 5_000)
    assert fapilog.flush(5)  # seen: sizes are charged from now on
    infos = [fapilog.log.info("i", body="x" * 9_999) for _ in range(10)]  # 10,000 each
    warnings = [fapilog.log.warning("w", body="x" * 9_999) for _ in range(10)]
    assert sum(infos) == 5  # 5 × 10 kB = the half of 100 kB below the high water
    assert sum(warnings) == 5  # the other half
    stats = fapilog.stats()
    assert (stats.sampled_out, stats.dropped) == (5, 5)  # infos sampled out, warnings dropped
    assert stats.queue_bytes_peak == 100_000
    fapilog.shutdown(0.1)


def test_a_large_event_charge_is_given_back_when_written() -> None:
    """The bytes charged for large events come back when the sinks are done: after a flush the
    whole budget is usable again, many times over."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,), queue_max_bytes=50_000, queue_overflow="block")
    for _ in range(200):
        assert fapilog.log.info("e", body="y" * 20_000)
    assert fapilog.flush(10)
    assert sink.count == 200 and fapilog.stats().dropped == 0


def test_a_cancelled_wait_gives_its_charge_back() -> None:
    """Under ``block``, awaitable calls cancelled while they wait for room (a client that went
    away) give back the bytes they were charged: the budget counts only what is really held."""

    big = "x" * 65_536

    async def main() -> tuple[int, int]:
        fapilog.configure_logging(
            sinks=(MemorySink(delay=0.3),),
            queue_overflow="block",
            queue_maxsize=4,
            queue_batch_size=1,
            queue_max_bytes=1 << 20,
        )
        fapilog.log.info(big)
        await asyncio.sleep(0.1)  # the worker has seen a large event: sizes are charged
        tasks = [asyncio.create_task(fapilog.log.ainfo(big)) for _ in range(12)]
        await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats = fapilog.stats()
        held = stats.enqueued - stats.delivered - stats.failed
        return stats.queue_bytes, held * (len(big) + 1)  # the event "x" counts 1 too

    charged, really_held = asyncio.run(main())
    assert charged <= really_held


def test_a_huge_queue_costs_no_memory_before_events_exist() -> None:
    """``queue_maxsize`` at its upper bound (10 million) allocates next to nothing at configure
    time: slot tokens are made as the queue fills (at 861a157, 10**8 took 730 MB up front)."""
    tracemalloc.start()
    try:
        fapilog.configure_logging(sinks=("null",), queue_maxsize=10_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert sum(fapilog.log.info("e", i=i) for i in range(10_000)) == 10_000
