"""Lifecycle under load and at exit: shutdown mid-stream, reconfigure while threads log, the
atexit drain (also of a loop worker, and of calls made from later atexit handlers), and losses
reported at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import fapilog
from fapilog import _lifecycle
from fapilog.sinks import MemorySink
from tests.conftest import run_threads
from tests.faults._child import run_child

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_shutdown_in_the_middle_of_a_stream_accounts_for_everything() -> None:
    """Threads keep logging while shutdown runs: every call is enqueued+delivered or dropped."""
    sink = MemorySink(delay=0.001)
    fapilog.configure_logging(sinks=(sink,), queue_maxsize=256, queue_batch_size=32)
    calls = [0] * 8
    running = threading.Event()

    def body(index: int) -> None:
        for _ in range(10_000):
            fapilog.log.info("stream")
            calls[index] += 1
            running.set()

    thread = threading.Thread(target=run_threads, args=(8, body))
    thread.start()
    assert running.wait(10)
    time.sleep(0.01)
    final_at_shutdown = fapilog.shutdown(timeout=10)
    thread.join()
    after = fapilog.stats()
    assert sum(calls) == after.attempted == 80_000
    assert after.dropped > 0  # the shutdown really came in the middle
    assert after.attempted == after.enqueued + after.dropped + after.sampled_out
    assert after.enqueued == final_at_shutdown.enqueued == after.delivered + after.lost
    assert after.lost == 0 and sink.count == after.delivered


def test_reconfigure_under_load_loses_nothing() -> None:
    """configure_logging while 8 threads log: each old pipeline drains what it accepted."""
    sinks = [MemorySink() for _ in range(6)]
    fapilog.configure_logging(sinks=(sinks[0],), queue_overflow="block", queue_block_timeout=None)
    pipelines = [_lifecycle.current_pipeline()]
    stop = threading.Event()
    calls = [0] * 8

    def body(index: int) -> None:
        while not stop.is_set():
            fapilog.log.info("load", t=index)
            calls[index] += 1

    thread = threading.Thread(target=run_threads, args=(8, body))
    thread.start()
    for sink in sinks[1:]:
        time.sleep(0.02)
        fapilog.configure_logging(sinks=(sink,), queue_overflow="block", queue_block_timeout=None)
        pipelines.append(_lifecycle.current_pipeline())
    time.sleep(0.02)
    stop.set()
    thread.join()
    fapilog.shutdown(timeout=10)
    finals = [p.stats() for p in pipelines if p is not None]
    assert sum(f.attempted for f in finals) == sum(calls)
    for final, sink in zip(finals, sinks, strict=True):
        assert final.enqueued == final.delivered == sink.count
        assert final.lost == final.failed == 0
    # Calls racing a swap may land on the closing pipeline: those are counted as dropped.
    assert sum(f.enqueued + f.dropped for f in finals) == sum(calls)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": SRC, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )


def test_exit_drains_the_queue_without_an_explicit_shutdown(tmp_path: Path) -> None:
    """A program that logs and just exits still delivers everything (atexit drain)."""
    path = tmp_path / "exit.log"
    code = "import fapilog\nfor i in range(5000): fapilog.log.info('bye', i=i)\n"
    result = _run(code, FAPILOG_SINKS=f"file://{path}", FAPILOG_QUEUE_FLUSH_INTERVAL="60")
    assert result.returncode == 0, result.stderr
    assert len(path.read_text().splitlines()) == 5000


def test_exit_drains_a_loop_worker_after_asyncio_run(tmp_path: Path) -> None:
    """A loop worker whose loop has ended is drained at exit too."""
    path = tmp_path / "loop.log"
    code = (
        "import asyncio, fapilog\n"
        "async def main():\n"
        "    fapilog.configure_logging(worker='loop', queue_flush_interval=60)\n"
        "    for i in range(3000): fapilog.log.info('x', i=i)\n"
        "asyncio.run(main())\n"
        "fapilog.log.info('after the loop')\n"
    )
    result = _run(code, FAPILOG_SINKS=f"file://{path}")
    assert result.returncode == 0, result.stderr
    lines = path.read_text().splitlines()
    assert len(lines) == 3001
    assert json.loads(lines[-1])["event"] == "after the loop"


def test_logging_from_a_later_atexit_handler_is_delivered(tmp_path: Path) -> None:
    """A log call made while the interpreter exits (after fapilog's own hook) is not lost."""
    path = tmp_path / "late.log"
    code = (
        "import atexit, fapilog\n"
        "atexit.register(lambda: fapilog.log.info('at exit'))\n"
        "import fapilog._lifecycle\n"  # fapilog's hook registers after the handler above
        "fapilog.log.info('normal')\n"
    )
    result = _run(code, FAPILOG_SINKS=f"file://{path}")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events == ["normal", "at exit"]


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
