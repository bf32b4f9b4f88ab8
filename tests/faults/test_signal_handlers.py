"""Signal handlers that log, flush or shut down while the main thread is inside a log call.

Each scenario runs in a child interpreter with a hard timeout: a deadlock fails the test
instead of hanging the suite. The signals are real (``setitimer``), not simulated.
"""

from __future__ import annotations

import json

import pytest

from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(120)

# A full queue under ``block`` (a slow sink, 64 slots), the main thread logging in a loop, and a
# SIGALRM every millisecond whose handler logs: the handler lands inside put_blocking over and
# over again.
_HANDLER_LOGS = """
import json, signal, time
import fapilog
from fapilog.sinks import MemorySink

sink = MemorySink(delay=0.005)
fapilog.configure_logging(
    sinks=(sink,), queue_overflow="block", queue_maxsize=64, queue_batch_size=16,
    queue_block_timeout=None,
)
inside = [False]
handled = [0]
raised = []

def on_alarm(signum, frame):
    if GUARDED and inside[0]:
        return
    inside[0] = True
    try:
        fapilog.log.warning("from the handler", n=handled[0])
        handled[0] += 1
    except BaseException as exc:  # a log call must never raise
        raised.append(repr(exc))
    finally:
        inside[0] = False

signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
main_calls = main_true = 0
deadline = time.monotonic() + 3
while time.monotonic() < deadline:
    main_true += fapilog.log.info("from main", n=main_calls)
    main_calls += 1
signal.setitimer(signal.ITIMER_REAL, 0)
signal.signal(signal.SIGALRM, signal.SIG_IGN)
final = fapilog.shutdown(10)
print(json.dumps({
    "handled": handled[0], "raised": raised, "main_calls": main_calls, "main_true": main_true,
    "attempted": final.attempted, "enqueued": final.enqueued, "dropped": final.dropped,
    "delivered": final.delivered, "failed": final.failed, "lost": final.lost,
    "sink": sink.count,
}))
"""


@pytest.mark.parametrize("guarded", [True, False], ids=["nesting-guard", "no-guard"])
def test_a_signal_handler_that_logs_never_deadlocks_or_raises(guarded: bool) -> None:
    """A SIGALRM handler logging every millisecond while the main thread waits for room under
    ``block``: the process finishes (no deadlock), no call raises (without a nesting guard
    nested handlers must not recurse until RecursionError), the main thread's calls all get in,
    a nested call that finds no room is dropped and counted, and the totals add up exactly."""
    child = run_child(f"GUARDED = {guarded}\n" + _HANDLER_LOGS, timeout=60)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["raised"] == []
    assert out["handled"] > 100
    assert out["main_true"] == out["main_calls"]  # block, no timeout: the main thread never drops
    assert out["attempted"] == out["main_calls"] + out["handled"]
    assert out["attempted"] == out["enqueued"] + out["dropped"]
    assert out["dropped"] <= out["handled"]  # only nested calls may be dropped
    assert out["enqueued"] == out["delivered"] == out["sink"]
    assert out["failed"] == out["lost"] == 0


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
