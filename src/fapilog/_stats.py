"""``PipelineStats``: an immutable snapshot of every count the pipeline keeps."""

from __future__ import annotations

from dataclasses import dataclass

from fapilog._deprecation import accept_renamed_keywords, warn_renamed

#: Renamed fields (old -> new): the old names still read for this release, with a
#: DeprecationWarning, and the constructor still takes them as keywords.
RENAMED_FIELDS = {
    "queue_high_water_mark": "queue_depth_peak",
    "queue_bytes_high_water_mark": "queue_bytes_peak",
}


@dataclass(frozen=True, slots=True)
class SinkStats:
    """One sink's share of the work."""

    name: str
    #: Events this sink took.
    delivered: int = 0
    #: Events this sink did not take: refused after its retries (or while resting after a
    #: failure), written off while stalled, or still in its hands when shutdown gave up.
    failed: int = 0
    #: Exceptions this sink raised (each attempt counts).
    errors: int = 0
    #: True while a write of this sink has not returned within ``sink_timeout``: its events are
    #: counted as failed until the write returns (a health check can alert on it).
    stalled: bool = False


@accept_renamed_keywords("PipelineStats", RENAMED_FIELDS)
@dataclass(frozen=True, slots=True)
class PipelineStats:
    """Counts since the pipeline was configured.

    With no call in flight: ``attempted == enqueued + dropped + sampled_out``. After shutdown:
    ``enqueued == delivered + failed + lost``. Level-filtered calls are not attempts.
    """

    #: Log calls that reached the queue (enabled level).
    attempted: int = 0
    #: Events admitted onto the queue.
    enqueued: int = 0
    #: Events rejected: queue full (``drop``, ``sample``), block timeout, or after shutdown.
    dropped: int = 0
    #: ``sample`` only: sub-WARNING events not enqueued at or above the high water
    #: (``queue_high_water``).
    sampled_out: int = 0
    #: Events every sink took.
    delivered: int = 0
    #: Events some sink refused after its retries.
    failed: int = 0
    #: Events still queued when shutdown's timeout expired.
    lost: int = 0
    #: Events waiting in the queue now.
    queue_depth: int = 0
    queue_maxsize: int = 0
    #: Peak depth: the most slots in use at once (events queued or in a sink's hands), as seen
    #: by the worker before each batch. Formerly ``queue_high_water_mark``.
    queue_depth_peak: int = 0
    #: Batches the worker wrote.
    batches: int = 0
    #: Exceptions raised by sinks, retries included.
    sink_errors: int = 0
    #: Extra attempts made after a sink raised.
    retries: int = 0
    #: Values written as their ``repr`` because JSON could not hold them.
    serialize_fallbacks: int = 0
    #: ``block`` only: calls that found the queue full and had to wait (or drain inline).
    block_waits: int = 0
    #: Events refused because their estimated size alone exceeds ``queue_max_bytes`` (they
    #: are also counted in ``dropped``).
    dropped_too_large: int = 0
    #: String values cut to ``max_field_chars`` (with a marker) when written.
    truncated_values: int = 0
    #: Bytes charged now against ``queue_max_bytes`` (approximate; large events only).
    queue_bytes: int = 0
    #: Peak bytes: the most bytes charged at once so far. Formerly
    #: ``queue_bytes_high_water_mark``.
    queue_bytes_peak: int = 0
    #: Per-sink counts, in the order of the ``sinks`` setting.
    sinks: tuple[SinkStats, ...] = ()

    @property
    def in_flight(self) -> int:
        """Enqueued events not yet delivered, failed or lost."""
        return self.enqueued - self.delivered - self.failed - self.lost

    @property
    def queue_high_water_mark(self) -> int:
        """Deprecated: read :attr:`queue_depth_peak` (the same number)."""
        warn_renamed("PipelineStats.queue_high_water_mark", "queue_depth_peak", stacklevel=2)
        return self.queue_depth_peak

    @property
    def queue_bytes_high_water_mark(self) -> int:
        """Deprecated: read :attr:`queue_bytes_peak` (the same number)."""
        warn_renamed("PipelineStats.queue_bytes_high_water_mark", "queue_bytes_peak", stacklevel=2)
        return self.queue_bytes_peak
