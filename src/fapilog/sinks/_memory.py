"""In-memory sinks: the debug sink behind the load test, and a sink that discards."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Sequence
from typing import Any


class MemorySink:
    """The debug sink: counts what it receives and can keep the last ``keep`` records.

    ``delay`` seconds are slept per batch to stand in for a slow downstream (a network
    collector, a full disk), which is how the load test creates back-pressure.
    """

    name = "memory"

    def __init__(self, keep: int = 0, delay: float = 0.0) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"MemorySink keep: {keep!r} is not accepted; expected an integer >= 0")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0:
            raise ValueError(f"MemorySink delay: {delay!r} is not accepted; expected seconds >= 0")
        self.keep = keep
        self.delay = float(delay)
        #: Events delivered to this sink.
        self.count = 0
        #: Batches delivered to this sink.
        self.batches = 0
        self.closed = False
        self._lines: deque[bytes] = deque(maxlen=keep)

    def write(self, lines: Sequence[bytes]) -> None:
        if self.delay:
            time.sleep(self.delay)
        self.count += len(lines)
        self.batches += 1
        if self.keep:
            self._lines.extend(lines[-self.keep :])

    @property
    def lines(self) -> list[bytes]:
        """The last ``keep`` JSON lines, oldest first."""
        return list(self._lines)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The last ``keep`` records, parsed back from their JSON lines, oldest first."""
        return [json.loads(line) for line in list(self._lines)]

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class NullSink:
    """Discards everything: measures the pipeline without any sink cost."""

    name = "null"

    def write(self, lines: Sequence[bytes]) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
