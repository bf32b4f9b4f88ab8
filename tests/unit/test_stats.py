"""``PipelineStats``: an immutable snapshot that does not move when the pipeline does; the peak
names, and the deprecated high-water-mark names that still read."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

import fapilog
from fapilog import PipelineStats
from fapilog._stats import RENAMED_FIELDS
from fapilog.sinks import MemorySink


def busy_snapshot() -> PipelineStats:
    """A snapshot whose peaks are not zero: 20 large events (estimated size >= 1 KiB, charged
    against ``queue_max_bytes`` once the worker has seen a first one)."""
    fapilog.configure_logging(sinks=(MemorySink(),), queue_batch_size=1)
    fapilog.log.info("first large event", body="x" * 2_000)
    assert fapilog.flush(5)
    for i in range(20):
        fapilog.log.info("e", i=i, body="x" * 2_000)
    assert fapilog.flush(5)
    return fapilog.stats()


def test_peaks_are_read_under_their_new_names() -> None:
    """queue_depth_peak and queue_bytes_peak carry the deepest depth and largest byte charge."""
    stats = busy_snapshot()
    assert 1 <= stats.queue_depth_peak <= 20
    assert stats.queue_bytes_peak >= 2_000
    assert stats.queue_bytes == 0  # written: the charge came back, the peak stays


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_FIELDS.items()))
def test_old_names_read_the_same_value_with_a_deprecation_warning(old: str, new: str) -> None:
    """The old attribute returns the new one's value and warns, naming the new name, at the
    line that read it (so the warning points into the user's code, not fapilog's)."""
    stats = busy_snapshot()
    with pytest.warns(DeprecationWarning, match=f"PipelineStats.{old} is deprecated") as seen:
        value = getattr(stats, old)
    assert value == getattr(stats, new) > 0
    assert f"use {new}" in str(seen[0].message)
    assert seen[0].filename == __file__


def test_new_names_do_not_warn() -> None:
    """Reading the new names, and building a snapshot with them, raises no warning at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = PipelineStats(queue_depth_peak=3, queue_bytes_peak=4096)
        assert (stats.queue_depth_peak, stats.queue_bytes_peak) == (3, 4096)


def test_constructor_takes_the_old_keywords_with_a_deprecation_warning() -> None:
    """PipelineStats(queue_high_water_mark=...) as a test might build one: it still works, with
    a warning pointing at the call, and sets the new field."""
    with pytest.warns(DeprecationWarning, match=r"high_water_mark=\.\.\.\) is deprecated") as seen:
        stats = PipelineStats(queue_high_water_mark=7, queue_bytes_high_water_mark=9)
    assert [w.filename for w in seen] == [__file__, __file__]
    assert stats == PipelineStats(queue_depth_peak=7, queue_bytes_peak=9)


def test_old_and_new_keyword_together_are_refused() -> None:
    """Both names at once is ambiguous: a TypeError naming both. dataclasses.replace passes
    every field by its new name, so replace() takes the new names only."""
    with pytest.raises(TypeError, match="both 'queue_depth_peak' and its deprecated name"):
        PipelineStats(queue_depth_peak=1, queue_high_water_mark=2)
    with pytest.raises(TypeError, match="both 'queue_bytes_peak' and its deprecated name"):
        dataclasses.replace(PipelineStats(), queue_bytes_high_water_mark=2)
    assert dataclasses.replace(PipelineStats(), queue_depth_peak=5).queue_depth_peak == 5


def test_fields_asdict_and_repr_use_the_new_names_only() -> None:
    """The record itself knows only the new names: fields(), asdict(), repr(), match_args."""
    stats = PipelineStats(queue_depth_peak=3, queue_bytes_peak=4096)
    names = [field.name for field in dataclasses.fields(stats)]
    for old, new in RENAMED_FIELDS.items():
        assert new in names and old not in names
        assert new in dataclasses.asdict(stats) and old not in dataclasses.asdict(stats)
        assert f"{new}=" in repr(stats) and old not in repr(stats)
        assert new in PipelineStats.__match_args__


def test_old_names_cannot_be_assigned() -> None:
    """The snapshot stays read-only under its old names too (a frozen, slotted dataclass)."""
    stats = PipelineStats()
    with pytest.raises((AttributeError, TypeError)):
        stats.queue_high_water_mark = 1  # type: ignore[misc]


def test_the_shutdown_drain_does_not_raise_the_depth_peak() -> None:
    """Draining 1 event at shutdown leaves the peak at what the queue really held (at most 6
    here), not at queue_maxsize; the load test reports this final snapshot's peak."""
    fapilog.configure_logging(sinks=(MemorySink(),), queue_maxsize=1000)
    for _ in range(5):
        fapilog.log.info("e")
    assert fapilog.flush(5)
    assert 1 <= fapilog.stats().queue_depth_peak <= 5
    fapilog.log.info("e")
    assert fapilog.shutdown(5).queue_depth_peak <= 6


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


def test_the_depth_peak_after_shutdown_covers_what_was_queued_when_it_closed() -> None:
    """500 events queued, never taken before the shutdown (batch 1000, flush interval 10 s):
    the final snapshot's peak is at least those 500 (the close records the depth it had)."""
    fapilog.configure_logging(
        sinks=(MemorySink(),), queue_batch_size=1000, queue_flush_interval=10.0, queue_maxsize=2000
    )
    for i in range(500):
        fapilog.log.info("x", i=i)
    final = fapilog.shutdown(5)
    assert final.delivered == 500
    assert 500 <= final.queue_depth_peak <= 2000 - 1
