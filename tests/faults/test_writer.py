"""One sink that hangs or blips must not starve the others, nor hang shutdown, nor lose events
under ``block`` when the outage is shorter than the block timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

import fapilog
from fapilog.sinks import MemorySink

pytestmark = pytest.mark.timeout(60)


class Hung(MemorySink):
    """A sink whose write blocks until released (a stalled socket, an NFS mount)."""

    name = "hung"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, lines: Sequence[bytes]) -> None:
        self.entered.set()
        self.release.wait()
        super().write(lines)


class Blips(MemorySink):
    """A sink that refuses every write during a short outage window."""

    name = "blips"

    def __init__(self) -> None:
        super().__init__()
        self.down_until = 0.0
        self.refusals = 0

    def write(self, lines: Sequence[bytes]) -> None:
        if time.monotonic() < self.down_until:
            self.refusals += 1
            raise OSError("collector restarting")
        super().write(lines)


def _wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_a_hung_sink_does_not_starve_a_healthy_one(capsys: pytest.CaptureFixture[str]) -> None:
    """A sink stuck in write beside a MemorySink: the healthy sink receives every one of 1,000
    events soon after ``sink_timeout``, the hung sink's share is counted in its own
    ``SinkStats.failed`` (and the events as failed in the totals), one stderr line names it,
    and when its write returns it resumes and receives later events."""
    hung, healthy = Hung(), MemorySink()
    fapilog.configure_logging(
        sinks=(hung, healthy), queue_maxsize=200, queue_batch_size=20, sink_timeout=0.3
    )
    accepted = sum(fapilog.log.info("e", i=i) for i in range(100))
    assert hung.entered.wait(5)
    deadline = time.monotonic() + 20
    while accepted < 1000 and time.monotonic() < deadline:  # the queue frees once it is stalled
        accepted += fapilog.log.info("e", i=accepted)
        if accepted % 100 == 0:
            time.sleep(0.01)
    assert accepted == 1000
    assert _wait_for(lambda: healthy.count == 1000, 10), healthy.count
    stats = fapilog.stats()
    by_name = {s.name: s for s in stats.sinks}
    assert by_name["memory"].delivered == 1000
    assert by_name["hung"].delivered == 0 and by_name["hung"].failed == 1000
    assert (stats.delivered, stats.failed) == (0, 1000)
    assert by_name["hung"].stalled and not by_name["memory"].stalled
    err = capsys.readouterr().err
    assert err.count("sink 'hung' stalled") == 1

    hung.release.set()  # the write returns: the sink resumes with the next batch
    assert _wait_for(lambda: not fapilog.stats().sinks[0].stalled, 5)
    for i in range(50):
        fapilog.log.info("after", i=i)
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert {s.name: s.delivered for s in stats.sinks} == {"hung": 50, "memory": 1050}
    assert "sink 'hung' returned from its stalled write; resuming" in capsys.readouterr().err


def test_shutdown_returns_in_time_with_a_hung_sink() -> None:
    """``shutdown(timeout)`` returns within the timeout plus a small bound although a sink is
    stuck in a write, and counts what the hung sink never took as failed for it, while the
    healthy sink got everything."""
    hung, healthy = Hung(), MemorySink()
    fapilog.configure_logging(sinks=(hung, healthy), queue_batch_size=10, sink_timeout=60)
    for i in range(300):
        fapilog.log.info("e", i=i)
    assert hung.entered.wait(5)
    start = time.monotonic()
    final = fapilog.shutdown(timeout=0.5)
    elapsed = time.monotonic() - start
    hung.release.set()
    assert elapsed < 0.5 + 0.5
    assert final.enqueued == 300 == final.delivered + final.failed + final.lost
    by_name = {s.name: s for s in final.sinks}
    assert by_name["memory"].delivered == 300 == healthy.count
    assert by_name["hung"].failed == 300
    assert final.failed == 300 and final.lost == 0


def test_block_rides_out_a_short_outage_without_loss() -> None:
    """Under ``block``, a 20 ms outage of a sink (every write refused) shorter than
    ``queue_block_timeout`` costs nothing: every event is delivered to it, none failed or
    dropped (back-pressure instead of a fixed rest)."""
    sink = Blips()
    fapilog.configure_logging(
        sinks=(sink,), queue_overflow="block", queue_maxsize=500, queue_batch_size=50
    )
    for i in range(3_000):
        if i == 1_000:
            sink.down_until = time.monotonic() + 0.02
        fapilog.log.info("e", i=i)
        if i % 100 == 0:
            time.sleep(0.002)  # a steady stream, so the outage falls inside it
    final = fapilog.shutdown(10)
    assert sink.refusals > 0
    assert (final.dropped, final.failed, final.lost) == (0, 0, 0)
    assert final.delivered == sink.count == 3_000
