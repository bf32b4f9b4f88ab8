"""``fapilog.sinks``: its ``__all__`` is exactly the sink API, sorted, and every name resolves."""

from __future__ import annotations

import fapilog.sinks


def test_public_names_are_exactly_all() -> None:
    """The protocol, its PartialWrite hook, the shipped sinks and the URI factory: no more, no
    less, in sorted order, each importable from ``fapilog.sinks``."""
    expected = [
        "FileSink",
        "MemorySink",
        "NullSink",
        "PartialWrite",
        "Sink",
        "StderrSink",
        "StdoutSink",
        "sink_from_uri",
    ]
    assert fapilog.sinks.__all__ == expected
    for name in expected:
        assert getattr(fapilog.sinks, name).__module__.startswith("fapilog.sinks.")
