"""``LogQueue``: the bounded hand-off between callers and the worker, and its overflow strategies.

Many producers (threads, tasks on any loop) and one consumer, without a lock on the common path:
the queue's room is a deque of slot tokens. A producer pops a token (``deque.pop`` is atomic) and
appends its record; no token, no room. The consumer pops records (it is the only one popping) and
gives the tokens back once every sink has finished the batch. So the bound is exact. Admitted
events need no counter (``enqueued`` is what the consumer took plus what is queued); refusals are
counted with ``itertools.count``, whose ``next()`` is atomic — ``n += 1`` from several threads
can lose updates.

Tokens are made lazily, a chunk at a time, as the queue first fills: a queue sized for millions
of events costs nothing until events exist.

No producer ever holds a lock that the worker needs. A ``block`` caller that has to wait parks on
a lock of its own and registers a wake-up; the worker (or a sink's writer) wakes it by releasing
that lock, which never waits. A call made while its thread is already inside a fapilog call (a
signal handler, a finalizer, a sink that logs) never waits: it is admitted if there is room,
otherwise dropped and counted.

The queue knows nothing of loggers, levels by name or sinks: it imports nothing of fapilog's. The
log methods that feed it (``fapilog._methods``) are made from its parts once per level, when the
pipeline is built, so a call never asks which strategy is on.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from operator import length_hint
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

#: (timestamp, level name, event, context, bound fields, call fields); see ``fapilog._methods``.
Record = tuple[float, str, object, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]

#: Waits are cut into slices this long so that a missed notification costs a slice, not a hang.
WAIT_SLICE_S = 0.05
#: Slot tokens are made this many at a time, as the queue first fills.
ROOM_CHUNK = 4096
#: Events whose estimated size reaches this are charged to ``queue_max_bytes``; smaller ones are
#: bounded by ``queue_maxsize`` alone (at most ``queue_maxsize`` × 1 KiB of such estimates).
LARGE_EVENT = 1024
#: Until the first large event, the log methods do not estimate sizes (it would cost about a
#: third of a call): they look at one event of a growing backlog, the 32nd, then every 256th
#: (0.4 % of calls at most, so not even the p99 pays), and the consumer looks at every batch.
#: The first large event seen switches to sized methods.
SIZE_SAMPLE_MASK = 255
SIZE_SAMPLE_AT = 32


def estimate(event: object, fields: Mapping[str, Any]) -> int:
    """A log call's size for the byte budget: the length of the event and of the call's own
    ``str`` and ``bytes`` field values. Context and bound fields are shared between records, and
    other values are not measured (a cheap, documented approximation). The log methods inline
    exactly this."""
    size = len(event) if event.__class__ is str else 0
    for value in fields.values():
        if value.__class__ is str or value.__class__ is bytes:
            size += len(value)
    return size


def charge_of(records: list[Record]) -> int:
    """The bytes ``records`` were charged when they were admitted (the consumer gives them
    back when the batch is finished)."""
    total = 0
    for record in records:
        size = estimate(record[2], record[5])
        if size >= LARGE_EVENT:
            total += size
    return total


def _nothing() -> None:
    pass


def _no_level(name: str) -> int | None:
    return None


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
        min_level: int = 0,
        level_of: Callable[[str], int | None] = _no_level,
        keep_level: int = 30,
        max_bytes: int = 1 << 60,
    ) -> None:
        self.maxsize = maxsize
        #: The level gate of calls forwarded here from a replaced queue: a record whose level
        #: (``level_of(record[1])``, None when unknown) is below ``min_level`` is not admitted.
        self.min_level = min_level
        self.level_of = level_of
        #: Under ``sample``, records at or above this level (WARNING) are never sampled out,
        #: and may use the whole byte budget.
        self.keep_level = keep_level
        #: ``queue_max_bytes``: budget for the estimated size of large events (see
        #: :func:`estimate`) queued or in a sink's hands.
        self.max_bytes = max_bytes
        #: Bytes charged for large events not yet finished by every sink. Approximate: updated
        #: without a lock by producers (+) and the consumer (-), clamped at 0, and reset to 0
        #: when nothing is queued or in flight, so a lost update never lasts.
        self.bytes_used = 0
        self.bytes_peak = 0
        #: Events refused because they alone are larger than ``max_bytes`` (also ``dropped``).
        self.too_large = 0
        #: False until the consumer first sees a large event: until then the log methods skip
        #: the size estimate (it costs about a third of a call); from then on they charge it.
        self.sized = False
        #: Installed by the pipeline: put the sized log methods in place (once).
        self.on_sized: Callable[[], None] = _nothing
        self.items: deque[Record] = deque()
        #: One token per free slot. Empty once closed: a closed queue is simply always full.
        self.room: deque[None] = deque(itertools.repeat(None, min(maxsize, ROOM_CHUNK)))
        #: Tokens not made yet: ``itertools.repeat`` iterators that ``room.extend`` consumes (in
        #: C, atomically). An extend that is interrupted, or races another, leaves exactly the
        #: unconsumed remainder: no token is ever made twice or lost.
        self.unmade: deque[Iterator[None]] = deque(_chunks(maxsize - len(self.room)))
        self.closed = False
        #: Events the consumer has taken. ``enqueued`` is ``taken + len(items)``, read together
        #: under ``_take_lock`` (re-entrant: ``stats()`` from a signal handler must not deadlock).
        self.taken = 0
        self._take_lock = threading.RLock()
        self.dropped = itertools.count()
        self.sampled_out = itertools.count()
        #: Calls that found no room under ``block`` (see :attr:`block_waits`).
        self._block_waits = itertools.count()
        #: The most slots ever in use at once (queued plus in a sink's hands).
        self.depth_peak = 0
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
        #: Threads that must never wait for room: the worker and the sinks' writers (the room
        #: they would wait for is theirs to give back).
        self.no_wait: set[int] = set()
        #: Threads waiting for room now; a nested call on one of them must not wait again.
        self._waiting: set[int] = set()
        #: Wake-ups of parked ``block`` callers (thread or task), by key. Added and popped
        #: without a lock (single dict operations are atomic); whoever pops one calls it.
        self._sleepers: dict[object, Callable[[], None]] = {}
        #: Set when a reconfigure replaces this queue: callers still waiting for room here, and
        #: calls through a log method captured before the reconfigure, move on to the new one.
        self.successor: LogQueue | None = None
        #: Set on the parent's queue in a forked child: where calls through a log method
        #: captured before the fork go (the child's own queue).
        self.adopter: Callable[[], LogQueue | None] | None = None

    @property
    def block_waits(self) -> int:
        """Calls that found the queue full under ``block`` and had to wait (or drain inline)."""
        return _value(self._block_waits)

    def interrupted(self) -> None:
        """An asynchronous exception landed right after a slot was taken: give it back, and
        count the call as dropped (it was attempted and not enqueued)."""
        if not self.closed:
            self.room.append(None)
        next(self.dropped)

    # -- producer side: large events (the byte budget) ---------------------------------------

    def _limit_for(self, level: int) -> int:
        """Under ``sample``, sub-WARNING large events may use the budget only up to the
        high-water share; WARNING and above may use all of it (errors are kept first)."""
        if self.overflow == "sample" and level < self.keep_level:
            return int(self.max_bytes * self.high_water_count / self.maxsize)
        return self.max_bytes

    def large_offer_for(self, level: int) -> Callable[[Record, int], bool]:
        limit = self._limit_for(level)
        q = self

        def offer_large(record: Record, size: int) -> bool:
            return q._offer_large(record, size, limit)

        return offer_large

    def _refuse_large(self, size: int) -> bool:
        """An event larger than the whole budget is never admitted: dropped and counted."""
        self.too_large += 1
        next(self.dropped)
        return False

    def _refuse_over_budget(self, size: int, limit: int) -> bool:
        """Over the budget: ``dropped``, or under ``sample`` ``sampled_out`` when only the
        sub-WARNING share is used up (the event would have fit in the whole budget)."""
        if limit < self.max_bytes and self.bytes_used + size <= self.max_bytes:
            next(self.sampled_out)
        else:
            next(self.dropped)
        return False

    def _offer_large(self, record: Record, size: int, limit: int) -> bool:
        if size > self.max_bytes:
            return self._refuse_large(size)
        if self.closed:
            return self.forward(record)
        if self.bytes_used + size > limit and not self._wait_for_bytes(size, limit):
            return self._refuse_over_budget(size, limit)
        self.bytes_used += size
        if self.bytes_used > self.bytes_peak:
            self.bytes_peak = self.bytes_used
        admitted = False
        try:
            admitted = self.offer(record)
        finally:
            if not admitted:  # refused (counted by offer()) or interrupted while waiting
                self.bytes_used = max(0, self.bytes_used - size)
        return admitted

    async def aoffer_large(self, record: Record, size: int, level: int) -> bool:
        import asyncio

        limit = self._limit_for(level)
        if size > self.max_bytes:
            return self._refuse_large(size)
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        if self.bytes_used + size > limit and not self.closed:
            if self.overflow != "block":
                return self._refuse_over_budget(size, limit)
            next(self._block_waits)
        while self.bytes_used + size > limit and not self.closed:
            if deadline is not None and time.monotonic() >= deadline:
                next(self.dropped)
                return False
            self.wake()
            await asyncio.sleep(WAIT_SLICE_S / 5)
        if self.closed:
            return self.forward(record)
        self.bytes_used += size
        if self.bytes_used > self.bytes_peak:
            self.bytes_peak = self.bytes_used
        admitted = False
        try:
            admitted = await self.aput(record)
        finally:
            if not admitted:  # refused, or cancelled while waiting (a client went away)
                self.bytes_used = max(0, self.bytes_used - size)
        return admitted

    def _wait_for_bytes(self, size: int, limit: int) -> bool:
        """``block`` only: wait (within the block timeout) until ``size`` more bytes fit."""
        if self.overflow != "block":
            return False
        me = threading.get_ident()
        if me in self.no_wait or me in self._waiting:
            return False
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        next(self._block_waits)
        try:
            self._waiting.add(me)
            while self.bytes_used + size > limit:
                if self.closed or (deadline is not None and time.monotonic() >= deadline):
                    return False
                self.wake()
                left = wait_slice(deadline)
                if left > 0:
                    self._sleep_until(lambda: self.bytes_used + size <= limit, left)
        finally:
            self._waiting.discard(me)
        return True

    def release_bytes(self, charge: int, idle: bool) -> None:
        """The consumer: a finished batch's large events no longer count; ``idle`` (nothing
        queued or in flight) resets the approximate count to its exact value, 0."""
        used = 0 if idle else self.bytes_used - charge
        self.bytes_used = used if used > 0 else 0
        if charge and self._sleepers:
            self._wake_sleepers()

    def look_at_size(self, event: object, fields: Mapping[str, Any]) -> None:
        """Lean methods call this at depth 32, then every 256 (``SIZE_SAMPLE_*``), i.e. only
        while a backlog builds: the first large event then switches the queue to sized
        methods."""
        if not self.sized and estimate(event, fields) >= LARGE_EVENT:
            self.go_sized([])

    def go_sized(self, in_hand: list[Record]) -> int:
        """The consumer saw the first large event: charge what is queued now (it was admitted
        without a charge, and will be released when written) and switch the log methods to the
        sized ones. Returns the charge of ``in_hand``, the batch the consumer holds."""
        self.sized = True
        self.bytes_used += charge_of(list(self.items))
        charge = charge_of(in_hand)
        self.bytes_used += charge
        self.on_sized()
        return charge

    # -- producer side: no room ----------------------------------------------------------------

    def on_full_for(self, level: int) -> Callable[[Record], bool]:
        if self.overflow == "block":
            return self.put_blocking
        count_dropped = self.dropped.__next__
        q = self

        def drop(record: Record) -> bool:
            if q.unmade and q.make_tokens():
                return q.offer(record)
            if q.closed:
                return q.forward(record)
            count_dropped()
            return False

        return drop

    def make_tokens(self) -> bool:
        """Make the next chunk of slot tokens; False when every token exists already."""
        for chunk in list(self.unmade):
            if length_hint(chunk):
                self.room.extend(chunk)
                return True
        self.unmade.clear()  # every chunk is used up
        return False

    def _try_admit(self, record: Record) -> bool:
        while True:
            try:
                self.room.pop()
            except IndexError:
                if self.unmade and not self.closed and self.make_tokens():
                    continue
                return False
            except BaseException:
                self.interrupted()
                raise
            else:
                self.items.append(record)
                if len(self.items) >= self.wake_at and self.parked and not self.wake_pending:
                    self.wake_pending = True
                    self.wake()
                return True

    def offer(self, record: Record) -> bool:
        """Offer a ready record with this queue's strategy (the slow path: a call that found no
        room at first, or one forwarded from a replaced pipeline). ``sample`` is applied as
        ``drop`` here: the event already passed its sampling."""
        if self._try_admit(record):
            return True
        if self.closed:
            return self.forward(record)
        if self.overflow == "block":
            return self.put_blocking(record)
        next(self.dropped)
        return False

    def forward(self, record: Record) -> bool:
        """A call that reached this queue after it closed: through a log method captured before
        a reconfigure, or a ``block`` caller that was waiting here. It goes to the newest
        pipeline (through its level gate); with no successor (after ``shutdown()``) it counts
        as dropped here."""
        target = self._forward_target(record)
        return False if target is None else target.offer(record)

    def _forward_target(self, record: Record) -> LogQueue | None:
        """The newest queue for a call that reached this closed one; None when there is none
        (counted as dropped here) or its level is off there (not an attempt)."""
        target = self.successor
        if target is None and self.adopter is not None:
            target = self.adopter()  # a forked child's pipeline (built on demand)
        if target is None:
            next(self.dropped)
            return None
        while target.successor is not None:
            target = target.successor
        number = self.level_of(record[1])
        if number is not None and number < target.min_level:
            return None
        return target

    def put_blocking(self, record: Record) -> bool:
        """``block``, queue full: wait for room (or make it), up to the block timeout."""
        if self._try_admit(record):
            return True
        if self.closed:
            return self.forward(record)
        me = threading.get_ident()
        if me in self.no_wait or me in self._waiting:
            # A worker or writer thread, or a call nested in one that is waiting already (a
            # signal handler, a finalizer): waiting here could wait on itself.
            next(self.dropped)
            return False
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        next(self._block_waits)
        try:
            self._waiting.add(me)
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
                    left = wait_slice(deadline)
                    if left > 0:
                        self._sleep_until_room(left)
        finally:
            self._waiting.discard(me)
        if self.closed:
            return self.forward(record)
        next(self.dropped)
        return False

    def _sleep_until_room(self, timeout: float) -> None:
        self._sleep_until(lambda: bool(self.room), timeout)

    def _sleep_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Park this thread until room is given back (or ``timeout``). The wake-up is a release
        of a lock only this call holds, so whoever wakes us never waits."""
        parked = threading.Lock()
        parked.acquire()
        key = object()
        self._sleepers[key] = parked.release
        try:
            # Registered before this look: the consumer gives room back first and looks for
            # sleepers second, so one of the two sees the other.
            if not ready() and not self.closed:
                parked.acquire(timeout=timeout)
        finally:
            self._sleepers.pop(key, None)

    async def aput(self, record: Record) -> bool:
        """``block`` for awaitable calls: wait for room without blocking the event loop."""
        if self._try_admit(record):
            return True
        return await self._aput_slow(record)

    async def _aput_slow(self, record: Record) -> bool:
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = None if self.block_timeout_s is None else time.monotonic() + self.block_timeout_s
        next(self._block_waits)
        key = object()
        try:
            while True:
                future: asyncio.Future[None] = loop.create_future()
                self._sleepers[key] = future_waker(future, loop)
                if self._try_admit(record):
                    return True
                if self.closed or (deadline is not None and time.monotonic() >= deadline):
                    break
                self.wake()
                left = max(0.0, wait_slice(deadline))
                await asyncio.wait({future}, timeout=left)
        finally:
            self._sleepers.pop(key, None)
        if self.closed:
            target = self._forward_target(record)
            if target is None:
                return False
            if target.overflow == "block":
                return await target.aput(record)
            return target.offer(record)
        next(self.dropped)
        return False

    # -- consumer side -----------------------------------------------------------------------

    def take(self, limit: int) -> list[Record]:
        """Pop up to ``limit`` events (consumer only). Their slots stay taken until
        :meth:`give_back`: a batch in a sink's hands still counts against ``maxsize``, so memory
        stays bounded and a sink that logs while writing cannot refill the room it frees."""
        items = self.items
        batch: list[Record] = []
        with self._take_lock:
            depth = len(items)
            append, pop = batch.append, items.popleft
            try:
                for _ in range(min(limit, depth)):
                    append(pop())
            except IndexError:  # a nested drain took the rest (it should not: see the owner)
                pass
            finally:
                self.taken += len(batch)
        # Slots in use: queued plus in the sinks' hands (tokens not made yet are free too).
        # Not once closed: a closed queue has no room left, so every slot would look in use
        # (close() records the depth it had then).
        if not self.closed:
            self._note_depth()
        return batch

    def _note_depth(self) -> None:
        """Slots in use now (queued plus in the sinks' hands; tokens not made yet are free)
        count toward :attr:`depth_peak`."""
        in_use = self.maxsize - len(self.room) - sum(map(length_hint, self.unmade))
        if in_use > self.depth_peak:
            self.depth_peak = in_use

    def give_back(self, count: int) -> None:
        """Free the slots of a finished batch and wake callers waiting for room. Never waits."""
        if not self.closed:
            self.room.extend(itertools.repeat(None, count))
            if self.closed:  # closed meanwhile: take back what was just given
                self.room.clear()
        if self._sleepers:
            self._wake_sleepers()

    def _wake_sleepers(self) -> None:
        wake_all(self._sleepers)

    def disown_waiters(self) -> None:
        """In a forked child: the callers parked here are the parent's, not ours to wake."""
        self._sleepers.clear()

    def close(self, successor: LogQueue | None = None) -> None:
        """Enqueue nothing more: later offers go to ``successor`` (or count as dropped); waiting
        ``block`` callers move on. Wakes every waiter."""
        self.successor = successor
        if not self.closed:
            self._note_depth()
        self.closed = True
        self.room.clear()
        self.unmade.clear()
        self._wake_sleepers()

    def counts(self) -> tuple[int, int, int, int, int]:
        """(enqueued, dropped, sampled_out, block_waits, depth)."""
        with self._take_lock:
            taken, depth = self.taken, len(self.items)
        return (
            taken + depth,
            _value(self.dropped),
            _value(self.sampled_out),
            _value(self._block_waits),
            depth,
        )


