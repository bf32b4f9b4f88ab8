"""SinkWriter (one writer per sink): a sink's failure, even a BaseException, is the sink's."""

from __future__ import annotations

from collections.abc import Sequence

import fapilog
from fapilog.sinks import MemorySink


def test_sink_raising_system_exit_does_not_kill_the_worker() -> None:
    """Even a BaseException from a sink is a sink failure; the worker goes on."""

    class Exits(MemorySink):
        name = "exits"

        def write(self, lines: Sequence[bytes]) -> None:
            raise SystemExit(3)

    good = MemorySink()
    fapilog.configure_logging(sinks=(Exits(), good), queue_overflow="block")
    for i in range(100):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=10)
    assert good.count == 100
    assert final.failed == 100
