"""``fapilog.loadtest.Pacer``: an absolute schedule that catches up instead of drifting."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from fapilog.loadtest import Pacer


class FakeClock:
    """A nanosecond clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


def test_send_i_is_due_at_start_plus_i_over_rate() -> None:
    """The schedule is absolute: due times depend only on start, rate and index."""
    pacer = Pacer(4000.0, start_ns=10_000)
    assert [pacer.due_ns(i) for i in range(4)] == [10_000, 260_000, 510_000, 760_000]
    assert pacer.due_ns(4000) == 10_000 + 1_000_000_000


def test_catches_up_after_an_oversleep_instead_of_drifting() -> None:
    """After a stall of 10 intervals, 10 overdue sends go at once, then the old schedule resumes."""
    clock = FakeClock()
    pacer = Pacer(1000.0, clock=clock)  # one send per ms
    assert pacer.claim() == 0  # send 0, on time
    clock.now += 10_500_000  # the producer oversleeps by 10.5 ms
    lateness = []
    while pacer.delay_s() <= 0:
        lateness.append(pacer.claim())
    # sends 1..10 were due at 1..10 ms: all overdue, each claimed without sleeping
    assert len(lateness) == 10
    assert lateness[0] == 9_500_000
    assert lateness[-1] == 500_000
    # the next send is still due at start + 11 ms: nothing drifted
    assert pacer.delay_s() == pytest.approx(0.0005)
    assert pacer.due_ns(pacer.sent) == pacer.start_ns + 11_000_000


def test_early_claim_reports_zero_lateness() -> None:
    """Claiming ahead of time is not "late" (lateness is never negative)."""
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    pacer.claim()
    assert pacer.claim() == 0


def test_offered_by_counts_the_sends_due() -> None:
    """offered_by(now) is the number of sends the schedule has made due (send 0 at start)."""
    pacer = Pacer(100.0, start_ns=0)
    assert pacer.offered_by(-1) == 0
    assert pacer.offered_by(0) == 1
    assert pacer.offered_by(999_999_999) == 100
    assert pacer.offered_by(1_000_000_000) == 101


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")])
def test_rate_must_be_positive(rate: float) -> None:
    """A pacer cannot run at a zero, negative or NaN rate."""
    with pytest.raises(ValueError, match="rate"):
        Pacer(rate)


async def _count_async_sends(rate: float, duration_s: float) -> int:
    pacer = Pacer(rate)
    deadline = pacer.start_ns + round(duration_s * 1e9)
    sends = 0
    while True:
        await pacer.wait()
        if time.perf_counter_ns() >= deadline:
            return sends
        sends += 1


def test_async_sends_match_rate_times_duration() -> None:
    """Real asyncio sleeps (~1 ms coarse) still offer rate × duration sends (within 5 %)."""
    rate, duration_s = 2000.0, 0.5
    sends = asyncio.run(_count_async_sends(rate, duration_s))
    assert sends == pytest.approx(rate * duration_s, rel=0.05)


def test_thread_sends_match_rate_times_duration() -> None:
    """wait_sync() paces a producer thread the same way (within 5 %)."""
    rate, duration_s = 2000.0, 0.5
    counts: list[int] = []

    def produce() -> None:
        pacer = Pacer(rate)
        deadline = pacer.start_ns + round(duration_s * 1e9)
        sends = 0
        while True:
            pacer.wait_sync()
            if time.perf_counter_ns() >= deadline:
                break
            sends += 1
        counts.append(sends)

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join(timeout=10)
    assert counts
    assert counts[0] == pytest.approx(rate * duration_s, rel=0.05)


def test_a_stalled_async_producer_catches_up() -> None:
    """A 50 ms stall in the middle does not lower the total sent by the deadline."""
    rate, duration_s = 1000.0, 0.3

    async def run() -> int:
        pacer = Pacer(rate)
        deadline = pacer.start_ns + round(duration_s * 1e9)
        sends = 0
        while True:
            await pacer.wait()
            if time.perf_counter_ns() >= deadline:
                return sends
            sends += 1
            if sends == 100:
                time.sleep(0.05)  # the loop is blocked: ~50 sends fall due meanwhile

    assert asyncio.run(run()) == pytest.approx(rate * duration_s, rel=0.05)
