"""The Sink protocol: what makes an object a sink, the label it is counted under, and the
PartialWrite hook that keeps written lines from being written twice."""

from __future__ import annotations

import json
from collections.abc import Sequence

import fapilog
from fapilog.sinks import MemorySink, PartialWrite, Sink


class _Plain:
    """A sink written from scratch: three methods, no base class, no name."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, lines: Sequence[bytes]) -> None:
        self.lines.extend(lines)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Named(_Plain):
    name = "audit"


class _EmptyName(_Plain):
    name = ""


def test_any_object_with_write_flush_close_is_a_sink_counted_under_its_name() -> None:
    """No base class needed: write/flush/close make a Sink; its statistics carry its ``name``,
    or its class name when it has none (or an empty one)."""
    sinks = (_Plain(), _Named(), _EmptyName())
    assert all(isinstance(sink, Sink) for sink in sinks)
    fapilog.configure_logging(sinks=sinks)
    assert fapilog.log.info("one")
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert [s.name for s in stats.sinks] == ["_Plain", "audit", "_EmptyName"]
    assert [s.delivered for s in stats.sinks] == [1, 1, 1]
    assert all(json.loads(sink.lines[0])["event"] == "one" for sink in sinks)


def test_a_partial_write_keeps_the_written_lines_and_retries_only_the_rest() -> None:
    """A sink whose first write stops after all but one line of its batch and raises
    ``PartialWrite(n)``: those n lines count as delivered and are not offered again; only the
    rest is retried, so every event arrives exactly once."""

    class CutShort(MemorySink):
        def __init__(self) -> None:
            super().__init__(keep=100)
            self.cut = False

        def write(self, lines: Sequence[bytes]) -> None:
            if not self.cut:
                self.cut = True
                written = len(lines) - 1
                super().write(lines[:written])
                raise PartialWrite(written) from OSError(28, "No space left on device")
            super().write(lines)

    sink = CutShort()
    fapilog.configure_logging(sinks=(sink,), queue_batch_size=5)
    for i in range(5):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(5)
    assert sorted(r["i"] for r in sink.records) == [0, 1, 2, 3, 4]
    assert (final.delivered, final.failed, final.sinks[0].errors) == (5, 0, 1)
