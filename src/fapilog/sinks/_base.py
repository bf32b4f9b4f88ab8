"""The sink interface: what the worker hands each batch to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    """Receives batches of serialized events from the single worker.

    ``write`` gets a batch of JSON lines (``bytes``, each ending in ``b"\\n"``); the same objects
    go to every sink, so a sink must not mutate them. Only the worker calls a sink, one call at a
    time, so a sink needs no lock of its own. An exception from ``write`` makes the worker retry
    the batch with backoff and then count it as failed for this sink; it never reaches the
    application. ``flush`` is called after each batch, ``close`` once at shutdown.
    """

    def write(self, lines: Sequence[bytes]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def sink_name(sink: object) -> str:
    """The label used for per-sink statistics and error reports."""
    name = getattr(sink, "name", None)
    return name if isinstance(name, str) and name else type(sink).__name__
