"""Logger API: levels, bind, context, exception(), log(level), the public surface."""

from __future__ import annotations

import asyncio
import subprocess
import sys

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


def test_public_names_are_exactly_all() -> None:
    """fapilog's __all__ is exactly the documented public API, and each name resolves."""
    assert sorted(fapilog.__all__) == sorted(
        [
            "ConfigError",
            "Logger",
            "LoggingSettings",
            "PipelineStats",
            "SinkStats",
            "__version__",
            "aflush",
            "ashutdown",
            "bind_context",
            "clear_context",
            "configure_logging",
            "context",
            "flush",
            "get_context",
            "get_logger",
            "log",
            "reset_context",
            "shutdown",
            "stats",
            "unbind_context",
        ]
    )
    for name in fapilog.__all__:
        assert getattr(fapilog, name) is not None
    with pytest.raises(AttributeError):
        fapilog.no_such_thing  # noqa: B018


def test_import_is_cheap_and_asyncio_free() -> None:
    """`import fapilog` imports neither asyncio nor the pipeline modules."""
    heavy = ("asyncio", "json", "fapilog._lifecycle", "fapilog._pipeline", "dataclasses")
    code = f"import sys, fapilog; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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


def test_bind_and_named_loggers_add_fields(sink: MemorySink) -> None:
    """get_logger(name) adds 'logger'; bind() adds fields without changing the parent."""
    base = fapilog.get_logger("api")
    child = base.bind(user="u1")
    child.info("child", extra=1)
    base.info("base")
    first, second = _records(sink)
    assert first == {**first, "logger": "api", "user": "u1", "extra": 1, "event": "child"}
    assert "user" not in second


def test_context_is_merged_and_isolated_per_task(sink: MemorySink) -> None:
    """bind_context fields reach records from that task only; unbind/clear remove them."""

    async def worker(name: str) -> None:
        fapilog.bind_context(request=name)
        await asyncio.sleep(0)
        fapilog.log.info("in task")

    async def main() -> None:
        await asyncio.gather(worker("a"), worker("b"))

    asyncio.run(main())
    fapilog.bind_context(a=1, b=2)
    assert dict(fapilog.get_context()) == {"a": 1, "b": 2}
    fapilog.unbind_context("a", "missing")
    fapilog.log.info("after unbind")
    fapilog.clear_context()
    fapilog.log.info("after clear")
    records = _records(sink)
    assert sorted(r["request"] for r in records[:2]) == ["a", "b"]
    assert records[2]["b"] == 2 and "a" not in records[2]
    assert "b" not in records[3]


def test_exception_captures_the_traceback(sink: MemorySink) -> None:
    """exception() logs at error level with the formatted traceback of the active exception."""
    try:
        raise KeyError("missing")
    except KeyError:
        assert fapilog.log.exception("failed", op="lookup")
    (record,) = _records(sink)
    assert record["level"] == "error"
    assert "KeyError: 'missing'" in str(record["exception"])
    assert "Traceback" in str(record["exception"])


def test_log_accepts_names_numbers_and_unknown_levels(sink: MemorySink) -> None:
    """log() takes a name or number; an unknown level is kept (as INFO with its own name)."""
    log = fapilog.log
    assert log.log("ERROR", "by name")
    assert log.log(30, "by number")
    assert log.log(25, "between levels")
    assert log.log(5, "below debug") is False
    assert log.log("chatty", "unknown")
    levels = [(r["level"], r["event"]) for r in _records(sink)]
    assert levels == [
        ("error", "by name"),
        ("warning", "by number"),
        ("info", "between levels"),
        ("chatty", "unknown"),
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


def test_double_shutdown_is_safe() -> None:
    """A second shutdown returns the same final counts and raises nothing."""
    fapilog.configure_logging(sinks=("null",))
    for i in range(100):
        fapilog.log.info("e", i=i)
    first = fapilog.shutdown()
    assert first.delivered == 100
    assert fapilog.shutdown() == first
