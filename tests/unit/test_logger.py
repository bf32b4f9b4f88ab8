"""Logger API: bind, named loggers, exception(), log(level) with any level."""

from __future__ import annotations

import pytest

import fapilog
from fapilog.sinks import MemorySink
from tests.conftest import flushed_records


def test_bind_and_named_loggers_add_fields(sink: MemorySink) -> None:
    """get_logger(name) adds 'logger'; bind() adds fields without changing the parent."""
    base = fapilog.get_logger("api")
    child = base.bind(user="u1")
    child.info("child", extra=1)
    base.info("base")
    first, second = flushed_records(sink)
    assert first == {**first, "logger": "api", "user": "u1", "extra": 1, "event": "child"}
    assert "user" not in second


def test_exception_captures_the_traceback(sink: MemorySink) -> None:
    """exception() logs at error level with the formatted traceback of the active exception."""
    try:
        raise KeyError("missing")
    except KeyError:
        assert fapilog.log.exception("failed", op="lookup")
    (record,) = flushed_records(sink)
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
    levels = [(r["level"], r["event"]) for r in flushed_records(sink)]
    assert levels == [
        ("error", "by name"),
        ("warning", "by number"),
        ("info", "between levels"),
        ("chatty", "unknown"),
    ]


@pytest.mark.parametrize("level", ["--5", "²", "5" * 5000, "-10", object()])
def test_odd_levels_never_raise(level: object) -> None:
    """log() with a level it cannot parse logs at INFO under that name instead of raising."""

    class NoStr:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    sink = MemorySink(keep=2)
    fapilog.configure_logging(sinks=(sink,))
    assert fapilog.log.log(level, "odd")
    assert fapilog.log.log(NoStr(), "no str")  # type: ignore[arg-type]
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["odd", "no str"]
