"""The consumer's work: take a batch, serialize each event once, hand the lines to every sink.

Only one consumer runs at a time (``lock``): the worker, a caller draining inline (``block`` on
the loop that hosts a ``loop`` worker), or shutdown. It never writes to a sink itself: each sink
has a :class:`~fapilog._writer.SinkWriter`, so a sink that stalls or fails delays nobody else.
A batch is counted when the last writer has finished it: ``delivered`` when every sink took it
all, else the lines some sink did not take are ``failed``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence

from fapilog._queue import LARGE_EVENT, LogQueue, Record, charge_of, wait_slice
from fapilog._serialize import Serializer
from fapilog._writer import Batch, SinkWriter, WritePolicy
from fapilog.sinks._base import Sink


class Consumer:
    def __init__(
        self,
        queue: LogQueue,
        sinks: Sequence[Sink],
        batch_size: int,
        serializer: Serializer | None = None,
        *,
        policy: WritePolicy | None = None,
    ) -> None:
        self.queue = queue
        self.batch_size = batch_size
        self.serializer = serializer or Serializer()
        policy = policy or WritePolicy(sink_timeout_s=5.0, retry_until_timeout=False)
        self.writers = [SinkWriter(sink, self._batch_done, policy) for sink in sinks]
        self.lock = threading.RLock()
        self.delivered = 0
        self.failed = 0
        self.batches = 0
        #: Records written as a fixed line because even their ``repr`` failed.
        self.last_resort_lines = 0
        #: Set when shutdown gave up waiting: take no more batches.
        self.abandoned = False
        #: Set after that: batches finishing later are not counted (they are ``lost``).
        self.frozen = False
        self._count_lock = threading.RLock()
        self._progress = threading.Condition(self._count_lock)
        self._progress_waiters = 0
        self._in_flight = 0
        #: Flush barriers: (target, acknowledge), fired once ``processed >= target``.
        self._barriers: list[tuple[int, Callable[[], None]]] = []
        #: Thread running :meth:`drain_batch` now, and the writers' threads: a sink that logs,
        #: flushes or shuts down from inside a batch must not wait for that batch.
        self.owner: int | None = None
        self.threads: set[int] = set()

    def start_writers(self) -> None:
        """One thread per sink; where threads cannot start, those sinks are written inline."""
        for writer in self.writers:
            writer.start(self._register_thread)

    def _register_thread(self, thread_id: int) -> None:
        self.threads.add(thread_id)
        self.queue.no_wait.add(thread_id)

    @property
    def processed(self) -> int:
        return self.delivered + self.failed

    @property
    def sink_errors(self) -> int:
        return sum(writer.errors for writer in self.writers)

    @property
    def retries(self) -> int:
        return sum(writer.retries for writer in self.writers)

    def running_here(self) -> bool:
        me = threading.get_ident()
        return self.owner == me or me in self.threads

    # -- the worker's side ----------------------------------------------------------------------

    def drain_batch(self) -> int:
        """Serialize one batch and hand it to every sink; return how many events it held (0:
        empty, abandoned, or called from inside a batch)."""
        if self.running_here():
            return 0
        with self.lock:
            if self.abandoned:
                return 0
            # Owner first: a drain nested in this one (a signal handler that flushes) must
            # not take records from under it.
            self.owner = threading.get_ident()
            try:
                return self._drain_one()
            finally:
                self.owner = None

    def _drain_one(self) -> int:
        queue = self.queue
        records = queue.take(self.batch_size)
        if not records:
            return 0
        charge = 0
        batch: Batch | None = None
        submitted = 0
        try:
            # Before the first large event, look for one (see SIZE_SAMPLE_MASK): the batch's
            # first record before serializing (a burst is caught before it is copied into
            # lines), then every line's length (cheap, where an estimate per record is not).
            if not queue.sized and charge_of(records[:1]):
                charge = queue.go_sized(records)
            elif queue.sized:
                charge = charge_of(records) if queue.bytes_used else 0
            lines = self._serialize(records)
            if not queue.sized and max(map(len, lines)) > LARGE_EVENT:
                charge = queue.go_sized(records)
            batch = Batch(lines, len(self.writers), charge)
            with self._count_lock:
                self._in_flight += 1
            for writer in self.writers:
                writer.submit(batch)
                submitted += 1
        except BaseException:
            # Interrupted (Ctrl-C on an inline drain): every record is still accounted for and
            # its room freed, then the exception goes on.
            if batch is None:
                self._finish(len(records), 0, charge)
            else:
                for writer in self.writers[submitted:]:
                    if not writer.holds(batch):
                        writer.refuse(batch)
            raise
        return batch.size

    def drain_all(self) -> int:
        total = 0
        while count := self.drain_batch():
            total += count
        return total

    def _serialize(self, records: list[Record]) -> list[bytes]:
        try:
            return self.serializer.dumps_batch(records)
        except KeyboardInterrupt:
            raise
        except BaseException:  # a value's __repr__ raised SystemExit or worse: one at a time
            return [self._dumps_guarded(record) for record in records]

    def _dumps_guarded(self, record: Record) -> bytes:
        try:
            return self.serializer.dumps(record)
        except KeyboardInterrupt:
            raise
        except BaseException:
            self.last_resort_lines += 1
            return _last_resort_line(record)

    def check_stalls(self) -> None:
        now = time.monotonic()
        for writer in self.writers:
            writer.check_stall(now)

    # -- finishing batches (writer threads) ----------------------------------------------------

    def _batch_done(self, batch: Batch, written: int) -> None:
        with self._count_lock:
            batch.pending -= 1
            if written < batch.written:
                batch.written = written
            if batch.pending > 0:
                return
            self._in_flight -= 1
        self._finish(batch.size, batch.written, batch.charge)

    def _finish(self, size: int, written: int, charge: int) -> None:
        queue = self.queue
        with self._count_lock:
            if not self.frozen:
                self.delivered += written
                self.failed += size - written
                self.batches += 1
            if charge or queue.bytes_used:
                queue.release_bytes(charge, idle=not self._in_flight and not queue.items)
            if self._progress_waiters:
                self._progress.notify_all()
            due = self._due_barriers() if self._barriers else ()
        queue.give_back(size)
        for acknowledge in due:
            acknowledge()

    # -- waiting for progress ------------------------------------------------------------------

    def barrier(self, target: int, acknowledge: Callable[[], None]) -> Callable[[], None]:
        """Call ``acknowledge()`` once every event up to ``target`` (an ``enqueued`` count) is
        delivered or failed, or counting stopped (shutdown gave up): from the thread that
        finishes that batch, or at once from here. Batches finish in order, so the count is an
        exact marker. ``acknowledge`` must never wait. Returns the barrier's withdrawal (for a
        waiter that timed out); nothing is done for barriers while none is set."""
        entry = (target, acknowledge)
        with self._count_lock:
            # No call in here (a property would be one): a signal handler can run at a call.
            if self.delivered + self.failed < target and not self.frozen:
                self._barriers.append(entry)
                return lambda: self._withdraw(entry)
        acknowledge()
        return _nothing

    def holds_counts(self) -> bool:
        """True on a thread inside the consumer's bookkeeping: a signal handler that interrupted
        it and now flushes or shuts down. No batch can finish while it holds the count lock,
        so it must not wait for a barrier (see :meth:`wait_processed_holding`)."""
        return bool(self._count_lock._is_owned())  # type: ignore[attr-defined]

    def wait_processed_holding(self, target: int, deadline: float | None) -> bool:
        """Wait for ``target`` on a thread that holds the count lock: ``Condition.wait``
        releases it entirely while it waits, so the writers can finish their batches."""
        self._wait_progress(lambda: self.processed >= target or self.frozen, deadline)
        return self.processed >= target

    def _withdraw(self, entry: tuple[int, Callable[[], None]]) -> None:
        with self._count_lock:
            if entry in self._barriers:
                self._barriers.remove(entry)

    def _due_barriers(self) -> list[Callable[[], None]]:
        """The barriers reached now (under the count lock); they are fired once the lock is
        released."""
        processed, frozen = self.processed, self.frozen
        # Swapped out first: a barrier added meanwhile (a signal handler that flushes, on this
        # thread) lands in the new list instead of being dropped by the partition below.
        barriers, self._barriers = self._barriers, []
        due = []
        for entry in barriers:
            if frozen or processed >= entry[0]:
                due.append(entry[1])
            else:
                self._barriers.append(entry)
        return due

    def wait_idle(self, deadline: float | None) -> bool:
        """Wait until no batch is in a sink's hands; False at ``deadline``."""
        return self._wait_progress(lambda: self._in_flight <= 0, deadline)

    def _wait_progress(self, done: Callable[[], bool], deadline: float | None) -> bool:
        """Wait until ``done()``, checked under the progress lock, which every finished batch
        notifies while someone waits; False at ``deadline``."""
        with self._progress:
            self._progress_waiters += 1
            try:
                while not done():
                    left = wait_slice(deadline)
                    if left <= 0:
                        return False
                    self._progress.wait(left)
            finally:
                self._progress_waiters -= 1
        return True

    # -- shutdown ------------------------------------------------------------------------------

    def give_up(self) -> int:
        """Shutdown's timeout expired: take nothing more, count what the sinks still hold as
        failed for them, and stop counting (what is still queued is ``lost``). Returns the
        number of events written off."""
        with self._count_lock:
            self.abandoned = True
        written_off = sum(writer.write_off() for writer in self.writers)
        with self._count_lock:
            self.frozen = True
            due = self._due_barriers()
        for acknowledge in due:
            acknowledge()
        return written_off

    def close_sinks(self, keep_open: set[int] | frozenset[int], timeout: float) -> list[str]:
        """Stop every writer and close its sink (only flush those, by ``id``, that a newer
        pipeline goes on using). Returns the names of sinks still busy (left open)."""
        deadline = time.monotonic() + timeout
        busy = []
        for writer in self.writers:
            left = max(0.0, deadline - time.monotonic())
            if not writer.stop(id(writer.sink) in keep_open, left):
                busy.append(writer.name)
        return busy


def _nothing() -> None:
    pass


def _last_resort_line(record: Record) -> bytes:
    """A line that cannot fail, for a record whose values defeat even ``repr``."""
    seconds = record[0]
    whole = int(seconds)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    micros = int((seconds - whole) * 1_000_000)
    level = record[1] if isinstance(record[1], str) else "info"
    fields = {
        "timestamp": f"{stamp}.{micros:06d}Z",
        "level": level,
        "event": "<unserializable record>",
    }
    return (json.dumps(fields, separators=(",", ":")) + "\n").encode()
