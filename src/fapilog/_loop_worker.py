"""The ``loop`` worker: the consumer as a task on the application's running event loop.

Serialization then runs on the loop (event-loop lag instead of GIL waits for callers); each sink
is still written by its own writer thread, so a sink that stalls never stalls the loop. Imported
only when ``worker="loop"`` is configured, so ``import fapilog`` never imports asyncio.

When its loop ends first (``asyncio.run`` returning cancels every task), the worker drains what
is queued and hands over to a :class:`ThreadWorker`, so logging after the loop — or from the
next ``asyncio.run`` — is still delivered.
"""

from __future__ import annotations

import asyncio
import threading

from fapilog._consumer import Consumer
from fapilog._report import report
from fapilog._worker import ThreadWorker, park_interval


class LoopWorker:
    kind = "loop"

    def __init__(
        self, consumer: Consumer, flush_interval_s: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.consumer = consumer
        self.flush_interval_s = flush_interval_s
        self.loop = loop
        self.thread_id = threading.get_ident()
        self._stopping = False
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._done = threading.Event()
        self._successor: ThreadWorker | None = None
        queue = consumer.queue
        queue.wake = self._wake
        queue.make_room = self._make_room

    def start(self) -> None:
        self._task = self.loop.create_task(self._run(), name="fapilog-worker")

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self.thread_id

    def _loop_alive(self) -> bool:
        return self.loop.is_running() and not self.loop.is_closed() and not self._done.is_set()

    def _wake(self) -> None:
        if self._on_loop_thread():
            self._wake_here()
            return
        try:
            self.loop.call_soon_threadsafe(self._wake_here)
        except RuntimeError:  # the loop is closed: its successor (or shutdown) drains
            pass

    def _wake_here(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _make_room(self) -> bool | None:
        # A sync call on this loop cannot wait for a task of the same loop (it would deadlock),
        # and with the loop gone nobody else will make room: the caller drains one batch itself.
        # Room handed to the sinks' writer threads comes back from them: waiting for that is
        # safe even here.
        if self.consumer.running_here():  # inside a batch (a nested call): must not wait
            return False
        if self._on_loop_thread() or not self._loop_alive():
            return True if self.consumer.drain_batch() else None
        return None

    async def _run(self) -> None:
        consumer = self.consumer
        queue = consumer.queue
        items = queue.items
        wake_at = queue.wake_at
        drain = consumer.drain_batch
        full = consumer.batch_size
        check_stalls = consumer.check_stalls
        park_s = park_interval(consumer, self.flush_interval_s)
        try:
            while not consumer.abandoned:
                try:
                    if not self._stopping and len(items) < wake_at:
                        queue.wake_pending = False
                        queue.parked = True
                        if len(items) < wake_at:
                            waiter = self.loop.create_future()
                            self._waiter = waiter
                            timer = self.loop.call_later(park_s, self._wake_here)
                            try:
                                await waiter
                            finally:
                                timer.cancel()
                                self._waiter = None
                        queue.parked = False
                    while drain() >= full:  # after a partial batch, park (see ThreadWorker)
                        await asyncio.sleep(0)  # let the application run between batches
                    check_stalls()
                    if self._stopping and not items:
                        return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # pragma: no cover - the consumer isolates sink errors
                    report(f"worker error (the worker keeps running): {exc!r}")
                    await asyncio.sleep(self.flush_interval_s)
        except asyncio.CancelledError:
            # The loop is ending (asyncio.run cancels leftover tasks): deliver what is queued
            # now, and let a thread carry on for whatever is logged after this loop.
            queue.parked = False
            if not self._stopping:
                self._hand_over()
            raise
        finally:
            self._done.set()

    def _hand_over(self) -> None:
        self.consumer.drain_all()
        successor = ThreadWorker(self.consumer, self.flush_interval_s)
        try:
            successor.start()
        except RuntimeError:  # interpreter shutting down: the queue is drained inline instead
            return
        self._successor = successor

    def stop(self, timeout: float | None) -> bool:
        self._stopping = True
        if self._successor is not None:
            return self._successor.stop(timeout)
        if self._on_loop_thread() or not self._loop_alive():
            # Called from the loop itself (cannot await here) or the loop is gone: drain inline.
            self.consumer.drain_all()
            self._wake()
            return True
        self._wake()
        return self._done.wait(timeout)

    async def astop(self, timeout: float | None) -> bool:
        self._stopping = True
        task = self._task
        if self._successor is not None or task is None or task.done():
            return await asyncio.to_thread(self.stop, timeout)
        if not self._on_loop_thread():
            return await asyncio.to_thread(self.stop, timeout)
        self._wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            return False
        return True

    def flush_inline(self) -> bool:
        if self._successor is not None:
            return self._successor.flush_inline()
        if self._on_loop_thread() or not self._loop_alive():
            self.consumer.drain_all()
            return True
        return False
