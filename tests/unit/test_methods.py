"""The installed log methods (the hot path): what a call returns and counts, level gates, async
twins, hostile input, calls after shutdown, and methods captured before a reconfigure."""

from __future__ import annotations

import asyncio

import pytest

import fapilog
from fapilog.sinks import MemorySink


@pytest.fixture
def sink() -> MemorySink:
    memory = MemorySink(keep=100)
    fapilog.configure_logging(sinks=(memory,), level="INFO")
    return memory


def _records(sink: MemorySink) -> list[dict[str, object]]:
    assert fapilog.flush(5)
    return sink.records


def test_levels_below_the_threshold_are_not_attempts(sink: MemorySink) -> None:
    """debug() under INFO returns False and is not counted; info+ are enqueued."""
    log = fapilog.log
    assert log.debug("hidden") is False
    results = [log.info("i"), log.warning("w"), log.error("e"), log.critical("c")]
    assert results == [True] * 4
    assert [r["level"] for r in _records(sink)] == ["info", "warning", "error", "critical"]
    assert fapilog.stats().attempted == 4


def test_async_twins_log_the_same_records(sink: MemorySink) -> None:
    """ainfo/awarning/... and alog behave like their sync twins."""
    log = fapilog.log

    async def main() -> list[bool]:
        return [
            await log.adebug("no"),
            await log.ainfo("i", n=1),
            await log.awarning("w"),
            await log.aerror("e"),
            await log.acritical("c"),
            await log.alog("warning", "via alog"),
        ]

    assert asyncio.run(main()) == [False, True, True, True, True, True]
    events = [(r["level"], r["event"]) for r in _records(sink)]
    assert events == [
        ("info", "i"),
        ("warning", "w"),
        ("error", "e"),
        ("critical", "c"),
        ("warning", "via alog"),
    ]


def test_bad_input_never_raises(sink: MemorySink) -> None:
    """Unserializable, huge and odd values, and a non-string event, are logged, not raised."""

    class Weird:
        def __repr__(self) -> str:
            raise ValueError("nope")

    log = fapilog.log
    assert log.info(12345, obj=object(), weird=Weird(), blob=b"\x00\xff", big="z" * 2_000_000)
    assert log.info(None, nested={1: {2: {3: float("inf")}}})
    assert log.info("set", s={1, 2, 3})
    records = _records(sink)
    assert [r["event"] for r in records] == [12345, None, "set"]
    assert records[0]["weird"] == "<unrepresentable Weird>"
    assert fapilog.stats().serialize_fallbacks >= 3


def test_level_override_and_reconfigure_rebinds_methods() -> None:
    """Reconfiguring the level changes which methods are live, for existing loggers too."""
    sink = MemorySink(keep=10)
    named = fapilog.get_logger("x")
    fapilog.configure_logging(sinks=(sink,), level="ERROR")
    assert named.warning("w") is False
    fapilog.configure_logging(sinks=(sink,), level="DEBUG")
    assert named.debug("d") is True
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["d"]


def test_logging_after_shutdown_is_counted_as_dropped() -> None:
    """After shutdown a call returns False and counts as dropped; the invariant still holds."""
    fapilog.configure_logging(sinks=("null",))
    fapilog.log.info("before")
    first = fapilog.shutdown()
    assert fapilog.log.info("after") is False
    later = fapilog.stats()
    assert later.dropped == first.dropped + 1
    assert later.attempted == later.enqueued + later.dropped + later.sampled_out
    assert later.enqueued == later.delivered + later.failed + later.lost


def test_a_captured_log_method_reaches_the_current_pipeline() -> None:
    """``info = log.info`` captured before a reconfigure (or handed to a library as a callback)
    goes on working: its calls reach the new pipeline, through that pipeline's level gate, and
    are counted there."""
    first = MemorySink()
    fapilog.configure_logging(sinks=(first,))
    info, debug, warning = fapilog.log.info, fapilog.log.debug, fapilog.log.warning
    second = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(second,), level="WARNING")
    assert info("stale info") is False  # below the new pipeline's level: not an attempt
    assert debug("stale debug") is False
    assert warning("stale warning") is True
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert (stats.attempted, stats.delivered) == (1, 1)
    assert [r["event"] for r in second.records] == ["stale warning"]

    fapilog.configure_logging(sinks=(second,), level="INFO")
    assert info("stale info again") is True
    assert fapilog.flush(5)
    assert second.records[-1]["event"] == "stale info again"


def test_a_method_captured_before_shutdown_reaches_the_next_pipeline() -> None:
    """A method captured before ``shutdown()`` reaches the pipeline configured after it."""
    fapilog.configure_logging(sinks=("memory",))
    info = fapilog.log.info
    fapilog.shutdown()
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    assert info("after shutdown and configure") is True
    assert fapilog.flush(5) and sink.count == 1
