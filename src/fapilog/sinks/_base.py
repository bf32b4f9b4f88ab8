"""The sink interface: what the worker hands each batch to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    """Receives batches of serialized events from the worker.

    ``write`` gets a batch of JSON lines (``bytes``, each ending in ``b"\\n"``); the same objects
    go to every sink, so a sink must not mutate them. Each sink is called from one thread at a
    time (its own writer), so a sink needs no lock of its own. An exception from ``write`` makes
    fapilog retry the batch with backoff and then count it as failed for this sink; it never
    reaches the application. ``flush`` is called after each batch, ``close`` once at shutdown.

    Two optional hooks:

    - ``write`` may raise :class:`PartialWrite` to say that the first ``written`` lines of the
      batch are safely written (they are counted as delivered and never written again); only the
      rest of the batch is retried.
    - ``after_fork_in_child()``, when a sink defines it, is called in a child made by
      ``os.fork()`` before the child's pipeline first uses the sink: drop locks, buffers and
      threads inherited from the parent (for example, reopen the file).
    """

    def write(self, lines: Sequence[bytes]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class PartialWrite(OSError):
    """Raised by a sink's ``write`` when only the first ``written`` lines of the batch are
    written (whole lines, flushed); ``__cause__`` is the error that stopped the rest."""

    def __init__(self, written: int, message: str = "") -> None:
        super().__init__(message or f"only {written} lines of the batch were written")
        self.written = written


def sink_name(sink: object) -> str:
    """The label used for per-sink statistics and error reports."""
    name = getattr(sink, "name", None)
    return name if isinstance(name, str) and name else type(sink).__name__
