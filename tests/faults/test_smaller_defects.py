"""The smaller defects of the hardening round: hostile values, configuration extremes, loss
reports that must be true, and log methods captured before a reconfigure."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import pytest

import fapilog
from fapilog import ConfigError, LoggingSettings
from fapilog.sinks import MemorySink
from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(60)


class ExitsOnRepr:
    """A value whose ``repr`` raises SystemExit (a BaseException, not an Exception)."""

    def __repr__(self) -> str:
        raise SystemExit(3)


def test_a_value_raising_system_exit_does_not_kill_the_thread_worker() -> None:
    """The thread worker survives a value whose ``repr`` raises SystemExit: that record is
    written with a fallback, and later events are still delivered."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,))
    assert fapilog.log.info("hostile", value=ExitsOnRepr())
    assert fapilog.flush(5)
    assert fapilog.log.info("after")
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["<unserializable record>", "after"]
    assert fapilog.stats().serialize_fallbacks >= 1


def test_a_value_raising_system_exit_does_not_end_asyncio_run_with_the_loop_worker() -> None:
    """With the loop worker, the same value must not end ``asyncio.run`` (the worker task would
    otherwise let SystemExit escape into the loop), and nothing escapes later log calls."""
    sink = MemorySink(keep=10)

    async def main() -> str:
        fapilog.configure_logging(sinks=(sink,), worker="loop")
        fapilog.log.info("hostile", value=ExitsOnRepr())
        await asyncio.sleep(0.3)
        assert fapilog.log.info("after")
        assert await fapilog.aflush(5)
        return "finished"

    assert asyncio.run(main()) == "finished"
    assert [r["event"] for r in sink.records][-1] == "after"


def test_a_huge_queue_costs_no_memory_before_events_exist() -> None:
    """``queue_maxsize`` at its upper bound (10 million) allocates next to nothing at configure
    time: slot tokens are made as the queue fills (at 861a157, 10**8 took 730 MB up front)."""
    tracemalloc.start()
    try:
        fapilog.configure_logging(sinks=("null",), queue_maxsize=10_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert sum(fapilog.log.info("e", i=i) for i in range(10_000)) == 10_000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAPILOG_QUEUE_MAXSIZE", "100000000"),
        ("FAPILOG_QUEUE_MAXSIZE", "1000000000000"),
        ("FAPILOG_QUEUE_BATCH_SIZE", "10000000"),
        ("FAPILOG_QUEUE_FLUSH_INTERVAL", "1e10"),
        ("FAPILOG_QUEUE_FLUSH_INTERVAL", "1e-9"),
        ("FAPILOG_QUEUE_BLOCK_TIMEOUT", "1e300"),
        ("FAPILOG_SINK_TIMEOUT", "0"),
        ("FAPILOG_SINK_TIMEOUT", "1e9"),
        ("FAPILOG_SHUTDOWN_TIMEOUT", "-1"),
        ("FAPILOG_SHUTDOWN_TIMEOUT", "nan"),
    ],
)
def test_numeric_extremes_are_config_errors_naming_the_range(variable: str, value: str) -> None:
    """Every numeric setting has both bounds: a value past them is a ConfigError that names the
    variable, the value and the accepted range — never SystemError or OverflowError later."""
    with pytest.raises(ConfigError) as caught:
        LoggingSettings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(variable) and "is not accepted; expected" in message
    assert "<=" in message


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


def test_events_lost_at_exit_are_reported(tmp_path: Path) -> None:
    """At exit, events the sink did not take within ``shutdown_timeout`` are reported on stderr
    with their counts (at 861a157 they vanished without a word)."""
    child = run_child(
        """
        import time
        import fapilog
        from fapilog.sinks import MemorySink

        class Stuck(MemorySink):
            def write(self, lines):
                time.sleep(3)

        fapilog.configure_logging(sinks=(Stuck(),), shutdown_timeout=0.2, queue_batch_size=5)
        for i in range(20):
            fapilog.log.info("e", i=i)
        """,
        timeout=30,
    )
    assert child.returncode == 0
    assert "fapilog: exit: 0 events lost and 20 failed" in child.stderr


def test_a_captured_log_method_reaches_the_current_pipeline() -> None:
    """``info = log.info`` captured before a reconfigure (or handed to a library as a callback)
    goes on working: its calls reach the new pipeline, through that pipeline's level gate, and
    are counted there."""
    first = MemorySink()
    fapilog.configure_logging(sinks=(first,))
    info, debug, warning = fapilog.log.info, fapilog.log.debug, fapilog.log.warning
    second = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(second,), level="WARNING")
    assert info("stale info") is False  # below the new pipeline's level: not an attempt
    assert debug("stale debug") is False
    assert warning("stale warning") is True
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert (stats.attempted, stats.delivered) == (1, 1)
    assert [r["event"] for r in second.records] == ["stale warning"]

    fapilog.configure_logging(sinks=(second,), level="INFO")
    assert info("stale info again") is True
    assert fapilog.flush(5)
    assert second.records[-1]["event"] == "stale info again"


def test_a_method_captured_before_shutdown_reaches_the_next_pipeline() -> None:
    """A method captured before ``shutdown()`` reaches the pipeline configured after it."""
    fapilog.configure_logging(sinks=("memory",))
    info = fapilog.log.info
    fapilog.shutdown()
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    assert info("after shutdown and configure") is True
    assert fapilog.flush(5) and sink.count == 1
