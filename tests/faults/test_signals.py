"""``shutdown_signals``: SIGTERM (the stop signal of every container) drains the backlog, then
the signal goes on to what was there before. Real signals, real child processes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(120)

_BURST_THEN_SIGTERM = """
import os, signal, sys, time
import fapilog
fapilog.configure_logging(
    sinks=("file://" + PATH,), queue_overflow="block", queue_maxsize=100_000,
    queue_batch_size=256, shutdown_signals=SIGNALS,
)
for i in range(50_000):
    fapilog.log.info("burst", i=i)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
print("still alive", file=sys.stderr)
"""


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sigterm_after_a_burst_delivers_everything_and_ends_as_sigterm(tmp_path: Path) -> None:
    """50,000 events queued, then SIGTERM: every one is in the file, and the process still ends
    by SIGTERM as the default disposition would (a supervisor sees status 128 + 15)."""
    path = tmp_path / "app.log"
    child = run_child(
        f"PATH = {str(path)!r}\nSIGNALS = ('SIGTERM',)\n" + _BURST_THEN_SIGTERM, timeout=60
    )
    assert child.returncode == -signal.SIGTERM, child.stderr
    assert "still alive" not in child.stderr
    assert [r["i"] for r in _lines(path)] == list(range(50_000))


def test_without_the_setting_sigterm_loses_the_backlog(tmp_path: Path) -> None:
    """The reason the setting exists: with no ``shutdown_signals``, SIGTERM skips atexit and the
    queued events are gone (this pins the default, which changes nothing on its own)."""
    path = tmp_path / "app.log"
    child = run_child(f"PATH = {str(path)!r}\nSIGNALS = ()\n" + _BURST_THEN_SIGTERM, timeout=60)
    assert child.returncode == -signal.SIGTERM
    assert len(_lines(path)) < 50_000


_CHAINED_ON_A_LOOP = """
import asyncio, json, os, signal, sys
import fapilog

def previous(signum, frame):
    with open(PATH) as f:
        seen = sum(1 for _ in f)
    print(json.dumps({"previous_saw": seen, "signum": signum}), flush=True)
    os._exit(7)

signal.signal(signal.SIGTERM, previous)

async def main():
    fapilog.configure_logging(
        sinks=("file://" + PATH,), worker=WORKER, queue_overflow="block",
        queue_maxsize=50_000, shutdown_signals=("SIGTERM",),
    )
    for i in range(20_000):
        fapilog.log.info("on the loop", i=i)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(30)

asyncio.run(main())
print("still alive", file=sys.stderr)
"""


@pytest.mark.parametrize("worker", ["thread", "loop"])
def test_sigterm_on_a_running_loop_drains_then_calls_the_previous_handler(
    tmp_path: Path, worker: str
) -> None:
    """With an asyncio loop running in the main thread (thread or loop worker), SIGTERM drains
    everything first, then calls the handler that was installed before, which sees every line
    already in the file."""
    path = tmp_path / "app.log"
    child = run_child(
        f"PATH = {str(path)!r}\nWORKER = {worker!r}\n" + _CHAINED_ON_A_LOOP, timeout=60
    )
    assert child.returncode == 7, child.stderr
    out = json.loads(child.stdout)
    assert out == {"previous_saw": 20_000, "signum": int(signal.SIGTERM)}


_SIGINT_INSIDE_THE_BOOKKEEPING = """
import signal, time
import fapilog
from fapilog import _lifecycle
from fapilog.sinks import MemorySink
sink = MemorySink(delay=0.01)
fapilog.configure_logging(sinks=(sink,), shutdown_signals=("SIGINT",), shutdown_timeout=5.0)
for i in range(100):
    fapilog.log.info("x", i=i)
consumer = _lifecycle.current_pipeline().consumer
start = time.monotonic()
try:
    # Ctrl-C lands while this thread is inside the consumer's bookkeeping (it holds the count
    # lock, as barrier() or a batch finished on this thread does): fapilog's handler flushes,
    # then the previous handler raises KeyboardInterrupt.
    with consumer._count_lock:
        signal.raise_signal(signal.SIGINT)
except KeyboardInterrupt:
    print(f"{time.monotonic() - start:.2f} {sink.count}")
"""


def test_ctrl_c_inside_the_consumers_bookkeeping_still_drains_at_once() -> None:
    """A flush run by the SIGINT drain on a thread that holds the consumer's count lock does
    not wait for an acknowledgement no batch could give: it waits with the lock released, so
    the 100 events are written and Ctrl-C goes on well within shutdown_timeout (5 s)."""
    child = run_child(_SIGINT_INSIDE_THE_BOOKKEEPING, timeout=60)
    assert child.returncode == 0, child.stderr
    elapsed, delivered = child.stdout.split()
    assert delivered == "100"
    assert float(elapsed) < 4.0, f"the drain waited {elapsed} s for an acknowledgement"
