"""``fapilog.loadtest.paced_window``: exact call counts, the waited/non-blocking split, fields."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest

import fapilog
from fapilog.loadtest import PacedWindow, paced_window
from fapilog.loadtest._window import (
    PAYLOAD_SPREAD,
    RENAMED_FIELDS,
    WARNING_EVERY,
    _payload,
    payload_source,
)
from fapilog.sinks import MemorySink


def expected_warnings(total_calls: int, producers: int) -> int:
    """Warnings in the documented mix: call ``seq`` of producer p when (seq + p) % 100 == 0."""
    share, extra = divmod(total_calls, producers)
    return sum(
        1
        for p in range(producers)
        for seq in range(share + (1 if p < extra else 0))
        if (seq + p) % WARNING_EVERY == 0
    )


async def measure(
    sink: MemorySink,
    total: int,
    total_rate: float,
    *,
    concurrency: int = 3,
    threads: int = 0,
    **settings: Any,
) -> tuple[PacedWindow, fapilog.PipelineStats]:
    fapilog.configure_logging(sinks=(sink,), **settings)
    window = await paced_window(
        total,
        total_rate,
        concurrency,
        blocking=settings.get("queue_overflow") == "block",
        threads=threads,
    )
    return window, await fapilog.ashutdown()


@pytest.mark.parametrize("threads", [0, 2])
def test_issues_exactly_total_calls_through_the_current_pipeline(threads: int) -> None:
    """Every call is issued and counted once: the window's counts equal the pipeline's."""
    sink = MemorySink()
    window, stats = asyncio.run(measure(sink, 601, 6000.0, threads=threads))
    assert window.calls == 601 == stats.attempted
    assert window.calls_enqueued == stats.enqueued == sink.count == 601
    assert window.histogram.count == window.non_blocking.count == 601
    assert window.waited_calls == window.waited.count == 0
    assert window.total_latency_ns == window.histogram.total_ns > 0
    assert window.warnings == window.warnings_enqueued == expected_warnings(601, 3 + threads)
    assert window.offered_total_rate == 6000.0
    assert window.achieved_total_rate == pytest.approx(601 / window.elapsed_s)


def test_never_sends_ahead_of_the_schedule() -> None:
    """Open loop, absolute schedule: the last of N calls at total rate R cannot go before
    (N-1)/R."""
    window, _ = asyncio.run(measure(MemorySink(), 200, 1000.0, concurrency=4))
    assert window.elapsed_s >= 199 / 1000.0


def test_records_carry_the_documented_fields() -> None:
    """Each call logs a structured event with a handful of fields, INFO with some WARNING."""
    sink = MemorySink(keep=1000)
    asyncio.run(measure(sink, 300, 10_000.0, concurrency=2))
    records = sink.records
    assert len(records) == 300
    assert {r["event"] for r in records} == {"loadtest.request"}
    assert {r["level"] for r in records} == {"info", "warning"}
    assert sum(r["level"] == "warning" for r in records) == expected_warnings(300, 2)
    assert {"producer", "seq", "route", "status", "timestamp"} <= set(records[0])
    assert sorted((r["producer"], r["seq"]) for r in records) == sorted(
        [(0, seq) for seq in range(150)] + [(1, seq) for seq in range(150)]
    )


def test_block_calls_that_waited_are_classified_exactly() -> None:
    """With asyncio producers only, "waited" calls are exactly the queue's block_waits."""
    sink = MemorySink(delay=0.01)
    window, stats = asyncio.run(
        measure(
            sink,
            600,
            6000.0,
            queue_overflow="block",
            queue_maxsize=20,
            queue_batch_size=10,
            queue_block_timeout=None,
        )
    )
    assert stats.block_waits > 0
    assert window.waited_calls == window.waited.count == stats.block_waits
    assert window.non_blocking.count == 600 - stats.block_waits
    assert window.calls_enqueued == sink.count == 600
    assert stats.dropped == 0
    # a call that waited for a 10 ms batch is slower than any that did not
    assert window.waited.mean_ns > window.non_blocking.mean_ns


def test_drop_rejects_and_counts_when_full() -> None:
    """Under drop with a stalled sink, rejected calls are the pipeline's drops."""
    sink = MemorySink(delay=0.05)
    window, stats = asyncio.run(measure(sink, 400, 8000.0, queue_maxsize=20, queue_batch_size=10))
    assert stats.dropped > 0
    assert window.calls - window.calls_enqueued == stats.dropped
    assert window.waited_calls == 0


def test_result_is_frozen() -> None:
    """PacedWindow is an immutable record the benchmark matrix can keep."""
    window, _ = asyncio.run(measure(MemorySink(), 10, 1000.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.calls = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((-1, 100.0), {}), ((10, 0.0), {}), ((10, 100.0, 0), {}), ((10, 100.0), {"threads": -1})],
)
def test_bad_arguments_are_rejected(args: tuple[float, ...], kwargs: dict[str, int]) -> None:
    """Negative counts, a zero total rate or no producers are programming errors."""
    fapilog.configure_logging(sinks=(MemorySink(),))
    with pytest.raises(ValueError, match="must be"):
        asyncio.run(paced_window(*args, **kwargs))  # type: ignore[arg-type]


