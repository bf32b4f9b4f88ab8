"""The consumer's work: take a batch, serialize each event once, hand the bytes to every sink.

Only one consumer runs at a time (``lock``): the worker, a caller draining inline (``block`` on
the loop that hosts a ``loop`` worker), or shutdown. So the counters here are plain ints.
A sink that raises is retried with exponential backoff inside a small budget, then counted as
failed and rested for a while; it never stops the worker or the other sinks.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fapilog._queue import LogQueue
from fapilog._serialize import Serializer
from fapilog.sinks._base import Sink, sink_name

#: Attempts per batch and sink (the first try plus retries), and the first backoff. The budget
#: (5 + 10 ms) keeps a broken sink from holding the worker — or the loop, for a ``loop`` worker.
ATTEMPTS = 3
BACKOFF_S = 0.005
#: After a batch fails every attempt, the sink rests this long: batches meanwhile fail at once.
REST_S = 1.0
#: At most one stderr report per sink this often; the rest are counted in the next report.
REPORT_EVERY_S = 5.0


@dataclass
class SinkSlot:
    sink: Sink
    name: str
    delivered: int = 0
    failed: int = 0
    errors: int = 0
    resting_until: float = 0.0
    next_report: float = 0.0
    unreported: int = 0


class Consumer:
    def __init__(
        self,
        queue: LogQueue,
        sinks: Sequence[Sink],
        batch_size: int,
        serializer: Serializer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.queue = queue
        self.batch_size = batch_size
        self.serializer = serializer or Serializer()
        self.slots = [SinkSlot(sink, sink_name(sink)) for sink in sinks]
        self.lock = threading.Lock()
        self.sleep = sleep
        self.delivered = 0
        self.failed = 0
        self.batches = 0
        self.sink_errors = 0
        self.retries = 0
        #: Set when shutdown gave up waiting: take no more batches, and do not count a batch
        #: still in a sink's hands (it is already counted as ``lost``). Guarded by ``_count_lock``.
        self.abandoned = False
        self._count_lock = threading.Lock()
        #: Thread running a batch now: a sink that logs, flushes or shuts down from inside a
        #: batch must neither wait for that batch nor start another one (the lock is not
        #: re-entrant).
        self.owner: int | None = None

    @property
    def processed(self) -> int:
        return self.delivered + self.failed

    def running_here(self) -> bool:
        return self.owner == threading.get_ident()

    def drain_batch(self) -> int:
        """Process one batch; return how many events it held (0: empty, abandoned, or called
        from inside a sink)."""
        if self.running_here():
            return 0
        with self.lock:
            if self.abandoned:
                return 0
            batch = self.queue.take(self.batch_size)
            if not batch:
                return 0
            self.owner = threading.get_ident()
            try:
                lines = [self.serializer.dumps(record) for record in batch]
                ok = True
                for slot in self.slots:
                    ok = self._write(slot, lines) and ok
            finally:
                self.owner = None
                self.queue.give_back(len(batch))
            with self._count_lock:
                if not self.abandoned:
                    if ok:
                        self.delivered += len(lines)
                    else:
                        self.failed += len(lines)
                    self.batches += 1
            return len(lines)

    def drain_all(self) -> int:
        total = 0
        while count := self.drain_batch():
            total += count
        return total

    def abandon(self) -> None:
        """Stop counting (shutdown gave up): what is queued or in a sink's hands is ``lost``."""
        with self._count_lock:
            self.abandoned = True

    def _write(self, slot: SinkSlot, lines: list[bytes]) -> bool:
        now = time.monotonic()
        if now < slot.resting_until:
            slot.failed += len(lines)
            slot.unreported += 1
            return False
        error: BaseException | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                self.retries += 1
                self.sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                slot.sink.write(lines)
                slot.sink.flush()
            except BaseException as exc:  # even SystemExit from a sink must not kill the worker
                error = exc
                slot.errors += 1
                self.sink_errors += 1
            else:
                slot.delivered += len(lines)
                return True
        slot.failed += len(lines)
        slot.resting_until = time.monotonic() + REST_S
        self._report(
            slot,
            f"refused a batch of {len(lines)} events after {ATTEMPTS} attempts: "
            f"{type(error).__name__}: {error}; resting it {REST_S:g} s",
        )
        return False

    def _report(self, slot: SinkSlot, what: str) -> None:
        now = time.monotonic()
        if now < slot.next_report:
            slot.unreported += 1
            return
        slot.next_report = now + REPORT_EVERY_S
        more = f" ({slot.unreported} more failed batches not reported)" if slot.unreported else ""
        slot.unreported = 0
        try:
            sys.stderr.write(f"fapilog: sink {slot.name!r} {what}{more}\n")
        except Exception:  # stderr itself is gone; nothing sensible is left to do
            pass

    def close_sinks(self, keep_open: set[int] | frozenset[int] = frozenset()) -> None:
        """Close every sink, except those (by ``id``) that a newer pipeline goes on using."""
        for slot in self.slots:
            try:
                if id(slot.sink) in keep_open:
                    slot.sink.flush()
                else:
                    slot.sink.close()
            except Exception as exc:
                self.sink_errors += 1
                slot.errors += 1
                self._report(slot, f"failed to close: {type(exc).__name__}: {exc}")