def wait_slice(deadline: float | None) -> float:
    """How long the next slice of a wait may be: :data:`WAIT_SLICE_S`, or less when the
    ``deadline`` (``time.monotonic()``) is nearer; 0 or less once it has passed."""
    if deadline is None:
        return WAIT_SLICE_S
    return min(WAIT_SLICE_S, deadline - time.monotonic())


def wake_all(wakers: dict[object, Callable[[], None]]) -> None:
    """Call every registered wake-up once. Popped one by one without a lock (a single dict
    operation is atomic): whoever pops a wake-up calls it, so none is called twice."""
    for key in list(wakers):
        wake = wakers.pop(key, None)
        if wake is not None:
            wake()


def _chunks(count: int) -> list[Iterator[None]]:
    """``count`` tokens as iterators of at most ``ROOM_CHUNK`` each."""
    return [
        itertools.repeat(None, min(ROOM_CHUNK, count - start))
        for start in range(0, count, ROOM_CHUNK)
    ]


def future_waker(
    future: asyncio.Future[None], loop: asyncio.AbstractEventLoop
) -> Callable[[], None]:
    """A wake-up for a coroutine awaiting ``future`` on ``loop`` (call it from that loop's
    coroutine): callable from any thread or signal handler, never waits."""
    thread_id = threading.get_ident()

    def wake() -> None:
        if threading.get_ident() == thread_id:
            _resolve(future)
            return
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # that loop is closed; its waiter is gone with it
            pass

    return wake


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
