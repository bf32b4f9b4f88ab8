"""``shutdown_signals``: drain on the signals services are stopped with, then pass them on.

Python's default SIGTERM disposition ends the process at once, skipping ``atexit``, so whatever
is queued is lost. For each configured signal fapilog installs a handler that drains (within
``shutdown_timeout``) and then does what would have happened without it: call the handler that
was installed before (uvicorn's, asyncio's, ``default_int_handler`` for SIGINT), ignore the
signal if it was ignored, or — for the default disposition — shut down and end the process by
that same signal, so a supervisor sees exactly the status it expects (128 + signal number).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from fapilog._errors import ConfigError
from fapilog._settings import env_name

Handler = Callable[[int, FrameType | None], Any] | int | None


class SignalDrain:
    """The handlers one pipeline installed, and how to put back what was there before."""

    def __init__(
        self,
        names: tuple[str, ...],
        flush: Callable[[float], object],
        shutdown: Callable[[float], object],
        timeout_s: float,
    ) -> None:
        self.names = names
        self._flush = flush
        self._shutdown = shutdown
        self._timeout_s = timeout_s
        self._previous: dict[int, Handler] = {}

    def install(self) -> None:
        """Install the handlers (main thread only: Python runs signal handlers there)."""
        if threading.current_thread() is not threading.main_thread():
            raise ConfigError(
                f"{env_name('shutdown_signals')} (shutdown_signals): {','.join(self.names)!r} "
                "needs configure_logging() to run in the main thread (Python delivers signals "
                "only there); configure from the main thread or leave shutdown_signals empty"
            )
        for name in self.names:
            number = signal.Signals[name].value
            self._previous[number] = signal.getsignal(number)
            signal.signal(number, self._handle)

    def restore(self) -> None:
        """Put the previous handlers back, where ours is still the one installed."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous, self._previous = self._previous, {}
        for number, handler in previous.items():
            try:
                if signal.getsignal(number) == self._handle:
                    signal.signal(number, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError):  # interpreter finalizing, or an exotic signal
                pass

    def _handle(self, number: int, frame: FrameType | None) -> None:
        previous = self._previous.get(number, signal.SIG_DFL)
        if callable(previous):
            # Someone else decides what this signal means (uvicorn starts a graceful stop,
            # SIGINT raises KeyboardInterrupt): deliver what is queued, then hand it on.
            self._flush(self._timeout_s)
            previous(number, frame)
            return
        if previous == signal.SIG_IGN:
            self._flush(self._timeout_s)
            return
        # The default disposition ends the process without atexit: drain and close the sinks,
        # then end the same way the default would have.
        self._shutdown(self._timeout_s)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)  # only if the signal did not end us (it is blocked, say)
