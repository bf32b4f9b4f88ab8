"""sink_from_uri: the documented URIs, and a ConfigError naming FAPILOG_SINKS for anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

import fapilog
from fapilog import ConfigError
from fapilog.sinks import FileSink, MemorySink, NullSink, StderrSink, StdoutSink, sink_from_uri


def test_uris_build_the_named_sinks(tmp_path: Path) -> None:
    """Each documented URI gives its sink, with its parameters applied."""
    assert isinstance(sink_from_uri("stdout"), StdoutSink)
    assert isinstance(sink_from_uri("stderr"), StderrSink)
    assert isinstance(sink_from_uri("null"), NullSink)
    memory = sink_from_uri("memory?keep=5&delay=0.01")
    assert isinstance(memory, MemorySink)
    assert (memory.keep, memory.delay) == (5, 0.01)
    path = tmp_path / "sub" / "app.log"
    file_sink = sink_from_uri(f"file://{path}?max_bytes=1000&backup_count=2")
    assert isinstance(file_sink, FileSink)
    assert (file_sink.path, file_sink.max_bytes, file_sink.backup_count) == (path, 1000, 2)
    assert path.parent.is_dir()
    file_sink.close()


@pytest.mark.parametrize(
    "uri",
    [
        "kafka://host",
        "stdot",
        "file://remote/host.log",
        "file://",
        "memory?keep=x",
        "memory?size=3",
        "file:///tmp/a.log?max_bytes=-1",
        "null?x=1",
    ],
)
def test_bad_uris_are_config_errors(uri: str) -> None:
    """An unknown sink, bad parameter or remote file names FAPILOG_SINKS and lists the URIs."""
    with pytest.raises(ConfigError) as info:
        sink_from_uri(uri)
    assert "FAPILOG_SINKS" in str(info.value)
    assert "stdout, stderr, null" in str(info.value)


def test_non_sink_object_is_rejected() -> None:
    """An object without write/flush/close is not a sink."""
    with pytest.raises(ConfigError, match="no write/flush/close"):
        fapilog.configure_logging(sinks=(object(),))


@pytest.mark.parametrize("uri", ["memory?delay=nan", "memory?delay=inf"])
def test_non_finite_sink_parameters_are_config_errors(uri: str) -> None:
    """NaN or infinite sink parameters fail at configure time with ConfigError, not ValueError."""
    with pytest.raises(ConfigError, match="FAPILOG_SINKS"):
        fapilog.configure_logging(sinks=(uri,))
