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
from fapilog._report import report
from fapilog._serialize import Serializer
from fapilog._settings import LoggingSettings, env_name
from fapilog._signals import SignalDrain
from fapilog._stats import PipelineStats, SinkStats
from fapilog._worker import InlineWorker, ThreadWorker, Worker
from fapilog._writer import WritePolicy
from fapilog.sinks._base import Sink
from fapilog.sinks._uri import sink_from_uri

if TYPE_CHECKING:
    import asyncio

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
_FLUSH_POLL_S = 0.002
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

    def _install_sized(self) -> None:
        """The first large event: from now on the log methods charge sizes (if this pipeline
        is still the current one; a replaced one forwards its calls anyway)."""
        # Bounded wait: a configure in progress holds this lock only briefly.
        if _state_lock.acquire(timeout=1.0):
            try:
                if _current is self:
                    install(self.queue, self.settings.level_number)
            finally:
                _state_lock.release()

    def start(self) -> None:
        self.queue.on_sized = self._install_sized
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
            queue_depth_peak=max(self.queue.high_water_mark, depth),
            batches=consumer.batches,
            sink_errors=consumer.sink_errors,
            retries=consumer.retries,
            serialize_fallbacks=consumer.serializer.fallbacks + consumer.last_resort_lines,
            block_waits=block_waits,
            dropped_too_large=self.queue.too_large,
            truncated_values=consumer.serializer.truncated,
            queue_bytes=self.queue.bytes_used,
            queue_bytes_peak=self.queue.bytes_high_water_mark,
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
        return consumer.wait_processed(target, deadline, self.queue.wake)

    async def aflush(self, timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        import asyncio

        consumer = self.consumer
        if consumer.running_here():
            return False
        target = self.queue.counts()[0]
        deadline = None if timeout is None else time.monotonic() + timeout
        while consumer.processed < target and not consumer.frozen:
            self.queue.wake()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_FLUSH_POLL_S)
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
                self.consumer.wait_processed(target, time.monotonic() + timeout, self.queue.wake)
            return self.stats()
        deadline = time.monotonic() + timeout
        drained = self.worker.stop(timeout)
        keep_open = successor.sinks if successor is not None else ()
        return self._finish_close(drained, deadline, keep_open)

    async def ashutdown(self, timeout: float | None = None) -> PipelineStats:
        import asyncio

        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        if not self._begin_close(None):
            deadline = time.monotonic() + timeout
            while not self.stopped and time.monotonic() < deadline:
                await asyncio.sleep(_FLUSH_POLL_S)
            return self.stats()
        deadline = time.monotonic() + timeout
        drained = await self.worker.astop(timeout)
        return await asyncio.to_thread(self._finish_close, drained, deadline, ())

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
#: The current pipeline's ``shutdown_signals`` handlers.
_signal_drain: SignalDrain | None = None
#: True once this process registered its drain with multiprocessing's exit hook.
_mp_hooked = False


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
    ``worker="loop"`` outside a running event loop, or ``shutdown_signals`` outside the main
    thread; the previous pipeline then stays as it was.
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
    drain = _signal_drain_for(settings)
    pipeline = Pipeline(settings, _open_sinks(settings.sinks), loop, inline=_exiting)
    _swap(pipeline, drain)
    return settings


def _signal_drain_for(settings: LoggingSettings) -> SignalDrain | None:
    if not settings.shutdown_signals:
        return None
    drain = SignalDrain(settings.shutdown_signals, flush, shutdown, settings.shutdown_timeout)
    if threading.current_thread() is not threading.main_thread():
        drain.install()  # raises the ConfigError that says why, before anything changes
    return drain


def _swap(pipeline: Pipeline, drain: SignalDrain | None = None) -> None:
    global _current, _signal_drain
    with _state_lock:
        old = _current
        pipeline.start()
        _current = pipeline
        install(pipeline.queue, pipeline.settings.level_number)
        if _signal_drain is not None:
            _signal_drain.restore()
        _signal_drain = drain
        if drain is not None:
            drain.install()
        _hook_multiprocessing_exit()
    if old is not None:
        was_open = not old.closed
        timeout = old.settings.shutdown_timeout
        final = old.shutdown(timeout, successor=pipeline)
        if was_open and (final.lost or final.failed):
            report(
                f"reconfigure: the previous pipeline ended with {final.lost} events lost and "
                f"{final.failed} failed (its sinks did not take them within {timeout:g} s)"
            )


