"""PipelineStats: an immutable snapshot that does not move when the pipeline does."""

from __future__ import annotations

import dataclasses

import pytest

import fapilog
from fapilog.sinks import MemorySink


def test_stats_is_a_snapshot_that_later_calls_do_not_change() -> None:
    """A PipelineStats taken earlier keeps its numbers while the pipeline goes on counting,
    and cannot be changed by its holder."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    fapilog.log.info("one")
    assert fapilog.flush(5)
    earlier = fapilog.stats()
    fapilog.log.info("two")
    assert fapilog.flush(5)
    later = fapilog.stats()
    assert (earlier.attempted, earlier.delivered, earlier.sinks[0].delivered) == (1, 1, 1)
    assert (later.attempted, later.delivered, later.sinks[0].delivered) == (2, 2, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        earlier.delivered = 5  # type: ignore[misc]


def test_before_any_configure_every_count_is_zero() -> None:
    """stats() with no pipeline is the all-zero PipelineStats, with no sinks."""
    stats = fapilog.stats()
    assert stats == fapilog.PipelineStats()
    assert all(value == 0 for value in dataclasses.astuple(stats)[:-1]) and stats.sinks == ()
