"""The process-wide lifecycle: the current pipeline; configure, flush, shutdown, exit, fork.

One pipeline is current at a time (:class:`ProcessState`, one object per process). Calling
``configure_logging`` builds a new one, points every logger at it, then drains the old one, so a
reconfigure loses nothing. ``shutdown`` drains the current one; it runs at exit too. After
``os.fork()`` the child forgets its parent's pipeline (whose threads did not survive the fork and
whose events the parent will deliver) and builds its own on its first log call.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fapilog._errors import ConfigError
from fapilog._logger import install_autoconfigure
from fapilog._methods import install
from fapilog._pipeline import DEFAULT_SHUTDOWN_TIMEOUT_S, Pipeline
from fapilog._queue import LogQueue
from fapilog._report import report
from fapilog._settings import LoggingSettings, env_name
from fapilog._signals import SignalDrain
from fapilog._stats import PipelineStats
from fapilog.sinks._base import Sink
from fapilog.sinks._uri import sink_from_uri

if TYPE_CHECKING:
    import asyncio


class ProcessState:
    """What this process holds: the current pipeline and what surrounds it."""

    def __init__(self) -> None:
        #: Guards :attr:`current` and :attr:`signal_drain` (re-entrant: a signal handler that
        #: configures or shuts down may interrupt a configure on the same thread).
        self.lock = threading.RLock()
        #: The pipeline log calls go to; None before the first configure and after a reset.
        self.current: Pipeline | None = None
        #: Settings a forked child (or a log call at exit) rebuilds its pipeline from.
        self.inherited: LoggingSettings | None = None
        #: True once fapilog's atexit hook ran: later pipelines deliver inline (no thread).
        self.exiting = False
        #: True in a process made by os.fork() from one that had a pipeline.
        self.forked = False
        #: The current pipeline's ``shutdown_signals`` handlers.
        self.signal_drain: SignalDrain | None = None
        #: True once this process registered its drain with multiprocessing's exit hook.
        self.mp_hooked = False


STATE = ProcessState()


def current_pipeline() -> Pipeline | None:
    """The pipeline log calls go to now (None before the first configure)."""
    return STATE.current


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
    pipeline = Pipeline(settings, _open_sinks(settings.sinks), loop, inline=STATE.exiting)
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
    with STATE.lock:
        old = STATE.current
        pipeline.start(on_sized=lambda: _install_sized(pipeline))
        STATE.current = pipeline
        install(pipeline.queue, pipeline.settings.level_number)
        if STATE.signal_drain is not None:
            STATE.signal_drain.restore()
        STATE.signal_drain = drain
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


def _install_sized(pipeline: Pipeline) -> None:
    """The first large event: from now on the log methods charge sizes (if ``pipeline`` is
    still the current one; a replaced one forwards its calls anyway)."""
    # Bounded wait: a configure in progress holds this lock only briefly.
    if STATE.lock.acquire(timeout=1.0):
        try:
            if STATE.current is pipeline:
                install(pipeline.queue, pipeline.settings.level_number)
        finally:
            STATE.lock.release()


def _hook_multiprocessing_exit() -> None:
    """A multiprocessing child (fork or forkserver) ends with ``os._exit``, skipping atexit:
    register the drain with multiprocessing's own exit hook, once per process."""
    if STATE.mp_hooked or STATE.exiting:
        return
    mp = sys.modules.get("multiprocessing")
    if mp is None or mp.parent_process() is None:
        return
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _at_exit, exitpriority=100)
    STATE.mp_hooked = True


