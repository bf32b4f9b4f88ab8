"""Open-loop pacing on an absolute schedule.

Send ``i`` is due at ``start + i / rate``, whatever happened to the sends before it. A producer
that oversleeps (asyncio timers fire on a ~1 ms grid) or is held up by the system under test
sends the overdue calls back to back until it is on schedule again, so the offered rate is the
configured one and a slow system shows up as lower achieved rate and higher latency instead of
quietly lowering the load (the "coordinated omission" trap of closed-loop load generators).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Pacer"]


class Pacer:
    """The schedule of one producer: ``rate`` sends per second from ``start_ns``.

    ``clock`` must be the clock ``start_ns`` was read from (default ``time.perf_counter_ns``,
    the same monotonic clock asyncio's loop uses on Linux).
    """

    __slots__ = ("_clock", "interval_ns", "rate", "sent", "start_ns")

    def __init__(
        self,
        rate: float,
        *,
        start_ns: int | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        self.rate = rate
        self.interval_ns = 1e9 / rate
        self._clock = clock
        self.start_ns = clock() if start_ns is None else start_ns
        self.sent = 0

    def due_ns(self, index: int) -> int:
        """When send number ``index`` (counting from 0) is due."""
        return self.start_ns + round(index * self.interval_ns)

    def delay_s(self) -> float:
        """Seconds until the next send is due; zero or negative when it is due or overdue."""
        return (self.due_ns(self.sent) - self._clock()) / 1e9

    def offered_by(self, now_ns: int) -> int:
        """How many sends the schedule has made due by ``now_ns``."""
        if now_ns < self.start_ns:
            return 0
        return int((now_ns - self.start_ns) // self.interval_ns) + 1

    async def wait(self) -> int:
        """Sleep until the next send is due (not at all when behind), then claim it.

        Returns how late the claimed send is in nanoseconds (0 when on time).
        """
        delay = self.delay_s()
        while delay > 0:
            await asyncio.sleep(delay)
            delay = self.delay_s()
        return self.claim()

    def wait_sync(self) -> int:
        """:meth:`wait` for producer threads: blocks the calling thread with ``time.sleep``."""
        delay = self.delay_s()
        while delay > 0:
            time.sleep(delay)
            delay = self.delay_s()
        return self.claim()

    def claim(self) -> int:
        """Take the next send now, due or not; returns how late it is in ns (0 if early)."""
        late_ns = self._clock() - self.due_ns(self.sent)
        self.sent += 1
        return late_ns if late_ns > 0 else 0
