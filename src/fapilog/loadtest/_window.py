"""One paced, measured window of log calls through the current pipeline.

This is the only place that issues and times log calls: the load test's engine and the
benchmark matrix both measure through :func:`paced_window`.
"""

from __future__ import annotations

import asyncio
import functools
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import fapilog
from fapilog._deprecation import accept_renamed_keywords, warn_renamed
from fapilog._lifecycle import current_pipeline
from fapilog.loadtest._histogram import LatencyHistogram
from fapilog.loadtest._pacer import Pacer

__all__ = ["PAYLOAD_SPREAD", "WARNING_EVERY", "PacedWindow", "paced_window", "payload_source"]

#: One call in this many is a WARNING (the rest INFO), so ``sample`` has events it must keep.
WARNING_EVERY = 100
#: A task that is behind schedule yields to the loop after this many back-to-back calls, so
#: one late task cannot starve the other tasks and the lag sentinel for the whole catch-up.
_CATCH_UP_YIELD_EVERY = 64
#: The payload of call ``seq`` is ``source[seq % PAYLOAD_SPREAD:][:n]``: a fresh string per
#: call (a slice shorter than its source is always a new object), varying in content.
PAYLOAD_SPREAD = 4096
_EVENT = "loadtest.request"
_ROUTE = "/api/orders"
#: Renamed fields (old -> new): the old names still read for this release, with a
#: DeprecationWarning, and the constructor still takes them as keywords.
RENAMED_FIELDS = {
    "accepted": "calls_enqueued",
    "warnings_accepted": "warnings_enqueued",
    "offered_rate": "offered_total_rate",
    "achieved_rate": "achieved_total_rate",
}


@accept_renamed_keywords("PacedWindow", RENAMED_FIELDS)
@dataclass(frozen=True, slots=True)
class PacedWindow:
    """What one window measured. Latencies are per call, in nanoseconds."""

    #: Log calls issued (each an attempt: the load test logs at INFO and WARNING only).
    calls: int
    #: Calls that returned True: their event was enqueued. Formerly ``accepted``.
    calls_enqueued: int
    #: Sum of every call's latency.
    total_latency_ns: int
    #: Every call's latency.
    histogram: LatencyHistogram
    #: Latency of the calls that did not have to wait for room.
    non_blocking: LatencyHistogram
    #: Latency of the calls that waited for room (``block`` only; see ``waited_calls``).
    waited: LatencyHistogram
    #: Calls during which the queue's ``block_waits`` counter moved. Exact for asyncio
    #: producers (a call that does not wait does not yield, so no one else can move it);
    #: with producer threads a call that overlapped another's wait may be counted too.
    waited_calls: int
    #: WARNING calls issued, and those enqueued (``sample`` must enqueue every one while there is
    #: room). ``warnings_enqueued`` was ``warnings_accepted``.
    warnings: int
    warnings_enqueued: int
    #: Wall time from the window's start until its last call returned.
    elapsed_s: float
    #: The total rate (calls/s of all producers together) the schedule offered, and the one
    #: the calls were really issued at. Formerly ``offered_rate`` and ``achieved_rate``.
    offered_total_rate: float
    achieved_total_rate: float
    #: The latest any call started after its scheduled time.
    max_schedule_lag_ns: int

    @property
    def mean_latency_ns(self) -> float:
        return self.total_latency_ns / self.calls if self.calls else 0.0

    @property
    def accepted(self) -> int:
        """Deprecated: read :attr:`calls_enqueued` (the same number)."""
        warn_renamed("PacedWindow.accepted", "calls_enqueued", stacklevel=2)
        return self.calls_enqueued

    @property
    def warnings_accepted(self) -> int:
        """Deprecated: read :attr:`warnings_enqueued` (the same number)."""
        warn_renamed("PacedWindow.warnings_accepted", "warnings_enqueued", stacklevel=2)
        return self.warnings_enqueued

    @property
    def offered_rate(self) -> float:
        """Deprecated: read :attr:`offered_total_rate` (the same number)."""
        warn_renamed("PacedWindow.offered_rate", "offered_total_rate", stacklevel=2)
        return self.offered_total_rate

    @property
    def achieved_rate(self) -> float:
        """Deprecated: read :attr:`achieved_total_rate` (the same number)."""
        warn_renamed("PacedWindow.achieved_rate", "achieved_total_rate", stacklevel=2)
        return self.achieved_total_rate


