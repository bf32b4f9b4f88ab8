"""multiprocessing: every start method delivers every event of a child that returns normally,
configured in the child or not, and Pool.terminate() drains with shutdown_signals. (A forked
child and its parent's file sink: test_file_sink_fork.py.)"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path

import pytest

import fapilog
from tests.faults import _mp_child

pytestmark = pytest.mark.timeout(180)


METHODS = [
    m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
]


@pytest.mark.parametrize("configure", [True, False], ids=["configures", "inherits"])
@pytest.mark.parametrize("method", METHODS)
def test_every_start_method_delivers_a_childs_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, configure: bool
) -> None:
    """A multiprocessing child that logs 1,200 events and returns delivers all of them, for
    fork, spawn and forkserver, whether it calls configure_logging itself or not (then it
    inherits the parent's settings under fork, or reads FAPILOG_* under spawn/forkserver)."""
    path = tmp_path / f"{method}.log"
    monkeypatch.setenv("FAPILOG_SINKS", f"file://{path}")
    monkeypatch.setenv("FAPILOG_QUEUE_OVERFLOW", "block")
    fapilog.configure_logging()
    context = multiprocessing.get_context(method)
    process = context.Process(target=_mp_child.log_events, args=(str(path), configure, method))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    fapilog.shutdown(5)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["i"] for r in lines if r["event"] == "child") == list(range(_mp_child.EVENTS))


def test_the_matrix_covers_every_start_method_of_this_platform() -> None:
    """On Linux all three start methods exist, so none of the six combinations is skipped."""
    if sys.platform.startswith("linux"):
        assert METHODS == ["fork", "spawn", "forkserver"]


@pytest.mark.parametrize("method", [m for m in METHODS if m != "forkserver"])
def test_pool_terminate_drains_workers_with_shutdown_signals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """``Pool.terminate()`` stops its workers with SIGTERM; with ``shutdown_signals=SIGTERM``
    every event a worker had logged is in the file (fork: the workers inherit the parent's
    handler; spawn: they read ``FAPILOG_SHUTDOWN_SIGNALS`` on their first log call)."""
    path = tmp_path / "pool.log"
    monkeypatch.setenv("FAPILOG_SINKS", f"file://{path}")
    monkeypatch.setenv("FAPILOG_SHUTDOWN_SIGNALS", "SIGTERM")
    monkeypatch.setenv("FAPILOG_QUEUE_MAXSIZE", "100000")
    fapilog.configure_logging()
    context = multiprocessing.get_context(method)
    pool = context.Pool(2)
    try:
        pids = {pool.apply_async(_mp_child.log_and_wait, (5_000,)).get(60) for _ in range(4)}
    finally:
        pool.terminate()
        pool.join()
    fapilog.shutdown(5)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    by_worker: dict[int, int] = {}
    for record in lines:
        by_worker[record["pid"]] = by_worker.get(record["pid"], 0) + 1
    assert set(by_worker) == pids
    assert sum(by_worker.values()) == 4 * 5_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_method_captured_before_fork_reaches_the_childs_pipeline(tmp_path: Path) -> None:
    """``info = log.info`` captured before ``os.fork()`` still works in the child: its call goes
    to the child's own pipeline (at 861a157 it went into the parent's dead queue: True returned,
    nothing written, nothing counted)."""
    path = tmp_path / "app.log"
    fapilog.configure_logging(sinks=(f"file://{path}",))
    info = fapilog.log.info
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            ok = info("child via the captured method")
            final = fapilog.shutdown(5)
            code = 0 if ok and final.delivered == 1 else 2
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    fapilog.shutdown(5)
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events == ["child via the captured method"]
