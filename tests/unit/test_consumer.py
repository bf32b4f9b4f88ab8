"""The consumer: serializing a batch, one bad record never costs the others."""

from __future__ import annotations

import fapilog
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
