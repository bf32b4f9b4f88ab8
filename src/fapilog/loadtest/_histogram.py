"""A fixed-memory, log-linear latency histogram.

Every power-of-two range of values ("octave") is split into ``SUB_BUCKETS`` equal-width buckets,
so a bucket is never wider than 1/128 of the smallest value it holds. Reporting a bucket's
midpoint therefore stays within ``RELATIVE_ERROR`` (1/256, about 0.4 %) of any value in it.
Values below 256 ns get one bucket each and are exact.

The bucket list is allocated once. Recording a sample only increments counters: no list grows,
no sample is stored, so measuring does not disturb what is measured with allocation and garbage
collection (CPython still creates the incremented ints; that cost is constant per call).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["MAX_TRACKABLE_NS", "RELATIVE_ERROR", "LatencyHistogram", "nearest_rank", "percentile"]

_T = TypeVar("_T")

_SUB_BITS = 7
SUB_BUCKETS = 1 << _SUB_BITS  # 128 buckets per octave: 1/256 worst-case error at the midpoint
_EXACT_LIMIT = SUB_BUCKETS << 1  # values below 256 ns have a bucket of their own
_MAX_SHIFT = 33  # largest octave: [2**40, 2**41) ns, about 18 minutes
_BUCKETS = (_MAX_SHIFT << _SUB_BITS) + _EXACT_LIMIT

#: Any recorded value below ``MAX_TRACKABLE_NS`` is reported within this relative error.
RELATIVE_ERROR = 1.0 / (SUB_BUCKETS << 1)
#: Larger values saturate into the last bucket (``max_ns`` stays exact).
MAX_TRACKABLE_NS = 1 << (_MAX_SHIFT + _SUB_BITS + 1)


def nearest_rank(p: float, count: int) -> int:
    """The 1-based rank of the ``p``-th percentile among ``count`` sorted values (``count`` >= 1).

    The nearest-rank definition, fapilog's one: the smallest value that at least ``p`` % of the
    values are less than or equal to, with no interpolation, so a percentile is always a value
    that was measured. ``p`` = 0 is the first (the minimum), ``p`` = 100 the last (the maximum).
    """
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {p!r}")
    return min(count, max(1, math.ceil(p / 100.0 * count)))


def percentile(ordered: Sequence[_T], p: float) -> _T:
    """The nearest-rank ``p``-th percentile of ``ordered`` (sorted ascending, not empty).

    The same definition as :meth:`LatencyHistogram.percentile`, on every sample kept instead of
    on buckets; the benchmarks (``bench/``) use it where they keep their samples.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[nearest_rank(p, len(ordered)) - 1]


def _bucket_lower_and_width(index: int) -> tuple[int, int]:
    if index < _EXACT_LIMIT:
        return index, 1
    shift = (index >> _SUB_BITS) - 1
    mantissa = index - (shift << _SUB_BITS)
    return mantissa << shift, 1 << shift


class LatencyHistogram:
    """Counts of latencies in nanoseconds, with exact count, total, min and max.

    Not thread-safe: give each producer thread its own and :meth:`merge` them afterwards
    (asyncio tasks on one loop may share one).
    """

    __slots__ = ("_counts", "_max_ns", "_min_ns", "count", "total_ns")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total_ns = 0
        self._min_ns = 0
        self._max_ns = 0

    def record(self, value_ns: int) -> None:
        """Add one sample (negative values count as 0)."""
        if value_ns < _EXACT_LIMIT:
            if value_ns < 0:
                value_ns = 0
            index = value_ns
        else:
            shift = value_ns.bit_length() - (_SUB_BITS + 1)
            index = (shift << _SUB_BITS) + (value_ns >> shift)
            if index >= _BUCKETS:
                index = _BUCKETS - 1
        self._counts[index] += 1
        if self.count == 0 or value_ns < self._min_ns:
            self._min_ns = value_ns
        if value_ns > self._max_ns:
            self._max_ns = value_ns
        self.count += 1
        self.total_ns += value_ns

    @property
    def mean_ns(self) -> float:
        """Exact mean of the recorded samples (0.0 when empty)."""
        return self.total_ns / self.count if self.count else 0.0

    @property
    def min_ns(self) -> int:
        """Exact smallest sample (0 when empty)."""
        return self._min_ns

    @property
    def max_ns(self) -> int:
        """Exact largest sample (0 when empty)."""
        return self._max_ns

    def percentile(self, p: float) -> int:
        """The nearest-rank ``p``-th percentile (``p`` in [0, 100]), within ``RELATIVE_ERROR``.

        ``percentile(0)`` is the minimum and ``percentile(100)`` the maximum, both exact.
        An empty histogram returns 0.
        """
        if self.count == 0:
            if not 0.0 <= p <= 100.0:
                raise ValueError(f"percentile must be within [0, 100], got {p!r}")
            return 0
        rank = nearest_rank(p, self.count)
        if rank == 1:
            return self._min_ns
        if rank >= self.count:
            return self._max_ns
        seen = 0
        for index, bucket_count in enumerate(self._counts):
            seen += bucket_count
            if seen >= rank:
                lower, width = _bucket_lower_and_width(index)
                middle = lower + (width >> 1)
                return min(max(middle, self._min_ns), self._max_ns)
        return self._max_ns  # pragma: no cover - the counts always add up to ``count``

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` into this histogram."""
        if other.count == 0:
            return
        counts = self._counts
        for index, bucket_count in enumerate(other._counts):
            if bucket_count:
                counts[index] += bucket_count
        if self.count == 0 or other._min_ns < self._min_ns:
            self._min_ns = other._min_ns
        self._max_ns = max(self._max_ns, other._max_ns)
        self.count += other.count
        self.total_ns += other.total_ns

    def __repr__(self) -> str:
        return (
            f"LatencyHistogram(count={self.count}, mean_ns={self.mean_ns:.1f}, "
            f"p50={self.percentile(50)}, p99={self.percentile(99)}, max_ns={self._max_ns})"
        )
