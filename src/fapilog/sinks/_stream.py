"""Sinks for the process's standard streams: one write per batch."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO


class _StreamSink:
    name = "stream"

    def _stream(self) -> TextIO:  # pragma: no cover - overridden
        raise NotImplementedError

    def write(self, lines: Sequence[bytes]) -> None:
        # Look the stream up on every batch: tests and servers swap sys.stdout at run time.
        stream = self._stream()
        data = b"".join(lines)
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:
            stream.write(data.decode("utf-8", "replace"))

    def flush(self) -> None:
        self._stream().flush()

    def close(self) -> None:
        # The process owns its standard streams; flushing is all a sink may do to them.
        self.flush()


class StdoutSink(_StreamSink):
    """JSON lines to ``sys.stdout``."""

    name = "stdout"

    def _stream(self) -> TextIO:
        return sys.stdout


class StderrSink(_StreamSink):
    """JSON lines to ``sys.stderr``."""

    name = "stderr"

    def _stream(self) -> TextIO:
        return sys.stderr