def autoconfigure() -> None:
    """First log call before any configure: build the pipeline from the environment.

    Runs inside a log call, so it never raises: whatever goes wrong is reported on stderr and
    the closest working pipeline is built instead.
    """
    with STATE.lock:
        if STATE.current is not None:
            # The auto methods were put back over a live pipeline (``fapilog`` re-imported or
            # reloaded): point the Logger at it again.
            install(STATE.current.queue, STATE.current.settings.level_number)
            return
        settings, STATE.inherited = STATE.inherited, None
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
        if settings.shutdown_signals and not STATE.forked:
            if threading.current_thread() is threading.main_thread():
                drain = _signal_drain_for(settings)
            else:
                report(
                    "shutdown_signals: the first log call ran outside the main thread, where "
                    "no signal handler can be installed; call configure_logging() from the "
                    "main thread"
                )
        _swap(Pipeline(settings, sinks, loop, inline=STATE.exiting), drain)


def stats() -> PipelineStats:
    """A snapshot of the current pipeline's counts (all zero before the first configure)."""
    pipeline = STATE.current
    return pipeline.stats() if pipeline is not None else PipelineStats()


def flush(timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
    """Wait until everything enqueued so far is delivered; False when ``timeout`` expired."""
    pipeline = STATE.current
    return pipeline.flush(timeout) if pipeline is not None else True


async def aflush(timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
    """Awaitable :func:`flush` that does not block the event loop."""
    pipeline = STATE.current
    return await pipeline.aflush(timeout) if pipeline is not None else True


def _restore_signal_handlers() -> None:
    with STATE.lock:
        if STATE.signal_drain is not None:
            STATE.signal_drain.restore()
            STATE.signal_drain = None


def shutdown(timeout: float | None = None) -> PipelineStats:
    """Stop enqueuing events, drain the queue, flush and close the sinks; return final counts.

    ``timeout`` defaults to the ``shutdown_timeout`` setting. Safe to call twice. Events still
    queued when it expires are counted as ``lost``; events a sink still held then are counted
    as ``failed`` for that sink. Later log calls return False and count as ``dropped`` until
    ``configure_logging`` runs again. Restores the signal handlers ``shutdown_signals`` replaced.
    """
    pipeline = STATE.current
    _restore_signal_handlers()
    return pipeline.shutdown(timeout) if pipeline is not None else PipelineStats()


async def ashutdown(timeout: float | None = None) -> PipelineStats:
    """Awaitable :func:`shutdown` that does not block the event loop while the queue drains."""
    pipeline = STATE.current
    _restore_signal_handlers()
    return await pipeline.ashutdown(timeout) if pipeline is not None else PipelineStats()


def _at_exit() -> None:
    # From here on no worker thread would be drained (or even start): a pipeline built by a
    # later log call (another atexit handler logging) delivers inline, with the same settings.
    STATE.exiting = True
    pipeline = STATE.current
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
    with STATE.lock:
        if pipeline is STATE.current:
            STATE.inherited = pipeline.settings
            _forget()


def _after_fork_in_child() -> None:
    # The parent's threads do not exist here, and its locks may have been held at the fork:
    # forget that pipeline entirely (its queued events are the parent's to deliver), and let
    # each sink instance the child will reuse drop what it inherited.
    STATE.lock = threading.RLock()
    STATE.forked = True
    STATE.signal_drain = None  # the handlers stay installed, as fork keeps them; they act here too
    STATE.mp_hooked = False
    parent = STATE.current
    if parent is not None:
        STATE.inherited = parent.settings
        # Log methods captured before the fork still point at the parent's queue: closed
        # here, it forwards their calls to the child's own pipeline.
        parent.queue.disown_waiters()
        parent.queue.close()
        parent.queue.adopter = _child_queue
        for sink in parent.sinks:
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
    if STATE.current is None:
        autoconfigure()
    pipeline = STATE.current
    return pipeline.queue if pipeline is not None else None


def _forget() -> None:
    """Back to the unconfigured state: the next log call configures from the environment."""
    STATE.current = None
    install_autoconfigure(autoconfigure)


def reset(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> PipelineStats:
    """Shut the current pipeline down and forget it (for tests and embedding applications)."""
    final = shutdown(timeout)
    with STATE.lock:
        _forget()
    return final


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
