"""The Pipeline object: a shutdown that gives up stops its threads and freezes its counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import fapilog
from fapilog.sinks import MemorySink


def _workers_alive() -> int:
    """fapilog's threads: the worker and the sinks' writers."""
    return sum(t.name.startswith("fapilog-") and t.is_alive() for t in threading.enumerate())


class Slow(MemorySink):
    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.2)
        super().write(lines)


def test_timed_out_shutdown_stops_the_worker_and_freezes_the_counts() -> None:
    """After a shutdown that gave up, the worker and the writer exit (no busy loop) and the
    counts stay put: what the slow sink had not taken is failed for it, and the write still in
    progress when the timeout expired is not counted again when it returns."""
    before = _workers_alive()
    fapilog.configure_logging(sinks=(Slow(),), queue_batch_size=10)
    for i in range(100):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=0.1)
    assert final.failed > 0 and final.sinks[0].failed == final.failed
    assert final.enqueued == final.delivered + final.failed + final.lost
    time.sleep(0.5)
    assert fapilog.stats() == final
    deadline = time.monotonic() + 5
    while _workers_alive() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_alive() == before