def test_needs_a_configured_pipeline() -> None:
    """Without a pipeline there is nothing to measure: a clear error, not a silent autoconfigure."""
    assert fapilog.stats() == fapilog.PipelineStats()  # the autouse fixture left no pipeline
    with pytest.raises(RuntimeError, match="configure_logging"):
        asyncio.run(paced_window(10, 100.0))


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_FIELDS.items()))
def test_old_field_names_still_read_with_a_deprecation_warning(old: str, new: str) -> None:
    """accepted, warnings_accepted, offered_rate, achieved_rate: same value as the new name, and
    a DeprecationWarning naming the new one that points at the reading line."""
    window, _ = asyncio.run(measure(MemorySink(), 200, 10_000.0))
    with pytest.warns(
        DeprecationWarning, match=f"PacedWindow.{old} is deprecated.*use {new}"
    ) as seen:
        value = getattr(window, old)
    assert value == getattr(window, new)
    assert seen[0].filename == __file__


def test_old_field_names_are_not_in_the_record() -> None:
    """fields(), asdict() and repr() use the new names only."""
    window, _ = asyncio.run(measure(MemorySink(), 10, 1000.0))
    names = {f.name for f in dataclasses.fields(window)}
    assert set(RENAMED_FIELDS.values()) <= names
    assert names.isdisjoint(RENAMED_FIELDS)
    assert "calls_enqueued=10" in repr(window) and "accepted" not in repr(window)


def test_constructor_takes_an_old_keyword_with_a_deprecation_warning() -> None:
    """PacedWindow(accepted=...) still builds (warning); passing old and new name is an error."""
    window, _ = asyncio.run(measure(MemorySink(), 10, 1000.0))
    values = {f.name: getattr(window, f.name) for f in dataclasses.fields(window)}
    values["accepted"] = values.pop("calls_enqueued")
    with pytest.deprecated_call(match="PacedWindow\\(accepted=...\\) is deprecated"):
        rebuilt = PacedWindow(**values)
    assert rebuilt == window
    with pytest.raises(TypeError, match="both 'calls_enqueued' and its deprecated name"):
        PacedWindow(**values, calls_enqueued=10)


def test_rate_keyword_is_the_deprecated_name_of_total_rate() -> None:
    """paced_window(n, rate=R) still offers R calls/s in total, with a DeprecationWarning."""
    fapilog.configure_logging(sinks=(MemorySink(),))
    with pytest.deprecated_call(match="paced_window\\(rate=...\\) is deprecated.*total_rate="):
        window = asyncio.run(paced_window(20, rate=2000.0, concurrency=2))
    assert window.offered_total_rate == 2000.0
    assert window.calls == 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total_rate": 100.0, "rate": 100.0}, "both 'total_rate' and its deprecated name 'rate'"),
        ({}, "missing required argument: 'total_rate'"),
    ],
)
def test_total_rate_is_required_once(kwargs: dict[str, float], message: str) -> None:
    """Neither total_rate nor rate, or both, is a TypeError naming total_rate."""
    fapilog.configure_logging(sinks=(MemorySink(),))
    with pytest.raises(TypeError, match=re.escape(message)):
        asyncio.run(paced_window(10, **kwargs))


def test_each_payload_is_a_fresh_string_of_exactly_n_characters() -> None:
    """Consecutive calls get distinct str objects of N characters, differing in content."""
    n = 100_000
    source = payload_source(n)
    assert len(source) == n + PAYLOAD_SPREAD
    first, second = _payload(source, n, 0), _payload(source, n, 1)
    assert len(first) == len(second) == n
    assert first is not second and first is not source
    assert first != second
    assert _payload(source, n, PAYLOAD_SPREAD) == first  # content repeats, the object does not
    assert _payload(source, n, PAYLOAD_SPREAD) is not first


@pytest.mark.timeout(30)
def test_paced_window_sends_the_payload_field_on_every_call() -> None:
    """With payload_bytes every event carries 'payload' of that length; without it, none."""

    async def scenario(payload_bytes: int) -> list[dict[str, object]]:
        sink = MemorySink(keep=100)
        fapilog.configure_logging(sinks=(sink,))
        await paced_window(40, 2000.0, 2, payload_bytes=payload_bytes)
        await fapilog.ashutdown()
        return sink.records

    records = asyncio.run(scenario(3000))
    assert len(records) == 40
    assert all(len(str(r["payload"])) == 3000 for r in records)
    assert len({str(r["payload"])[:50] for r in records}) > 1
    assert all("payload" not in r for r in asyncio.run(scenario(0)))


def test_paced_window_rejects_a_negative_payload() -> None:
    """payload_bytes < 0 is a programming error, refused before any call."""
    with pytest.raises(ValueError, match="payload_bytes"):
        asyncio.run(paced_window(1, 10.0, payload_bytes=-1))
