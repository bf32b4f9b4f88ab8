"""The pipeline (queue → worker → sinks) and the process-wide lifecycle around it.

One pipeline is current at a time. ``configure_logging`` builds a new one, points every logger
at it, then drains the old one, so a reconfigure loses nothing. ``shutdown`` closes the queue,
lets the worker drain it, and closes the sinks; it runs at exit too. After ``os.fork()`` the
child forgets its parent's pipeline (whose thread did not survive the fork and whose events the
parent will deliver) and builds its own on its first log call.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fapilog._consumer import Consumer
from fapilog._errors import ConfigError
from fapilog._logger import _configure_from_env, install, install_autoconfigure
from fapilog._queue import LogQueue
from fapilog._settings import LoggingSettings, env_name
from fapilog._stats import PipelineStats, SinkStats
from fapilog._worker import InlineWorker, ThreadWorker, Worker, report
from fapilog.sinks._base import Sink
from fapilog.sinks._uri import sink_from_uri

if TYPE_CHECKING:
    import asyncio

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
_FLUSH_POLL_S = 0.002


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
        self.queue = LogQueue(
            settings.queue_maxsize,
            wake_at=settings.queue_batch_size,
            overflow=settings.queue_overflow,
            block_timeout_s=settings.queue_block_timeout,
            sampling_rate=settings.sampling_rate,
            high_water=settings.queue_high_water,
        )
        self.consumer = Consumer(self.queue, self.sinks, settings.queue_batch_size)
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
        self._close_lock = threading.Lock()

    def start(self) -> None:
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
            queue_high_water_mark=max(self.queue.high_water_mark, depth),
            batches=consumer.batches,
            sink_errors=consumer.sink_errors,
            retries=consumer.retries,
            serialize_fallbacks=consumer.serializer.fallbacks,
            block_waits=block_waits,
            sinks=tuple(SinkStats(s.name, s.delivered, s.failed, s.errors) for s in consumer.slots),
        )

    # -- flush -------------------------------------------------------------------------------

    def flush(self, timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        """Wait until every event enqueued before this call is delivered or failed."""
        if self.consumer.running_here():  # a sink flushing from inside its own batch
            return False
        target = self.queue.counts()[0]
        if self.consumer.processed >= target:
            return True
        if self.worker.flush_inline():
            return self.consumer.processed >= target
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.consumer.processed < target and not self.stopped:
            self.queue.wake()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_FLUSH_POLL_S)
        return self.consumer.processed >= target

    async def aflush(self, timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        import asyncio

        if self.consumer.running_here():
            return False
        target = self.queue.counts()[0]
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.consumer.processed < target and not self.stopped:
            self.queue.wake()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_FLUSH_POLL_S)
        return self.consumer.processed >= target

    # -- shutdown ----------------------------------------------------------------------------

    def _begin_close(self, successor: Pipeline | None) -> bool:
        with self._close_lock:
            if self.closed:
                return False
            self.closed = True
        self.queue.close(successor.queue if successor is not None else None)
        return True

    def _finish_close(self, drained: bool, keep_open: Sequence[Sink]) -> PipelineStats:
        consumer = self.consumer
        if drained:
            consumer.drain_all()  # a caller preempted between taking a slot and appending
        else:
            consumer.abandon()  # what is still queued or in a sink's hands is now ``lost``
        # Close the sinks only when no batch is in their hands (a stalled sink may still be).
        if consumer.lock.acquire(timeout=0.5):
            try:
                consumer.close_sinks(keep_open={id(sink) for sink in keep_open})
            finally:
                consumer.lock.release()
        else:
            report("shutdown: a sink is still busy with a batch; sinks were not closed")
        self.stopped = True
        return self.stats()

    def shutdown(
        self,
        timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
        *,
        successor: Pipeline | None = None,
    ) -> PipelineStats:
        if not self._begin_close(successor):
            self._wait_stopped(timeout)
            return self.stats()
        drained = self.worker.stop(timeout)
        keep_open = successor.sinks if successor is not None else ()
        return self._finish_close(drained, keep_open)

    async def ashutdown(self, timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> PipelineStats:
        import asyncio

        if not self._begin_close(None):
            deadline = time.monotonic() + timeout
            while not self.stopped and time.monotonic() < deadline:
                await asyncio.sleep(_FLUSH_POLL_S)
            return self.stats()
        drained = await self.worker.astop(timeout)
        return self._finish_close(drained, ())

    def _wait_stopped(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.stopped and time.monotonic() < deadline:
            time.sleep(_FLUSH_POLL_S)


# -- process-wide state ----------------------------------------------------------------------

_state_lock = threading.RLock()
_current: Pipeline | None = None
#: Settings a forked child (or a log call at exit) rebuilds its pipeline from.
_inherited: LoggingSettings | None = None
#: True once fapilog's atexit hook ran: later pipelines deliver inline (no thread).
_exiting = False
#: True in a process made by os.fork() from one that had a pipeline.
_forked = False


def current_pipeline() -> Pipeline | None:
    """The pipeline log calls go to now (None before the first configure)."""
    return _current


def _running_loop() -> asyncio.AbstractEventLoop | None:
    if "asyncio" not in sys.modules:
        return None
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _open_sinks(specs: Sequence[str | Sink]) -> list[Sink]:
    opened: list[Sink] = []
    try:
        opened.extend(sink_from_uri(s) if isinstance(s, str) else s for s in specs)
    except BaseException:
        for sink, spec in zip(opened, specs, strict=False):
            if isinstance(spec, str):
                sink.close()
        raise
    return opened


def configure_logging(settings: LoggingSettings | None = None, **overrides: Any) -> LoggingSettings:
    """Build the pipeline from ``settings`` (default: :meth:`LoggingSettings.from_env`) with
    field ``overrides``; drain the previous pipeline first. Returns the settings in force.

    Raises :class:`ConfigError` for a bad value, an unknown field, a sink that cannot be opened,
    or ``worker="loop"`` outside a running event loop; the previous pipeline then stays as it was.
    """
    if settings is None:
        settings = LoggingSettings.from_env()
    elif not isinstance(settings, LoggingSettings):
        raise ConfigError(
            f"settings: {settings!r} is not accepted; expected a fapilog.LoggingSettings or None"
        )
    if overrides:
        settings = settings.replace(**overrides)
    loop = None
    if settings.worker == "loop":
        loop = _running_loop()
        if loop is None:
            raise ConfigError(
                f"{env_name('worker')} (worker): 'loop' needs a running event loop; call "
                "configure_logging() from a coroutine on the loop that should host the worker, "
                "or use worker='thread'"
            )
    pipeline = Pipeline(settings, _open_sinks(settings.sinks), loop, inline=_exiting)
    _swap(pipeline)
    return settings


def _swap(pipeline: Pipeline) -> None:
    global _current
    with _state_lock:
        old = _current
        pipeline.start()
        _current = pipeline
        install(pipeline.queue, pipeline.settings.level_number)
    if old is not None:
        final = old.shutdown(successor=pipeline)
        if final.lost or final.failed:
            report(
                f"reconfigure: the previous pipeline ended with {final.lost} events lost and "
                f"{final.failed} failed (its sinks did not take them within "
                f"{DEFAULT_SHUTDOWN_TIMEOUT_S:g} s)"
            )


def autoconfigure() -> None:
    """First log call before any configure: build the pipeline from the environment.

    Runs inside a log call, so it never raises: whatever goes wrong is reported on stderr and
    the closest working pipeline is built instead.
    """
    with _state_lock:
        if _current is not None:
            return
        global _inherited
        settings, _inherited = _inherited, None
        try:
            if settings is None:
                settings = LoggingSettings.from_env()
        except Exception as exc:
            report(f"{exc}; using the default settings")
            settings = LoggingSettings()
        loop = _running_loop() if settings.worker == "loop" else None
        if settings.worker == "loop" and loop is None:
            report("worker='loop' needs a running event loop; using worker='thread'")
            settings = settings.replace(worker="thread")
        try:
            sinks = _open_sinks(settings.sinks)
        except Exception as exc:
            report(f"{exc}; logging to stdout instead")
            settings = settings.replace(sinks=("stdout",))
            sinks = _open_sinks(settings.sinks)
        _swap(Pipeline(settings, sinks, loop, inline=_exiting))
        if _exiting:
            return
        # A child made by multiprocessing's fork ends with os._exit, skipping atexit: its
        # own exit hook is the last chance to drain.
        mp_util = sys.modules.get("multiprocessing.util") if _forked else None
        if mp_util is not None:
            mp_util.Finalize(None, _at_exit, exitpriority=100)


def stats() -> PipelineStats:
    """A snapshot of the current pipeline's counts (all zero before the first configure)."""
    pipeline = _current
    return pipeline.stats() if pipeline is not None else PipelineStats()


