"""Asynchronous exceptions landing inside log calls must never leak queue room.

A real timer signal whose handler raises interrupts thousands of calls at random points (the
way Ctrl-C does); afterwards the full ``queue_maxsize`` must fit again and the counts add up.
"""

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
