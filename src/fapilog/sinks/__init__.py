"""Where serialized events go: the :class:`Sink` protocol and the sinks that ship with fapilog."""

from fapilog.sinks._base import PartialWrite, Sink
from fapilog.sinks._file import FileSink
from fapilog.sinks._memory import MemorySink, NullSink
from fapilog.sinks._stream import StderrSink, StdoutSink
from fapilog.sinks._uri import sink_from_uri

__all__ = [
    "FileSink",
    "MemorySink",
    "NullSink",
    "PartialWrite",
    "Sink",
    "StderrSink",
    "StdoutSink",
    "sink_from_uri",
]
