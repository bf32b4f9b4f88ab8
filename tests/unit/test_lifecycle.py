"""Process-wide lifecycle: configure_logging (errors keep the pipeline in force), auto-configure
from the environment, reconfigure (blocked callers move on, losses are reported), flush and
shutdown."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import fapilog
from fapilog import ConfigError, _lifecycle
from fapilog.sinks import MemorySink


class Slow(MemorySink):
    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.2)
        super().write(lines)


# --- configure_logging: a bad value is a ConfigError and the pipeline in force stays ---------


def test_settings_must_be_logging_settings() -> None:
    """Passing something else as settings is a ConfigError, not an AttributeError later."""
    with pytest.raises(ConfigError, match="LoggingSettings"):
        fapilog.configure_logging({"level": "INFO"})  # type: ignore[arg-type]


def test_bad_value_keeps_previous_pipeline() -> None:
    """A failed reconfigure leaves the running pipeline in place and logging."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    assert fapilog.log.info("before")
    with pytest.raises(ConfigError):
        fapilog.configure_logging(sinks=(sink,), queue_overflow="nope")
    assert fapilog.log.info("still here")
    assert fapilog.flush(5)
    assert sink.count == 2
    assert fapilog.stats().enqueued == 2  # a new pipeline would have started counting at 0


def test_loop_worker_outside_a_loop_is_a_config_error() -> None:
    """worker='loop' needs a running loop at configure time, and says so."""
    with pytest.raises(ConfigError, match=r"FAPILOG_WORKER.*running event loop"):
        fapilog.configure_logging(worker="loop", sinks=("null",))


def test_loop_worker_inside_a_loop_configures() -> None:
    """From a coroutine, worker='loop' runs the worker as a task on that loop."""
    sink = MemorySink()

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(worker="loop", sinks=(sink,))
        for i in range(10):
            fapilog.log.info("e", i=i)
        return await fapilog.ashutdown()

    final = asyncio.run(main())
    assert (final.enqueued, final.delivered, sink.count) == (10, 10, 10)


def test_unopenable_file_sink_is_a_config_error(tmp_path: object) -> None:
    """A file sink that cannot be opened fails configure, naming FAPILOG_SINKS."""
    with pytest.raises(ConfigError, match=r"FAPILOG_SINKS.*cannot open"):
        fapilog.configure_logging(sinks=("file:///proc/no/such/dir/app.log",))


# --- auto-configure: the first log call builds the pipeline from FAPILOG_* -------------------


def test_first_log_call_configures_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logging before configure_logging builds the pipeline from FAPILOG_* variables."""
    monkeypatch.setenv("FAPILOG_SINKS", "memory")
    monkeypatch.setenv("FAPILOG_QUEUE_MAXSIZE", "123")
    assert fapilog.log.warning("hello")
    assert fapilog.stats().queue_maxsize == 123
    assert fapilog.stats().sinks[0].name == "memory"
    assert fapilog.flush(5)
    assert fapilog.stats().delivered == 1


def test_bad_environment_at_first_log_call_does_not_raise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auto-configure with a bad variable reports on stderr and falls back; the call succeeds."""
    monkeypatch.setenv("FAPILOG_QUEUE_MAXSIZE", "lots")
    assert fapilog.log.info("first") is True
    assert "FAPILOG_QUEUE_MAXSIZE" in capsys.readouterr().err
    assert fapilog.stats().enqueued == 1


@pytest.mark.parametrize("value", ["²", "--5", "5" * 5000])
def test_odd_level_in_the_environment_does_not_raise_from_a_log_call(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A FAPILOG_LEVEL that only looks numeric is a ConfigError, reported at the first call."""
    monkeypatch.setenv("FAPILOG_LEVEL", value)
    with pytest.raises(ConfigError, match="FAPILOG_LEVEL"):
        fapilog.configure_logging()
    assert fapilog.log.info("still logs") is True


# --- reconfigure: the previous pipeline drains, and says what it could not -------------------


def test_blocked_caller_moves_to_the_new_pipeline_on_reconfigure() -> None:
    """A thread waiting for room under block is admitted by the next pipeline, not dropped."""
    fapilog.configure_logging(
        sinks=(Slow(),),
        queue_overflow="block",
        queue_maxsize=2,
        queue_batch_size=1,
        queue_block_timeout=None,
    )
    results: list[bool] = []
    thread = threading.Thread(
        target=lambda: results.extend(fapilog.log.info("w") for _ in range(6))
    )
    thread.start()
    time.sleep(0.1)
    new_sink = MemorySink()
    fapilog.configure_logging(sinks=(new_sink,), queue_overflow="block", queue_block_timeout=None)
    thread.join(20)
    assert results == [True] * 6
    fapilog.shutdown()


def test_reconfigure_that_loses_events_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """If the old pipeline cannot drain in time, the loss is reported on stderr."""

    class Stuck(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            time.sleep(1.0)

    fapilog.configure_logging(sinks=(Stuck(),), queue_batch_size=1, shutdown_timeout=0.2)
    for i in range(10):
        fapilog.log.info("e", i=i)
    old = _lifecycle.current_pipeline()
    start = time.monotonic()
    fapilog.configure_logging(sinks=("null",))
    assert time.monotonic() - start < 1.0  # the old pipeline's shutdown_timeout, not 5 s
    assert old is not None
    final = old.stats()
    assert final.failed > 0 and final.enqueued == 10 == final.delivered + final.failed + final.lost
    err = capsys.readouterr().err
    assert f"previous pipeline ended with {final.lost} events lost and {final.failed} failed" in err
    assert "within 0.2 s" in err


def test_a_reconfigure_after_shutdown_reports_no_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """After an explicit ``shutdown()`` that gave up on a slow sink (its result is the caller's
    to read), the next configure must not report that loss again as a reconfigure timeout that
    never happened (at 861a157 it claimed a 5 s loss)."""
    slow = MemorySink(delay=0.5)
    fapilog.configure_logging(sinks=(slow,), queue_batch_size=1)
    for i in range(5):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=0.1)
    assert final.lost + final.failed > 0
    fapilog.configure_logging(sinks=("null",))
    assert "reconfigure" not in capsys.readouterr().err


def test_shared_sink_survives_reconfigure(tmp_path: Path) -> None:
    """A sink instance passed to two pipelines in a row is not closed by the first's drain."""
    from fapilog.sinks import FileSink

    sink = FileSink(tmp_path / "app.log")
    fapilog.configure_logging(sinks=(sink,))
    fapilog.log.info("one")
    fapilog.configure_logging(sinks=(sink,), level="DEBUG")
    fapilog.log.info("two")
    fapilog.shutdown()
    lines = (tmp_path / "app.log").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["one", "two"]


# --- flush and shutdown ----------------------------------------------------------------------


def test_sink_calling_flush_with_thread_worker_does_not_wait_for_itself() -> None:
    """flush() from inside a sink returns False at once instead of waiting for its own batch."""
    seen: list[bool] = []

    class Flusher(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            seen.append(fapilog.flush(timeout=None))
            super().write(lines)

    fapilog.configure_logging(sinks=(Flusher(),))
    start = time.monotonic()
    fapilog.log.info("one")
    assert fapilog.flush(5)
    assert seen == [False]
    assert time.monotonic() - start < 2


def test_double_shutdown_is_safe() -> None:
    """A second shutdown returns the same final counts and raises nothing."""
    fapilog.configure_logging(sinks=("null",))
    for i in range(100):
        fapilog.log.info("e", i=i)
    first = fapilog.shutdown()
    assert first.delivered == 100
    assert fapilog.shutdown() == first
