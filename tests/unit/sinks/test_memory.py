"""MemorySink: the debug sink counts what it gets and keeps the last records."""

from __future__ import annotations

import pytest

from fapilog.sinks import MemorySink


def test_memory_sink_counts_and_keeps_the_last_records() -> None:
    """MemorySink counts every event and keeps only the last `keep`, parsed."""
    sink = MemorySink(keep=2)
    sink.write([b'{"n":1}\n', b'{"n":2}\n', b'{"n":3}\n'])
    sink.write([b'{"n":4}\n'])
    assert (sink.count, sink.batches) == (4, 2)
    assert sink.records == [{"n": 3}, {"n": 4}]


@pytest.mark.parametrize(("keep", "delay"), [(-1, 0.0), (0, -1.0), (1.5, 0.0), (0, float("nan"))])
def test_memory_sink_rejects_bad_arguments(keep: object, delay: object) -> None:
    """Bad keep/delay raise ValueError naming the argument."""
    with pytest.raises(ValueError, match="MemorySink"):
        MemorySink(keep=keep, delay=delay)  # type: ignore[arg-type]
