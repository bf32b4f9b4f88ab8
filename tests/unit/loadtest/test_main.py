"""fapilog.loadtest's main(): report and JSON, --check, usage errors, the progress line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fapilog.loadtest import main
from fapilog.loadtest._config import LoadTestConfig
from fapilog.loadtest._main import _progress_writer

TINY = LoadTestConfig(concurrency=2, rate=500.0, duration=0.2, warmup=0.1)


def test_main_prints_the_report_and_writes_consistent_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() prints the four lines first and the JSON carries the same numbers."""
    out = tmp_path / "r.json"
    argv = ["--concurrency", "2", "--rate", "500", "--duration", "0.2", "--warmup", "0"]
    assert main([*argv, "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    document = json.loads(out.read_text())
    (run,) = document["runs"]
    assert lines[0] == f"Total logs attempted: {run['attempted']:,}"
    assert lines[1] == f"Successfully enqueued: {run['enqueued']:,}"
    assert lines[2] == f"Dropped: {run['dropped']:,}"
    assert lines[3].startswith("Avg enqueue latency: ")
    assert lines[3].endswith(" µs")


def test_check_exits_1_when_the_target_is_missed(capsys: pytest.CaptureFixture[str]) -> None:
    """--check turns FAIL (here: an unreachable 1 ns target) into exit status 1."""
    argv = ["--concurrency", "1", "--rate", "200", "--duration", "0.1", "--warmup", "0"]
    assert main([*argv, "--target-latency-us", "0.001"]) == 0  # FAIL, but no --check
    assert main([*argv, "--target-latency-us", "0.001", "--check"]) == 1
    assert "Result: FAIL" in capsys.readouterr().out


def test_unwritable_json_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --json path that cannot be written is a usage error naming --json."""
    argv = ["--concurrency", "1", "--rate", "200", "--duration", "0.05", "--warmup", "0"]
    assert main([*argv, "--json", str(tmp_path / "missing" / "r.json")]) == 2
    assert "--json" in capsys.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_never_over_stdout_logs() -> None:
    """The progress line is for a person at a terminal; pipes and the stdout sink get none."""
    assert _progress_writer(LoadTestConfig(), io.StringIO()) is None
    assert _progress_writer(LoadTestConfig(sink="stdout"), FakeTerminal()) is None
    terminal = FakeTerminal()
    show = _progress_writer(LoadTestConfig(), terminal)
    assert show is not None
    show("[drop] 1.0/5 s")
    assert terminal.getvalue() == "\r\x1b[K[drop] 1.0/5 s"


def test_progress_line_is_shown_and_cleared_during_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal a long-enough run shows progress, and the line is cleared before the report."""
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stdout", terminal)
    argv = ["--concurrency", "1", "--rate", "200", "--duration", "0.7", "--warmup", "0"]
    assert main(argv) == 0
    text = terminal.getvalue()
    assert "[drop]" in text
    assert "attempted" in text
    assert "\r\x1b[KTotal logs attempted:" in text


def test_file_sink_that_cannot_open_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file sink whose path cannot be opened is a bad --sink: exit 2, one line naming it."""
    (tmp_path / "plain").write_text("not a directory")
    argv = ["--duration", "0.05", "--warmup", "0", "--sink", f"file:{tmp_path}/plain/x.log"]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "--sink" in line
