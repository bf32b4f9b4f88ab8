"""Fork, multiprocessing and signal handlers against the process-wide lifecycle: every start
method delivers a child's events, a forked child gets its own pipeline, captured methods follow
the fork, and flush/shutdown from a signal handler return within their timeouts."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fapilog
from tests.faults import _mp_child
from tests.faults._child import run_child

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


_POOL_TERMINATE = """
import json, multiprocessing, os, sys
import fapilog
from tests.faults import _mp_child
if __name__ == "__main__":
    fapilog.configure_logging()
    pool = multiprocessing.get_context(sys.argv[1]).Pool(2)
    try:
        pids = {pool.apply_async(_mp_child.log_and_wait, (5_000,)).get(60) for _ in range(4)}
    finally:
        pool.terminate()
        pool.join()
    fapilog.shutdown(5)
    print(json.dumps(sorted(pids)))
"""


@pytest.mark.parametrize("method", [m for m in METHODS if m != "forkserver"])
def test_pool_terminate_drains_workers_with_shutdown_signals(tmp_path: Path, method: str) -> None:
    """``Pool.terminate()`` stops its workers with SIGTERM; with ``shutdown_signals=SIGTERM``
    every event a worker had logged is in the file (fork: the workers inherit the parent's
    handler; spawn: they read ``FAPILOG_SHUTDOWN_SIGNALS`` on their first log call). The pool
    runs in a fresh interpreter of its own, away from what earlier tests left in this one."""
    path = tmp_path / "pool.log"
    script = tmp_path / "pool_terminate.py"  # a file, so that spawn can re-import __main__
    script.write_text(_POOL_TERMINATE)
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(root / "src"), str(root), env.get("PYTHONPATH", "")]),
        FAPILOG_SINKS=f"file://{path}",
        FAPILOG_SHUTDOWN_SIGNALS="SIGTERM",
        FAPILOG_QUEUE_MAXSIZE="100000",
    )
    child = subprocess.run(
        [sys.executable, str(script), method],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    pids = set(json.loads(child.stdout))
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


SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": SRC, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_multiprocessing_child_delivers_before_os_exit(tmp_path: Path) -> None:
    """A multiprocessing (fork) child's events reach the file although it ends with os._exit."""
    path = tmp_path / "mp.log"
    code = (
        "import multiprocessing as mp, fapilog\n"
        "fapilog.log.info('parent')\n"
        "def child():\n"
        "    fapilog.log.info('child')\n"
        "p = mp.get_context('fork').Process(target=child)\n"
        "p.start(); p.join()\n"
        "raise SystemExit(p.exitcode)\n"
    )
    result = _run(code, FAPILOG_SINKS=f"file://{path}", FAPILOG_QUEUE_FLUSH_INTERVAL="60")
    assert result.returncode == 0, result.stderr
    events = sorted(json.loads(line)["event"] for line in path.read_text().splitlines())
    assert events == ["child", "parent"]


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


_FLUSH_AND_SHUTDOWN_FROM_HANDLER = """
import json, signal, threading, time
import fapilog
from fapilog.sinks import MemorySink

release = threading.Event()

class Hung(MemorySink):
    name = "hung"
    def write(self, lines):
        release.wait()
        super().write(lines)

fapilog.configure_logging(
    sinks=(Hung(),), queue_overflow="block", queue_maxsize=32, queue_batch_size=8,
    queue_block_timeout=None, sink_timeout=60,
)
durations = {}

def on_alarm(signum, frame):
    start = time.monotonic()
    durations["flush_result"] = fapilog.flush(0.3)
    durations["flush"] = time.monotonic() - start
    start = time.monotonic()
    final = fapilog.shutdown(0.5)
    durations["shutdown"] = time.monotonic() - start
    durations["final"] = [final.enqueued, final.delivered, final.failed, final.lost]

signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.5)
results = [fapilog.log.info("fill", n=n) for n in range(200)]  # blocks on the full queue
release.set()
durations["results_true"] = sum(results)
print(json.dumps(durations))
"""


@pytest.mark.timeout(120)
def test_flush_and_shutdown_from_a_signal_handler_return_within_their_timeout() -> None:
    """With the main thread parked in a ``block`` call (a hung sink, a full queue), a signal
    handler's ``flush(0.3)`` and ``shutdown(0.5)`` return within their timeouts (plus a small
    bound), and the parked call then returns instead of waiting forever."""
    child = run_child(_FLUSH_AND_SHUTDOWN_FROM_HANDLER, timeout=60)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["flush_result"] is False
    assert out["flush"] < 0.3 + 0.5
    assert out["shutdown"] < 0.5 + 0.5
    enqueued, delivered, failed, lost = out["final"]
    assert enqueued == delivered + failed + lost and failed > 0
    assert out["results_true"] == enqueued  # the calls after shutdown returned False
