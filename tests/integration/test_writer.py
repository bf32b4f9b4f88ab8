"""Sinks that raise, stall, or fail once: the others get every event, counts match, the worker
survives."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

import fapilog
from fapilog.sinks import MemorySink


class AlwaysFails:
    name = "always-fails"

    def __init__(self) -> None:
        self.calls = 0

    def write(self, lines: Sequence[bytes]) -> None:
        self.calls += 1
        raise OSError("collector unreachable")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class FailsOnce(MemorySink):
    name = "fails-once"

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def write(self, lines: Sequence[bytes]) -> None:
        if not self.failures:
            self.failures += 1
            raise RuntimeError("transient")
        super().write(lines)


class Stalls(MemorySink):
    name = "stalls"

    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.05)
        super().write(lines)


def test_failing_stalling_and_recovering_sinks_are_isolated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The healthy sink gets everything; the broken one is counted, retried and reported."""
    healthy, broken, once, slow = MemorySink(), AlwaysFails(), FailsOnce(), Stalls()
    fapilog.configure_logging(
        sinks=(healthy, broken, once, slow),
        queue_overflow="block",
        queue_block_timeout=None,
        queue_batch_size=50,
        queue_maxsize=100,
    )
    for i in range(1_000):
        assert fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=30)
    assert healthy.count == slow.count == 1_000
    assert once.count == 1_000 and once.failures == 1
    per_sink = {s.name: s for s in final.sinks}
    assert per_sink["memory"].delivered == 1_000
    assert per_sink["always-fails"].delivered == 0
    assert per_sink["always-fails"].failed == 1_000
    assert per_sink["fails-once"].errors == 1
    assert final.failed == 1_000 and final.delivered == 0
    assert final.enqueued == final.delivered + final.failed + final.lost
    assert final.retries >= 3 and final.sink_errors >= 3
    err = capsys.readouterr().err
    assert "always-fails" in err and "collector unreachable" in err
    assert err.count("fapilog: sink 'always-fails'") == 1  # rate-limited


def test_worker_survives_and_keeps_delivering_after_sink_errors() -> None:
    """After a sink raised, later events still flow (the worker thread is alive)."""
    healthy, once = MemorySink(), FailsOnce()
    fapilog.configure_logging(sinks=(healthy, once))
    fapilog.log.info("first")
    assert fapilog.flush(5)
    fapilog.log.info("second")
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert healthy.count == 2 and once.count == 2
    assert (stats.delivered, stats.failed, stats.sink_errors) == (2, 0, 1)


def test_slow_sink_at_shutdown_counts_what_it_never_took() -> None:
    """If the sink cannot take everything before the timeout, what it had not taken is counted
    as failed for it (and in the totals), exactly; nothing is left uncounted."""

    class VerySlow(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            time.sleep(0.2)
            super().write(lines)

    sink = VerySlow()
    fapilog.configure_logging(sinks=(sink,), queue_batch_size=10, queue_maxsize=1_000)
    for i in range(500):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=0.3)
    assert final.failed > 0 and final.sinks[0].failed == final.failed
    assert final.enqueued == 500 == final.delivered + final.failed + final.lost
    assert final.delivered == final.sinks[0].delivered