@functools.lru_cache(maxsize=2)
def payload_source(payload_bytes: int) -> str:
    """The string every ``payload_bytes``-character payload is sliced from (built once)."""
    if payload_bytes <= 0:
        return ""
    size = payload_bytes + PAYLOAD_SPREAD
    pattern = string.ascii_letters + string.digits
    return (pattern * (size // len(pattern) + 1))[:size]


def _payload(source: str, payload_bytes: int, seq: int) -> str:
    start = seq % PAYLOAD_SPREAD
    return source[start : start + payload_bytes]


@dataclass(slots=True)
class _Tally:
    """One producer thread's counts (asyncio tasks share one: they never run at once)."""

    non_blocking: LatencyHistogram = field(default_factory=LatencyHistogram)
    waited: LatencyHistogram = field(default_factory=LatencyHistogram)
    calls_enqueued: int = 0
    warnings: int = 0
    warnings_enqueued: int = 0
    max_lag_ns: int = 0

    def merge(self, other: _Tally) -> None:
        self.non_blocking.merge(other.non_blocking)
        self.waited.merge(other.waited)
        self.calls_enqueued += other.calls_enqueued
        self.warnings += other.warnings
        self.warnings_enqueued += other.warnings_enqueued
        self.max_lag_ns = max(self.max_lag_ns, other.max_lag_ns)


class _WaitCounter(Protocol):
    """The queue's count of calls that started waiting for room (``block`` only)."""

    @property
    def block_waits(self) -> int: ...


def _split(total: int, parts: int) -> list[int]:
    share, extra = divmod(total, parts)
    return [share + (1 if k < extra else 0) for k in range(parts)]


def _count(tally: _Tally, latency: int, waited: bool, enqueued: bool, is_warning: bool) -> None:
    (tally.waited if waited else tally.non_blocking).record(latency)
    if enqueued:
        tally.calls_enqueued += 1
    if is_warning:
        tally.warnings += 1
        if enqueued:
            tally.warnings_enqueued += 1


async def _task_producer(
    producer: int,
    calls: int,
    pacer: Pacer,
    tally: _Tally,
    queue: _WaitCounter,
    blocking: bool,
    payload_bytes: int = 0,
) -> None:
    log = fapilog.log
    source = payload_source(payload_bytes)
    clock = time.perf_counter_ns
    behind = 0
    for seq in range(calls):
        if pacer.delay_s() > 0:
            behind = 0
            late_ns = await pacer.wait()
        else:
            behind += 1
            if behind % _CATCH_UP_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            late_ns = pacer.claim()
        if late_ns > tally.max_lag_ns:
            tally.max_lag_ns = late_ns
        is_warning = (seq + producer) % WARNING_EVERY == 0
        waits_before = queue.block_waits
        # The payload is made before the clock starts: only the log call is timed.
        if blocking:
            call = log.awarning if is_warning else log.ainfo
            if payload_bytes:
                payload = _payload(source, payload_bytes, seq)
                start = clock()
                enqueued = await call(
                    _EVENT, producer=producer, seq=seq, route=_ROUTE, status=200, payload=payload
                )
                latency = clock() - start
                del payload
            else:
                start = clock()
                enqueued = await call(_EVENT, producer=producer, seq=seq, route=_ROUTE, status=200)
                latency = clock() - start
        else:
            sync_call = log.warning if is_warning else log.info
            if payload_bytes:
                payload = _payload(source, payload_bytes, seq)
                start = clock()
                enqueued = sync_call(
                    _EVENT, producer=producer, seq=seq, route=_ROUTE, status=200, payload=payload
                )
                latency = clock() - start
                del payload
            else:
                start = clock()
                enqueued = sync_call(_EVENT, producer=producer, seq=seq, route=_ROUTE, status=200)
                latency = clock() - start
        _count(tally, latency, queue.block_waits != waits_before, enqueued, is_warning)


def _thread_producer(
    producer: int,
    calls: int,
    pacer: Pacer,
    queue: _WaitCounter,
    stop: threading.Event,
    payload_bytes: int = 0,
) -> _Tally:
    # Threads always use the sync methods: under ``block`` they wait in the calling thread,
    # as a sync handler in a thread pool would.
    tally = _Tally()
    log = fapilog.log
    clock = time.perf_counter_ns
    source = payload_source(payload_bytes)
    for seq in range(calls):
        if stop.is_set():  # the window was cancelled or failed: stop offering load
            break
        late_ns = pacer.wait_sync()
        if late_ns > tally.max_lag_ns:
            tally.max_lag_ns = late_ns
        is_warning = (seq + producer) % WARNING_EVERY == 0
        call = log.warning if is_warning else log.info
        waits_before = queue.block_waits
        if payload_bytes:
            payload = _payload(source, payload_bytes, seq)
            start = clock()
            enqueued = call(
                _EVENT, producer=producer, seq=seq, route=_ROUTE, status=200, payload=payload
            )
            latency = clock() - start
            del payload
        else:
            start = clock()
            enqueued = call(_EVENT, producer=producer, seq=seq, route=_ROUTE, status=200)
            latency = clock() - start
        _count(tally, latency, queue.block_waits != waits_before, enqueued, is_warning)
    return tally


async def paced_window(
    total_calls: int,
    total_rate: float | None = None,
    concurrency: int = 10,
    *,
    blocking: bool = False,
    threads: int = 0,
    payload_bytes: int = 0,
    rate: float | None = None,
) -> PacedWindow:
    """Issue ``total_calls`` log calls through the current pipeline at ``total_rate`` calls/s
    (all producers together; each producer offers ``total_rate / (concurrency + threads)``).

    The calls are split evenly over ``concurrency`` asyncio tasks and ``threads`` producer
    threads, each on its own absolute schedule (staggered so the aggregate is smooth). With
    ``blocking`` the tasks ``await log.ainfo(...)`` (the path that waits for room under
    ``block``); otherwise they call ``log.info(...)``. With ``payload_bytes`` every call also
    carries ``payload=`` a fresh string of that many characters, made before the call's clock
    starts. Configure the pipeline first. ``rate=`` is the deprecated name of ``total_rate=``.
    """
    if rate is not None:
        if total_rate is not None:
            raise TypeError("paced_window() got both 'total_rate' and its deprecated name 'rate'")
        warn_renamed("paced_window(rate=...)", "total_rate=", stacklevel=2)
        total_rate = rate
    if total_rate is None:
        raise TypeError("paced_window() missing required argument: 'total_rate'")
    if total_calls < 0:
        raise ValueError(f"total_calls must be >= 0, got {total_calls!r}")
    if not total_rate > 0:
        raise ValueError(f"total_rate must be > 0, got {total_rate!r}")
    if payload_bytes < 0:
        raise ValueError(f"payload_bytes must be >= 0, got {payload_bytes!r}")
    if concurrency < 1 or threads < 0:
        raise ValueError("concurrency must be >= 1 and threads >= 0")
    pipeline = current_pipeline()
    if pipeline is None:
        raise RuntimeError("paced_window needs a configured pipeline: call configure_logging()")
    queue = pipeline.queue
    producers = concurrency + threads
    shares = _split(total_calls, producers)
    producer_rate = total_rate / producers
    stagger_ns = 1e9 / total_rate
    loop = asyncio.get_running_loop()
    shared = _Tally()
    stop = threading.Event()
    start_ns = time.perf_counter_ns()

    def pacer_for(producer: int) -> Pacer:
        return Pacer(producer_rate, start_ns=start_ns + round(producer * stagger_ns))

    executor = (
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fapilog-loadtest")
        if threads
        else None
    )
    try:
        thread_runs = [
            asyncio.wrap_future(
                executor.submit(
                    _thread_producer, p, shares[p], pacer_for(p), queue, stop, payload_bytes
                ),
                loop=loop,
            )
            for p in range(concurrency, producers)
            if executor is not None
        ]
        await asyncio.gather(
            *(
                _task_producer(p, shares[p], pacer_for(p), shared, queue, blocking, payload_bytes)
                for p in range(concurrency)
            )
        )
        for tally in await asyncio.gather(*thread_runs):
            shared.merge(tally)
    finally:
        stop.set()
        if executor is not None:
            executor.shutdown(wait=True)
    elapsed_s = (time.perf_counter_ns() - start_ns) / 1e9
    histogram = LatencyHistogram()
    histogram.merge(shared.non_blocking)
    histogram.merge(shared.waited)
    return PacedWindow(
        calls=histogram.count,
        calls_enqueued=shared.calls_enqueued,
        total_latency_ns=histogram.total_ns,
        histogram=histogram,
        non_blocking=shared.non_blocking,
        waited=shared.waited,
        waited_calls=shared.waited.count,
        warnings=shared.warnings,
        warnings_enqueued=shared.warnings_enqueued,
        elapsed_s=elapsed_s,
        offered_total_rate=total_rate,
        achieved_total_rate=histogram.count / elapsed_s if elapsed_s > 0 else 0.0,
        max_schedule_lag_ns=shared.max_lag_ns,
    )
