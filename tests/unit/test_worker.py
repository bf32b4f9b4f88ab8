"""The thread worker: a hostile value costs its record a fallback, never the worker."""

from __future__ import annotations

import fapilog
from fapilog.sinks import MemorySink


class ExitsOnRepr:
    """A value whose ``repr`` raises SystemExit (a BaseException, not an Exception)."""

    def __repr__(self) -> str:
        raise SystemExit(3)


def test_a_value_raising_system_exit_does_not_kill_the_thread_worker() -> None:
    """The thread worker survives a value whose ``repr`` raises SystemExit: that record is
    written with a fallback, and later events are still delivered."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,))
    assert fapilog.log.info("hostile", value=ExitsOnRepr())
    assert fapilog.flush(5)
    assert fapilog.log.info("after")
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["<unserializable record>", "after"]
    assert fapilog.stats().serialize_fallbacks >= 1
