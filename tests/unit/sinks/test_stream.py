"""StdoutSink and StderrSink: one JSON line per event on their stream."""

from __future__ import annotations

import json

import pytest

import fapilog


def test_stdout_sink_writes_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """The default stdout sink writes one JSON line per event."""
    fapilog.configure_logging(sinks=("stdout",))
    fapilog.log.info("to stdout", n=1)
    fapilog.shutdown()
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["to stdout"]


def test_stderr_sink_writes_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """The stderr URI writes to stderr, not stdout."""
    fapilog.configure_logging(sinks=("stderr",))
    fapilog.log.info("to stderr")
    fapilog.shutdown()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err.splitlines()[-1])["event"] == "to stderr"
