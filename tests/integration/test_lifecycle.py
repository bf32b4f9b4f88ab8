"""Lifecycle under load: shutdown mid-stream, reconfigure, fork, exit, and the stdlib bridge."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import fapilog
from fapilog import _lifecycle
from fapilog.sinks import MemorySink
from fapilog.stdlib import FapilogHandler
from tests.conftest import run_threads

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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_pipeline(tmp_path: Path) -> None:
    """The child logs through a fresh pipeline and exits; the parent's counts are unaffected."""
    path = tmp_path / "fork.log"
    fapilog.configure_logging(sinks=(f"file://{path}",), queue_flush_interval=10)
    for i in range(5):
        fapilog.log.info("parent before fork", i=i)
    before = fapilog.stats()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            assert fapilog.log.info("child") is True
            child = fapilog.shutdown(timeout=5)
            code = 0 if (child.attempted, child.delivered) == (1, 1) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fapilog.stats().attempted == before.attempted == 5
    fapilog.log.info("parent after fork")
    final = fapilog.shutdown()
    assert (final.attempted, final.delivered) == (6, 6)
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events.count("child") == 1
    assert events.count("parent before fork") == 5


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


def test_stdlib_records_are_routed_into_the_queue() -> None:
    """FapilogHandler turns logging records into fapilog events with extra and exception."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,))
    std = logging.getLogger("uvicorn.test")
    handler = FapilogHandler()
    std.addHandler(handler)
    std.setLevel(logging.DEBUG)
    std.propagate = False
    try:
        std.info("served %s", "/health", extra={"status": 200})
        std.debug("below fapilog's level")
        try:
            raise ValueError("bad")
        except ValueError:
            std.exception("handler failed")
    finally:
        std.removeHandler(handler)
    assert fapilog.flush(5)
    first, second = sink.records
    assert first["event"] == "served /health" and first["status"] == 200
    assert first["logger"] == "uvicorn.test" and first["level"] == "info"
    assert second["level"] == "error" and "ValueError: bad" in second["exception"]
    assert fapilog.stats().attempted == 2
