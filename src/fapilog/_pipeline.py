"""``Pipeline``: one configured queue → worker → sinks, with its flush and its shutdown.

It knows nothing of the process around it (which pipeline is current, atexit, fork, signals):
that is ``fapilog._lifecycle``'s. ``shutdown`` closes the queue, lets the worker drain it, and
closes the sinks; given a successor (a reconfigure), calls that still reach this queue move on to
the successor's.

Waits are acknowledgements, not polls: ``flush`` registers a barrier that the consumer fires when
every event enqueued before it is delivered or failed, and a second ``shutdown`` waits for the
first to acknowledge that it stopped. Each acknowledgement is the release of a lock only the
waiter holds (or a future set on the waiter's loop), so the thread that gives it never waits —
not even when a signal handler on that thread is itself waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fapilog._consumer import Consumer
from fapilog._levels import WARNING, parse_level
from fapilog._queue import LogQueue, future_waker, wait_slice, wake_all
from fapilog._report import report
from fapilog._serialize import Serializer
from fapilog._settings import LoggingSettings
from fapilog._stats import PipelineStats, SinkStats
from fapilog._worker import InlineWorker, ThreadWorker, Worker
from fapilog._writer import WritePolicy
from fapilog.sinks._base import Sink

if TYPE_CHECKING:
    import asyncio

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
#: Time a writer gets to close its sink after the drain, even when the drain used all of it.
_CLOSE_GRACE_S = 0.2


class Pipeline:
    """One configured pipeline: its queue, its consumer, its worker and its sinks."""

    def __init__(
        self,
        settings: LoggingSettings,
        sinks: Sequence[Sink],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        inline: bool = False,
    ) -> None:
        self.settings = settings
        self.sinks = tuple(sinks)
        self.inline = inline
        self.queue = LogQueue(
            settings.queue_maxsize,
            wake_at=settings.queue_batch_size,
            overflow=settings.queue_overflow,
            block_timeout_s=settings.queue_block_timeout,
            sampling_rate=settings.sampling_rate,
            high_water=settings.queue_high_water,
            min_level=settings.level_number,
            level_of=parse_level,
            keep_level=WARNING,
            max_bytes=settings.queue_max_bytes,
        )
        policy = WritePolicy(
            sink_timeout_s=settings.sink_timeout,
            retry_until_timeout=settings.queue_overflow == "block",
        )
        self.consumer = Consumer(
            self.queue,
            self.sinks,
            settings.queue_batch_size,
            Serializer(max_field_chars=settings.max_field_chars),
            policy=policy,
        )
        self.worker: Worker
        if inline:
            self.worker = InlineWorker(self.consumer)
        elif loop is not None:
            from fapilog._loop_worker import LoopWorker

            self.worker = LoopWorker(self.consumer, settings.queue_flush_interval, loop)
        else:
            self.worker = ThreadWorker(self.consumer, settings.queue_flush_interval)
        self.closed = False
        self.stopped = False
        self._close_lock = threading.RLock()
        #: Thread running this pipeline's shutdown: a shutdown nested in it (a signal handler)
        #: must not wait for it.
        self._closing_thread: int | None = None
        #: Acknowledgements owed to callers waiting for :attr:`stopped`, by key.
        self._stop_waiters: dict[object, Callable[[], None]] = {}

    def start(self, on_sized: Callable[[], None] | None = None) -> None:
        """Start the writers and the worker; ``on_sized`` is called once, when the queue first
        sees a large event (the lifecycle then installs the sized log methods)."""
        if on_sized is not None:
            self.queue.on_sized = on_sized
        if not self.inline:
            self.consumer.start_writers()
        try:
            self.worker.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            self.worker = InlineWorker(self.consumer)

    def stats(self) -> PipelineStats:
        enqueued, dropped, sampled_out, block_waits, depth = self.queue.counts()
        consumer = self.consumer
        delivered, failed = consumer.delivered, consumer.failed
        lost = enqueued - delivered - failed if self.stopped else 0
        return PipelineStats(
            attempted=enqueued + dropped + sampled_out,
            enqueued=enqueued,
            dropped=dropped,
            sampled_out=sampled_out,
            delivered=delivered,
            failed=failed,
            lost=lost,
            queue_depth=depth,
            queue_maxsize=self.queue.maxsize,
            queue_depth_peak=max(self.queue.depth_peak, depth),
            batches=consumer.batches,
            sink_errors=consumer.sink_errors,
            retries=consumer.retries,
            serialize_fallbacks=consumer.serializer.fallbacks + consumer.last_resort_lines,
            block_waits=block_waits,
            dropped_too_large=self.queue.too_large,
            truncated_values=consumer.serializer.truncated,
            queue_bytes=self.queue.bytes_used,
            queue_bytes_peak=self.queue.bytes_peak,
            sinks=tuple(
                SinkStats(w.name, w.delivered, w.failed, w.errors, w.stalled)
                for w in consumer.writers
            ),
        )

    # -- flush -------------------------------------------------------------------------------

    def flush(self, timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        """Wait until every event enqueued before this call is delivered or failed."""
        consumer = self.consumer
        if consumer.running_here():  # a sink flushing from inside its own batch
            return False
        target = self.queue.counts()[0]
        if consumer.processed >= target:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self.worker.flush_inline()
        return self._wait_processed(target, deadline)

    def _wait_processed(self, target: int, deadline: float | None) -> bool:
        """Wait for the barrier at ``target`` (an ``enqueued`` count); False at ``deadline``."""
        if self.consumer.holds_counts():  # a signal handler that interrupted the bookkeeping
            return self.consumer.wait_processed_holding(target, deadline)
        acknowledged = threading.Lock()
        acknowledged.acquire()
        withdraw = self.consumer.barrier(target, acknowledged.release)
        consumer = self.consumer
        try:
            # Each slice also looks at the count itself, so even a missed acknowledgement costs
            # one slice, not the whole timeout.
            while consumer.processed < target and not consumer.frozen:
                self.queue.wake()
                left = wait_slice(deadline)
                if left <= 0:
                    return False
                if acknowledged.acquire(timeout=left):
                    break
        finally:
            withdraw()
        return consumer.processed >= target

    async def aflush(self, timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        import asyncio

        consumer = self.consumer
        if consumer.running_here():
            return False
        target = self.queue.counts()[0]
        if consumer.processed >= target:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        acknowledged: asyncio.Future[None] = loop.create_future()
        withdraw = consumer.barrier(target, future_waker(acknowledged, loop))
        try:
            while not acknowledged.done() and consumer.processed < target and not consumer.frozen:
                self.queue.wake()
                left = wait_slice(deadline)
                if left <= 0:
                    return False
                await asyncio.wait({acknowledged}, timeout=left)
        finally:
            withdraw()
        return consumer.processed >= target

    # -- shutdown ----------------------------------------------------------------------------

    def _begin_close(self, successor: Pipeline | None) -> bool:
        with self._close_lock:
            if self.closed:
                return False
            self.closed = True
            self._closing_thread = threading.get_ident()
        self.queue.close(successor.queue if successor is not None else None)
        return True

    def _finish_close(
        self, drained: bool, deadline: float, keep_open: Sequence[Sink]
    ) -> PipelineStats:
        consumer = self.consumer
        if drained:
            consumer.drain_all()  # a caller preempted between taking a slot and appending
        if not (drained and consumer.wait_idle(deadline)):
            # Out of time: what the sinks still hold is failed for them, what is still queued
            # is lost. A sink stuck in a write keeps its thread; nothing waits for it.
            consumer.give_up()
        busy = consumer.close_sinks(
            keep_open={id(sink) for sink in keep_open},
            timeout=max(_CLOSE_GRACE_S, deadline - time.monotonic()),
        )
        if busy:
            report(f"shutdown: sink {', '.join(map(repr, busy))} still busy in a write; not closed")
        self.stopped = True
        wake_all(self._stop_waiters)
        return self.stats()

    def shutdown(
        self,
        timeout: float | None = None,
        *,
        successor: Pipeline | None = None,
    ) -> PipelineStats:
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        if not self._begin_close(successor):
            if successor is not None:
                self.queue.successor = successor.queue
            if self._closing_thread != threading.get_ident():
                self._wait_stopped(timeout)
            elif not self.stopped:
                # Nested in this thread's own shutdown (a signal handler that interrupted the
                # exit drain): that shutdown cannot go on until we return, but the worker
                # drains on its own thread, so wait for it here (the handler may end the
                # process next).
                target = self.queue.counts()[0]
                self._wait_processed(target, time.monotonic() + timeout)
            return self.stats()
        deadline = time.monotonic() + timeout
        drained = self.worker.stop(timeout)
        keep_open = successor.sinks if successor is not None else ()
        return self._finish_close(drained, deadline, keep_open)

    async def ashutdown(self, timeout: float | None = None) -> PipelineStats:
        import asyncio

        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        if not self._begin_close(None):
            if not self.stopped:
                loop = asyncio.get_running_loop()
                stopped: asyncio.Future[None] = loop.create_future()
                key = object()
                self._stop_waiters[key] = future_waker(stopped, loop)
                try:
                    if not self.stopped:
                        await asyncio.wait({stopped}, timeout=timeout)
                finally:
                    self._stop_waiters.pop(key, None)
            return self.stats()
        deadline = time.monotonic() + timeout
        drained = await self.worker.astop(timeout)
        return await asyncio.to_thread(self._finish_close, drained, deadline, ())

    def _wait_stopped(self, timeout: float) -> None:
        """Another thread is shutting this pipeline down: wait until it says it stopped."""
        stopped = threading.Lock()
        stopped.acquire()
        key = object()
        self._stop_waiters[key] = stopped.release
        try:
            if not self.stopped:  # registered first: _finish_close sets stopped, then looks
                stopped.acquire(timeout=timeout)
        finally:
            self._stop_waiters.pop(key, None)
