"""Log calls under real signals: asynchronous exceptions landing inside calls never leak queue
room, and a signal handler that logs never deadlocks or raises.

Each scenario runs in a child interpreter with a hard timeout: a deadlock fails the test
instead of hanging the suite. The signals are real (``setitimer``), not simulated."""

from __future__ import annotations

import json

import pytest

from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(120)

_INTERRUPT_STORM = """
import json, random, signal, threading, time
import fapilog
from fapilog.sinks import MemorySink

class Interrupt(Exception):
    pass

class Holdable(MemorySink):
    def __init__(self):
        super().__init__()
        self.open = threading.Event()
        self.open.set()
    def write(self, lines):
        self.open.wait()
        super().write(lines)

sink = Holdable()
fapilog.configure_logging(
    sinks=(sink,), queue_overflow=STRATEGY, queue_maxsize=MAXSIZE, queue_batch_size=64,
    queue_block_timeout=0.3, sampling_rate=0.5, queue_high_water=0.9,
)

armed = [False]

def on_alarm(signum, frame):
    if armed[0]:  # only while the calls run: a late alarm must not land outside the try
        armed[0] = False
        raise Interrupt

signal.signal(signal.SIGALRM, on_alarm)
interrupted = completed = 0
random.seed(7)
deadline = time.monotonic() + 4
while time.monotonic() < deadline:
    try:
        armed[0] = True
        signal.setitimer(signal.ITIMER_REAL, random.uniform(1e-6, 40e-6))
        for _ in range(40):
            fapilog.log.info("storm", n=completed)
            completed += 1
        armed[0] = False
    except Interrupt:
        interrupted += 1
signal.setitimer(signal.ITIMER_REAL, 0)
signal.signal(signal.SIGALRM, signal.SIG_IGN)
assert fapilog.flush(10)

# Every slot must be back: with the sink holding its batches, exactly MAXSIZE events fit.
sink.open.clear()
accepted = 0
while fapilog.log.warning("fill", n=accepted) and accepted <= 2 * MAXSIZE:
    accepted += 1
sink.open.set()
final = fapilog.shutdown(10)
print(json.dumps({
    "interrupted": interrupted, "accepted": accepted, "attempted": final.attempted,
    "enqueued": final.enqueued, "dropped": final.dropped, "sampled_out": final.sampled_out,
    "delivered": final.delivered, "failed": final.failed, "lost": final.lost,
    "sink": sink.count,
}))
"""


@pytest.mark.parametrize("maxsize", [1_000, 20_000], ids=["slots-made", "slots-made-lazily"])
@pytest.mark.parametrize("strategy", ["drop", "block", "sample"])
def test_thousands_of_interrupted_calls_leak_no_room(strategy: str, maxsize: int) -> None:
    """Thousands of calls interrupted at random points by a raising signal handler: afterwards
    exactly ``queue_maxsize`` events fit in the queue again (no slot leaked, none made twice —
    also while slots are still being made, 4,096 at a time, for the larger queue), and the
    invariants hold (an interrupted call counts as dropped or as enqueued, never nowhere)."""
    code = f"STRATEGY = {strategy!r}\nMAXSIZE = {maxsize}\n" + _INTERRUPT_STORM
    child = run_child(code, timeout=90)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["interrupted"] > 2_000
    assert out["accepted"] == maxsize
    assert out["attempted"] == out["enqueued"] + out["dropped"] + out["sampled_out"]
    assert out["enqueued"] == out["delivered"] == out["sink"]
    assert out["failed"] == out["lost"] == 0


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
