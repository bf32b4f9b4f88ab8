"""``LogQueue``: the bounded hand-off between callers and the worker, and its overflow strategies.

Many producers (threads, tasks on any loop) and one consumer, without a lock on the common path:
the queue's room is a deque of ``maxsize`` tokens. A producer pops a token (``deque.pop`` is
atomic) and appends its record; no token, no room. The consumer pops records (it is the only one
popping) and gives the tokens back once the batch is written. So the bound is exact. Admitted
events need no counter (``enqueued`` is what the consumer took plus what is queued); refusals are
counted with ``itertools.count``, whose ``next()`` is atomic — ``n += 1`` from several threads
can lose updates.
A lock (and a condition) exists only for callers that wait for room under ``block``.

The strategy is chosen once, when the pipeline is built: :meth:`LogQueue.call_for` makes the
Logger's method for each level with the strategy built in, so a call never asks which is on.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fapilog._context import CONTEXT
from fapilog._levels import WARNING

if TYPE_CHECKING:
    import asyncio

    from fapilog._logger import Logger

#: (timestamp, level, event, context, bound fields, call fields); see ``fapilog._logger``.
Record = tuple[float, str, object, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]
LogCall = Callable[..., bool]
AsyncLogCall = Callable[..., Awaitable[bool]]

# Waits are cut into slices this long so that a missed notification costs a slice, not a hang.
_WAIT_SLICE_S = 0.05


def _nothing() -> None:
    pass


def _wait_here() -> bool | None:
    return None


def _value(counter: itertools.count[int]) -> int:
    """Current value of an ``itertools.count`` (its repr is ``count(N)``)."""
    return int(repr(counter)[6:-1])


class LogQueue:
    def __init__(
        self,
        maxsize: int,
        *,
        wake_at: int,
        overflow: str,
        block_timeout_s: float | None,
        sampling_rate: float,
        high_water: float,
    ) -> None:
        self.maxsize = maxsize
        self.items: deque[Record] = deque()
        #: One token per free slot. Empty once closed: a closed queue is simply always full.
        self.room: deque[None] = deque(itertools.repeat(None, maxsize))
        self.closed = False
        #: Events the consumer has taken. ``enqueued`` is ``taken + len(items)``, read together
        #: under ``_take_lock``: the hot path keeps no counter of its own for admitted events.
        self.taken = 0
        self._take_lock = threading.Lock()
        self.dropped = itertools.count()
        self.sampled_out = itertools.count()
        #: Calls that found no room under ``block`` (plain int: only changed under ``lock``).
        self.block_waits = 0
        self.high_water_mark = 0
        self.overflow = overflow
        self.block_timeout_s = block_timeout_s
        self.sampling_rate = sampling_rate
        self.high_water_count = min(maxsize, max(1, math.ceil(high_water * maxsize)))
        #: Depth at which a parked worker is woken: a batch's worth, or half a small queue.
        self.wake_at = max(1, min(wake_at, maxsize // 2 or 1))
        #: Set by the worker: True while it sleeps and needs :attr:`wake` to see new work.
        self.parked = False
        #: Set by the producer that woke the parked worker; cleared by the worker as it parks.
        self.wake_pending = False
        #: Installed by the worker: wake it (cheap when it is already awake).
        self.wake: Callable[[], None] = _nothing
        #: Installed by the worker, for a full ``block`` queue: True = room was made here (the
        #: caller drained a batch inline), False = this thread must not wait (drop), None = wait.
        self.make_room: Callable[[], bool | None] = _wait_here
        self.lock = threading.Lock()
        self.not_full = threading.Condition(self.lock)
        #: Set when a reconfigure replaces this queue: callers still waiting for room here
        #: move on to the new one instead of being dropped.
        self.successor: LogQueue | None = None
        self._sync_waiters = 0
        #: Awaiting callers: future -> (thread id, loop) to resolve it from.
        self._async_waiters: dict[asyncio.Future[None], tuple[int, asyncio.AbstractEventLoop]] = {}

    # -- producer side: the hot path -----------------------------------------------------------
    #
    # A log call is one of the two functions below, made once per level at configure time and
    # installed as the Logger's method. Everything it touches is bound to a local here, so the
    # call does: read the clock and the context, build one tuple, take a slot, append, count.

    def call_for(self, level: int, name: str) -> LogCall:
        """The log method for ``level`` (``(logger, event, /, **fields) -> bool``)."""
        now = time.time
        context = CONTEXT.get
        items, room = self.items, self.room
        append, take_room = items.append, room.pop
        wake_at = self.wake_at
        on_full = self._on_full_for(level)
        q = self

        if self.overflow != "sample" or level >= WARNING:

            def call(logger: Logger, event: object, /, **fields: Any) -> bool:
                if room:
                    try:
                        take_room()
                    except IndexError:  # another producer took the last slot since the check
                        pass
                    else:
                        append((now(), name, event, context(), logger._fields, fields))
                        if len(items) >= wake_at and q.parked and not q.wake_pending:
                            q.wake_pending = True
                            q.wake()
                        return True
                return on_full((now(), name, event, context(), logger._fields, fields))

            return call

        from random import random

        count_sampled_out = self.sampled_out.__next__
        free_at_high_water = self.maxsize - self.high_water_count
        rate = self.sampling_rate

        def sampled_call(logger: Logger, event: object, /, **fields: Any) -> bool:
            if room:
                if len(room) <= free_at_high_water and random() >= rate:
                    count_sampled_out()
                    return False
                try:
                    take_room()
                except IndexError:
                    pass
                else:
                    append((now(), name, event, context(), logger._fields, fields))
                    if len(items) >= wake_at and q.parked and not q.wake_pending:
                        q.wake_pending = True
                        q.wake()
                    return True
            return on_full((now(), name, event, context(), logger._fields, fields))

        return sampled_call

    def acall_for(self, level: int, name: str) -> AsyncLogCall:
        """The awaitable log method for ``level``: waits for room under ``block`` only."""
        if self.overflow != "block":
            call = self.call_for(level, name)

            async def acall(logger: Logger, event: object, /, **fields: Any) -> bool:
                return call(logger, event, **fields)

            return acall

        now = time.time
        context = CONTEXT.get
        aput = self.aput

        async def ablock(logger: Logger, event: object, /, **fields: Any) -> bool:
            return await aput((now(), name, event, context(), logger._fields, fields))

        return ablock

    def _on_full_for(self, level: int) -> Callable[[Record], bool]:
        if self.overflow == "block":
            return self.put_blocking
        count_dropped = self.dropped.__next__

        def drop(record: Record) -> bool:
            count_dropped()
            return False

        return drop

    def _try_admit(self, record: Record) -> bool:
        try:
            self.room.pop()
        except IndexError:
            return False
        self.items.append(record)
        return True

    def put_blocking(self, record: Record) -> bool:
        """``block``, queue full: wait for room (or make it), up to the block timeout."""
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        with self.lock:
            self.block_waits += 1
            self._sync_waiters += 1  # registered before the first try: no wake-up can be missed
        try:
            while True:
                if self._try_admit(record):
                    return True
                if self.closed or (deadline is not None and time.monotonic() >= deadline):
                    break
                made_room = self.make_room()
                if made_room is False:
                    break
                if made_room is None:
                    self.wake()
                    with self.lock:
                        if not self.room and not self.closed:
                            left = _WAIT_SLICE_S
                            if deadline is not None:
                                left = min(left, deadline - time.monotonic())
                            if left > 0:
                                self.not_full.wait(left)
        finally:
            with self.lock:
                self._sync_waiters -= 1
        if self.closed and self.successor is not None:
            return self.successor.put_forwarded(record)
        next(self.dropped)
        return False

    async def aput(self, record: Record) -> bool:
        """``block`` for awaitable calls: wait for room without blocking the event loop."""
        if self._try_admit(record):
            if len(self.items) >= self.wake_at and self.parked and not self.wake_pending:
                self.wake_pending = True
                self.wake()
            return True
        return await self._aput_slow(record)

    async def _aput_slow(self, record: Record) -> bool:
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        whence = (threading.get_ident(), loop)
        future: asyncio.Future[None] = loop.create_future()
        with self.lock:
            self.block_waits += 1
        try:
            while True:
                with self.lock:
                    # Registered before the try, as in put_blocking: the consumer gives room
                    # back first and looks for waiters second, so one of the two sees the other.
                    if future not in self._async_waiters:
                        if future.done():
                            future = loop.create_future()
                        self._async_waiters[future] = whence
                    if self._try_admit(record):
                        return True
                    if self.closed or (deadline is not None and time.monotonic() >= deadline):
                        break
                self.wake()
                left = _WAIT_SLICE_S
                if deadline is not None:
                    left = max(0.0, min(left, deadline - time.monotonic()))
                await asyncio.wait({future}, timeout=left)
        finally:
            with self.lock:
                self._async_waiters.pop(future, None)
        if self.closed and self.successor is not None:
            return self.successor.put_forwarded(record)
        next(self.dropped)
        return False

    def put_forwarded(self, record: Record) -> bool:
        """A call that was waiting on a predecessor queue when it was replaced (reconfigure)."""
        if self._try_admit(record):
            return True
        if self.overflow == "block" and not self.closed:
            return self.put_blocking(record)
        next(self.dropped)
        return False

    # -- consumer side -----------------------------------------------------------------------

    def take(self, limit: int) -> list[Record]:
        """Pop up to ``limit`` events (consumer only). Their slots stay taken until
        :meth:`give_back`: a batch in a sink's hands still counts against ``maxsize``, so memory
        stays bounded and a sink that logs while writing cannot refill the room it frees."""
        items = self.items
        with self._take_lock:
            depth = len(items)
            batch = [items.popleft() for _ in range(min(limit, depth))]
            self.taken += len(batch)
        if depth > self.high_water_mark:
            self.high_water_mark = depth
        return batch

    def give_back(self, count: int) -> None:
        """Free the slots of a written batch and wake callers waiting for room."""
        if not self.closed:
            self.room.extend(itertools.repeat(None, count))
            if self.closed:  # closed meanwhile: take back what was just given
                self.room.clear()
        if self._sync_waiters or self._async_waiters:
            self._notify_room()

    def _notify_room(self) -> None:
        with self.lock:
            if self._sync_waiters:
                self.not_full.notify_all()
            waiters, self._async_waiters = self._async_waiters, {}
        me = threading.get_ident()
        for future, (thread_id, loop) in waiters.items():
            if thread_id == me:
                _resolve(future)
            else:
                try:
                    loop.call_soon_threadsafe(_resolve, future)
                except RuntimeError:  # that loop is closed; its waiter is gone with it
                    pass

    def close(self, successor: LogQueue | None = None) -> None:
        """Accept nothing more: later offers count as dropped; waiting ``block`` callers move to
        ``successor`` when there is one. Wakes every waiter."""
        self.successor = successor
        self.closed = True
        self.room.clear()
        self._notify_room()

    def counts(self) -> tuple[int, int, int, int, int]:
        """(enqueued, dropped, sampled_out, block_waits, depth)."""
        with self._take_lock:
            taken, depth = self.taken, len(self.items)
        return (
            taken + depth,
            _value(self.dropped),
            _value(self.sampled_out),
            self.block_waits,
            depth,
        )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