def _hook_multiprocessing_exit() -> None:
    """A multiprocessing child (fork or forkserver) ends with ``os._exit``, skipping atexit:
    register the drain with multiprocessing's own exit hook, once per process."""
    global _mp_hooked
    if _mp_hooked or _exiting:
        return
    mp = sys.modules.get("multiprocessing")
    if mp is None or mp.parent_process() is None:
        return
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _at_exit, exitpriority=100)
    _mp_hooked = True


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
        drain: SignalDrain | None = None
        # A forked child keeps the handlers it inherited (they act on its own pipeline).
        if settings.shutdown_signals and not _forked:
            if threading.current_thread() is threading.main_thread():
                drain = _signal_drain_for(settings)
            else:
                report(
                    "shutdown_signals: the first log call ran outside the main thread, where "
                    "no signal handler can be installed; call configure_logging() from the "
                    "main thread"
                )
        _swap(Pipeline(settings, sinks, loop, inline=_exiting), drain)


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


def shutdown(timeout: float | None = None) -> PipelineStats:
    """Stop accepting events, drain the queue, flush and close the sinks; return final counts.

    ``timeout`` defaults to the ``shutdown_timeout`` setting. Safe to call twice. Events still
    queued when it expires are counted as ``lost``; events a sink still held then are counted
    as ``failed`` for that sink. Later log calls return False and count as ``dropped`` until
    ``configure_logging`` runs again. Restores the signal handlers ``shutdown_signals`` replaced.
    """
    global _signal_drain
    pipeline = _current
    with _state_lock:
        if _signal_drain is not None:
            _signal_drain.restore()
            _signal_drain = None
    return pipeline.shutdown(timeout) if pipeline is not None else PipelineStats()


async def ashutdown(timeout: float | None = None) -> PipelineStats:
    """Awaitable :func:`shutdown` that does not block the event loop while the queue drains."""
    global _signal_drain
    pipeline = _current
    with _state_lock:
        if _signal_drain is not None:
            _signal_drain.restore()
            _signal_drain = None
    return await pipeline.ashutdown(timeout) if pipeline is not None else PipelineStats()


def _at_exit() -> None:
    global _exiting, _inherited
    # From here on no worker thread would be drained (or even start): a pipeline built by a
    # later log call (another atexit handler logging) delivers inline, with the same settings.
    _exiting = True
    pipeline = _current
    if pipeline is None:
        return
    was_open = not pipeline.closed
    timeout = pipeline.settings.shutdown_timeout
    final = pipeline.shutdown(timeout)
    if was_open and (final.lost or final.failed):
        report(
            f"exit: {final.lost} events lost and {final.failed} failed (the sinks did not take "
            f"them within shutdown_timeout={timeout:g} s)"
        )
    with _state_lock:
        if pipeline is _current:
            _inherited = pipeline.settings
            _forget()


def _after_fork_in_child() -> None:
    # The parent's threads do not exist here, and its locks may have been held at the fork:
    # forget that pipeline entirely (its queued events are the parent's to deliver), and let
    # each sink instance the child will reuse drop what it inherited.
    global _state_lock, _inherited, _forked, _signal_drain, _mp_hooked
    _state_lock = threading.RLock()
    _forked = True
    _signal_drain = None  # the handlers stay installed, as fork keeps them; they act here too
    _mp_hooked = False
    if _current is not None:
        _inherited = _current.settings
        # Log methods captured before the fork still point at the parent's queue: closed
        # here, it forwards their calls to the child's own pipeline.
        _current.queue._sleepers.clear()  # the parent's waiters: not ours to wake
        _current.queue.close()
        _current.queue.adopter = _child_queue
        for sink in _current.sinks:
            hook = getattr(sink, "after_fork_in_child", None)
            if callable(hook):
                try:
                    hook()
                except Exception as exc:
                    report(f"sink {type(sink).__name__!r} after_fork_in_child failed: {exc!r}")
    _forget()


def _child_queue() -> LogQueue | None:
    """The forked child's current queue, configured on demand (for calls forwarded from the
    parent's queue)."""
    if _current is None:
        autoconfigure()
    return _current.queue if _current is not None else None


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
