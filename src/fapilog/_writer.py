"""``SinkWriter``: one sink's own thread, so that a sink that stalls cannot starve the others.

The worker serializes each batch once and hands the same lines to every sink's writer; each
writer writes, flushes and retries on its own thread. A batch holds its queue slots until every
writer has finished it, so memory stays bounded by ``queue_maxsize`` whatever the sinks do.

A writer whose write has not returned within ``sink_timeout`` is **stalled**: the worker writes
off what it holds (counted failed for that sink), and every batch offered to it meanwhile is
counted failed at once, so the other sinks go on at full speed. When its write returns it
resumes with the next batch. Where no thread can be started (while the interpreter exits) a
writer writes on the caller's thread instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fapilog._report import RateLimited
from fapilog.sinks._base import PartialWrite, Sink, sink_name

#: Attempts per batch under ``drop`` and ``sample`` (the first try plus retries), and the first
#: backoff: 5 + 10 ms keeps a broken sink from holding its batch's slots for long.
ATTEMPTS = 3
BACKOFF_S = 0.005
#: Under ``block`` a refused batch is retried (backoff doubling up to this) for up to
#: ``sink_timeout``: an outage shorter than that is back-pressure, not loss.
MAX_BACKOFF_S = 0.25
#: After a batch fails for good, the sink rests this long: batches meanwhile fail at once.
REST_S = 1.0
#: At most one stderr report per sink this often; the rest are counted in the next report.
REPORT_EVERY_S = 5.0


class Batch:
    """A serialized batch on its way to every sink; it frees its slots when the last is done."""

    __slots__ = ("charge", "lines", "pending", "size", "written")

    def __init__(self, lines: list[bytes], sinks: int, charge: int = 0) -> None:
        self.lines = lines
        self.size = len(lines)
        #: Bytes its large events were charged against ``queue_max_bytes``.
        self.charge = charge
        #: Writers that have not finished this batch yet.
        self.pending = sinks
        #: Lines every finished writer has written (a prefix of ``lines``).
        self.written = len(lines)


@dataclass(frozen=True, slots=True)
class WritePolicy:
    sink_timeout_s: float
    #: ``block``: retry a refused batch until ``sink_timeout_s`` instead of ``ATTEMPTS`` times.
    retry_until_timeout: bool


class SinkWriter:
    """Writes batches to one sink, on its own thread (or inline where no thread can run)."""

    def __init__(self, sink: Sink, done: Callable[[Batch, int], None], policy: WritePolicy) -> None:
        self.sink = sink
        self.name = sink_name(sink)
        self.policy = policy
        self._done = done
        #: Events this sink took / did not take (refused, written off while stalled, resting).
        self.delivered = 0
        self.failed = 0
        #: Exceptions the sink raised (each attempt), and extra attempts made.
        self.errors = 0
        self.retries = 0
        self.stalled = False
        self.thread_id: int | None = None
        # Re-entrant: with the loop worker the dispatcher is the main thread, and a signal
        # handler that shuts down may land while it holds this lock in submit().
        self._lock = threading.RLock()
        self._has_work = threading.Condition(self._lock)
        self._inbox: deque[Batch] = deque()
        self._current: Batch | None = None
        self._busy_since = 0.0
        self._stopping = False
        self._keep_open = False
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._resting_until = 0.0
        self._report = RateLimited(f"sink {self.name!r}", REPORT_EVERY_S)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, on_thread: Callable[[int], None]) -> bool:
        """Start the writer thread; False when no thread can be started (write inline then)."""
        thread = threading.Thread(
            target=self._run, args=(on_thread,), name=f"fapilog-sink-{self.name}", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            return False
        self._thread = thread
        return True

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def submit(self, batch: Batch) -> None:
        """Hand a batch over (the worker only). Never waits on the sink."""
        if self._thread is None:
            self._process(batch)
            return
        with self._lock:
            if not self.stalled:
                self._inbox.append(batch)
                self._has_work.notify()
                return
            self.failed += batch.size
        self._done(batch, 0)

    def holds(self, batch: Batch) -> bool:
        """True when ``batch`` reached this writer (queued, being written, or written)."""
        if self._thread is None:
            return False
        with self._lock:
            return self._current is batch or batch in self._inbox

    def refuse(self, batch: Batch) -> None:
        """The batch never reached this writer (the dispatcher was interrupted): failed here."""
        with self._lock:
            self.failed += batch.size
        self._done(batch, 0)

    def busy(self) -> bool:
        """True while a batch is queued for or being written by this sink."""
        return bool(self._inbox) or self._current is not None

    def check_stall(self, now: float) -> None:
        """Called by the worker: write off a sink whose write has not returned in time."""
        with self._lock:
            since = self._busy_since
            if self.stalled or not since or now - since < self.policy.sink_timeout_s:
                return
            victims = self._write_off()
        self._report(
            f"stalled: a write has not returned for {now - since:.1f} s (sink_timeout "
            f"{self.policy.sink_timeout_s:g} s); its events are counted as failed until it returns",
            always=True,
        )
        for batch in victims:
            self._done(batch, 0)

    def write_off(self) -> int:
        """Give up on everything this sink holds (shutdown's timeout expired); return the
        number of events written off."""
        with self._lock:
            victims = self._write_off()
        for batch in victims:
            self._done(batch, 0)
        return sum(batch.size for batch in victims)

    def _write_off(self) -> list[Batch]:
        # Under ``_lock``. The write in progress goes on; when it returns its result is ignored.
        victims = list(self._inbox)
        self._inbox.clear()
        if self._current is not None:
            victims.append(self._current)
            self._current = None
            self.stalled = True
        for batch in victims:
            self.failed += batch.size
        return victims

    def stop(self, keep_open: bool, timeout: float) -> bool:
        """Finish what is queued, then close the sink (or only flush it, when a newer pipeline
        goes on using it). False when the sink is still busy after ``timeout`` (left open)."""
        if self._thread is None:
            self._close_sink(keep_open)
            return True
        with self._lock:
            self._stopping = True
            self._keep_open = keep_open
            self._has_work.notify()
        return self._closed.wait(timeout)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self, on_thread: Callable[[int], None]) -> None:
        self.thread_id = threading.get_ident()
        on_thread(self.thread_id)
        try:
            while True:
                with self._lock:
                    while not self._inbox and not self._stopping:
                        self._has_work.wait()
                    if not self._inbox:
                        break
                    batch = self._inbox.popleft()
                    self._current = batch
                    self._busy_since = time.monotonic()
                self._process(batch)
            self._close_sink(self._keep_open)
        finally:
            self._closed.set()

    def _process(self, batch: Batch) -> None:
        written = 0
        try:
            written = self._write(batch)
        finally:
            with self._lock:
                mine = self._current is batch or self._thread is None
                self._current = None
                self._busy_since = 0.0
                resumed = not mine and self.stalled and not self._stopping
                if mine:
                    self.delivered += written
                    self.failed += batch.size - written
                else:
                    self.stalled = False
            if mine:
                self._done(batch, written)
            elif resumed:
                self._report("returned from its stalled write; resuming", always=True)

    def _write(self, batch: Batch) -> int:
        """Write with retries; return how many lines (a prefix of the batch) the sink took."""
        lines: Sequence[bytes] = batch.lines
        size = batch.size
        started = time.monotonic()
        if started < self._resting_until:
            self._report.hold_back()
            return 0
        written = 0
        attempts = 0
        delay = BACKOFF_S
        error: BaseException | None = None
        while True:
            try:
                self.sink.write(lines[written:] if written else lines)
                self.sink.flush()
                return size
            except PartialWrite as exc:
                written += max(0, min(exc.written, size - written))
                error = exc.__cause__ or exc
            except KeyboardInterrupt:
                # Only on the main thread (an inline writer): the application's Ctrl-C.
                if threading.current_thread() is threading.main_thread():
                    raise
                error = KeyboardInterrupt()
            except BaseException as exc:  # even SystemExit from a sink must not kill its writer
                error = exc
            self.errors += 1
            attempts += 1
            if written >= size:
                return size
            if self.policy.retry_until_timeout:
                give_up = time.monotonic() - started + delay >= self.policy.sink_timeout_s
            else:
                give_up = attempts >= ATTEMPTS
            if give_up or (self._thread is not None and self._current is not batch):
                break
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
        self._resting_until = time.monotonic() + REST_S
        self._report(
            f"refused {size - written} of {size} events after {attempts} attempts: "
            f"{type(error).__name__}: {error}; resting it {REST_S:g} s"
        )
        return written

    def _close_sink(self, keep_open: bool) -> None:
        try:
            if keep_open:
                self.sink.flush()
            else:
                self.sink.close()
        except BaseException as exc:
            self.errors += 1
            self._report(f"failed to close: {type(exc).__name__}: {exc}")
