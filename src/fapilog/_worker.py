"""The worker: the single consumer, in a daemon thread (default) or as a task on an event loop.

Both park until the queue holds a batch's worth (``LogQueue.wake_at``) or ``flush_interval``
passes, then drain everything queued, batch by batch, handing each to the sinks' writers.
Producers wake a parked worker only when the depth reaches ``wake_at`` (once per parking:
``LogQueue.wake_pending``) — never per event, because waking another thread costs a syscall.
The parked flag and the depth check form a Dekker pair: the worker sets ``parked`` then looks at
the depth; a producer appends then looks at ``parked``. One of the two always sees the other.
Each time it wakes, the worker also looks for a sink whose write has not returned in time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from fapilog._consumer import Consumer
from fapilog._report import report


class Worker(Protocol):
    kind: str

    def start(self) -> None: ...

    def stop(self, timeout: float | None) -> bool:
        """Hand everything queued to the sinks and stop; False when ``timeout`` expired."""
        ...

    async def astop(self, timeout: float | None) -> bool: ...

    def flush_inline(self) -> bool:
        """Drain on the calling thread when waiting for the worker would deadlock."""
        ...


def park_interval(consumer: Consumer, flush_interval_s: float) -> float:
    """How long the worker sleeps at most: its flush interval, but often enough to notice a
    stalled sink soon after ``sink_timeout``."""
    if not consumer.writers:
        return flush_interval_s
    return min(flush_interval_s, consumer.writers[0].policy.sink_timeout_s / 2)


class ThreadWorker:
    """Runs the consumer in a named daemon thread, so nothing runs on the event loop."""

    kind = "thread"

    def __init__(self, consumer: Consumer, flush_interval_s: float) -> None:
        self.consumer = consumer
        self.flush_interval_s = flush_interval_s
        # The wake-up is a plain lock used as a binary semaphore, not a threading.Event: a
        # producer wakes the worker by releasing it, which never waits, so a wake-up made from a
        # signal handler that interrupted another wake-up cannot deadlock (Event.set takes a
        # lock of its own). Locked means "no wake-up pending".
        self._wakeup = threading.Lock()
        self._wakeup.acquire()
        self._stopping = False
        # Our own liveness flag: Thread.is_alive() is not safe on a producer's path (a signal
        # handler that raises inside it can leave the thread marked as stopped for good).
        self._running = False
        self._exited = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fapilog-worker", daemon=True)
        queue = consumer.queue
        queue.wake = self._wake
        queue.make_room = self._make_room

    def start(self) -> None:
        self._exited.acquire()
        self._running = True
        try:
            self._thread.start()
        except BaseException:
            self._running = False
            self._exited.release()
            raise

    def _wake(self) -> None:
        try:
            self._wakeup.release()
        except RuntimeError:  # a wake-up is pending already
            pass

    def _make_room(self) -> bool | None:
        if self.consumer.running_here():  # inside a batch (a nested call): must not wait
            return False
        if not self._running:  # never started or gone: the caller drains
            return True if self.consumer.drain_batch() else None
        return None

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._running = False
            self._exited.release()

    def _loop(self) -> None:
        consumer = self.consumer
        queue = consumer.queue
        me = threading.get_ident()
        queue.no_wait.add(me)
        items = queue.items
        wake_at = queue.wake_at
        drain = consumer.drain_batch
        full = consumer.batch_size
        check_stalls = consumer.check_stalls
        park_s = park_interval(consumer, self.flush_interval_s)
        while not consumer.abandoned:
            try:
                if not self._stopping and len(items) < wake_at:
                    queue.wake_pending = False
                    queue.parked = True
                    if len(items) < wake_at:
                        self._wakeup.acquire(timeout=park_s)
                    queue.parked = False
                # Drain while batches come out full; after a partial one, park again rather
                # than chase a trickle one event at a time (each batch costs a hand-off to the
                # writers and a write per sink).
                while drain() >= full:
                    # Hand the GIL to waiting callers between batches instead of holding it
                    # for a whole drain (their enqueue latency would pay for it).
                    time.sleep(0)
                check_stalls()
                if self._stopping and not items:
                    return
            except Exception as exc:  # pragma: no cover - the consumer isolates sink errors
                report(f"worker error (the worker keeps running): {exc!r}")
                time.sleep(self.flush_interval_s)

    def stop(self, timeout: float | None) -> bool:
        self._stopping = True
        self._wake()
        if threading.get_ident() == self._thread.ident:
            return False
        if not self._running:
            # Never started (or gone after fork): drain here.
            self.consumer.drain_all()
            return True
        if self._exited.acquire(timeout=-1 if timeout is None else timeout):
            self._exited.release()
            return True
        return False

    async def astop(self, timeout: float | None) -> bool:
        import asyncio

        return await asyncio.to_thread(self.stop, timeout)

    def flush_inline(self) -> bool:
        if self._running:
            return False
        self.consumer.drain_all()
        return True


class InlineWorker:
    """No thread at all: each call that reaches the queue drains it on the caller's thread.

    Used where no thread can be started or would outlive the process: while the interpreter
    exits (logging from an ``atexit`` handler after fapilog's own has run) or when starting the
    thread fails. Slow, but nothing is lost.
    """

    kind = "inline"

    def __init__(self, consumer: Consumer, flush_interval_s: float = 0.0) -> None:
        self.consumer = consumer
        queue = consumer.queue
        queue.wake_at = 1
        queue.parked = True
        queue.wake = self._drain
        queue.make_room = lambda: consumer.drain_batch() > 0

    def _drain(self) -> None:
        self.consumer.queue.wake_pending = False
        self.consumer.drain_all()

    def start(self) -> None:
        pass

    def stop(self, timeout: float | None) -> bool:
        self.consumer.drain_all()
        return True

    async def astop(self, timeout: float | None) -> bool:
        return self.stop(timeout)

    def flush_inline(self) -> bool:
        self.consumer.drain_all()
        return True