def flush(timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
    """Wait until everything enqueued so far is delivered; False when ``timeout`` expired."""
    pipeline = _current
    return pipeline.flush(timeout) if pipeline is not None else True


async def aflush(timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
    """Awaitable :func:`flush` that does not block the event loop."""
    pipeline = _current
    return await pipeline.aflush(timeout) if pipeline is not None else True


def shutdown(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> PipelineStats:
    """Stop accepting events, drain the queue, flush and close the sinks; return final counts.

    Safe to call twice. Events still queued when ``timeout`` expires are counted as ``lost``.
    Later log calls return False and count as ``dropped`` until ``configure_logging`` runs again.
    """
    pipeline = _current
    return pipeline.shutdown(timeout) if pipeline is not None else PipelineStats()


async def ashutdown(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> PipelineStats:
    """Awaitable :func:`shutdown` that does not block the event loop while the queue drains."""
    pipeline = _current
    return await pipeline.ashutdown(timeout) if pipeline is not None else PipelineStats()


def _at_exit() -> None:
    global _exiting, _inherited
    # From here on no worker thread would be drained (or even start): a pipeline built by a
    # later log call (another atexit handler logging) delivers inline, with the same settings.
    _exiting = True
    pipeline = _current
    if pipeline is not None:
        pipeline.shutdown(DEFAULT_SHUTDOWN_TIMEOUT_S)
        with _state_lock:
            if pipeline is _current:
                _inherited = pipeline.settings
                _forget()


def _after_fork_in_child() -> None:
    # The parent's worker thread does not exist here, and its locks may have been held at the
    # fork: forget that pipeline entirely. Its queued events are the parent's to deliver.
    global _state_lock, _inherited, _forked
    _state_lock = threading.RLock()
    _forked = True
    if _current is not None:
        _inherited = _current.settings
    _forget()


def _forget() -> None:
    """Back to the unconfigured state: the next log call configures from the environment."""
    global _current
    _current = None
    install_autoconfigure(_configure_from_env)


def reset(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> PipelineStats:
    """Shut the current pipeline down and forget it (for tests and embedding applications)."""
    final = shutdown(timeout)
    with _state_lock:
        _forget()
    return final


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
