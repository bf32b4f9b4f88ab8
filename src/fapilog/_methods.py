"""The Logger's level methods: made from one queue's parts, once per level, at configure time.

A log call builds one record and offers it to the queue: the record is a tuple of what the call
already holds — ``(time.time(), level name, event, context, bound fields, call fields)`` — none
of it copied: the context and bound dicts are never mutated (each change makes a new one) and the
call's ``**fields`` dict is its own. The worker merges them when it serializes.

:func:`install` puts a method per level on :class:`~fapilog._logger.Logger`: an enabled level
gets a function with the queue's overflow strategy built in, a disabled level one that returns
False at once. So the call never asks "is this level on?" or "which strategy?". Everything a
method touches is bound to a local of its closure: the call reads the clock and the context,
builds one tuple, takes a slot, appends.

The record is built before the slot is taken, and the append sits in the ``else`` of the ``try``
that takes it: an asynchronous exception (Ctrl-C, a signal handler that raises) can only land at
the end of a call, so if it lands right after ``take_room()`` it is caught by that ``try`` and
the slot goes back; nothing can interrupt between the ``else`` and the append. ``try`` costs
nothing when nothing is raised.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fapilog._context import CONTEXT
from fapilog._levels import ERROR, LEVEL_NAMES
from fapilog._logger import Logger
from fapilog._queue import LARGE_EVENT, SIZE_SAMPLE_AT, SIZE_SAMPLE_MASK, LogQueue, estimate

LogCall = Callable[..., bool]
AsyncLogCall = Callable[..., Awaitable[bool]]


def call_for(queue: LogQueue, level: int, name: str) -> LogCall:
    """The log method for ``level`` (``(logger, event, /, **fields) -> bool``): the lean one,
    or once the queue is ``sized`` (it has seen a large event), the lean one behind the size
    estimate that charges the byte budget."""
    lean = _lean_call_for(queue, level, name)
    if not queue.sized:
        return lean
    now = time.time
    context = CONTEXT.get
    offer_large = queue.large_offer_for(level)

    def sized_call(logger: Logger, event: object, /, **fields: Any) -> bool:
        # ``estimate``, inlined.
        size = len(event) if event.__class__ is str else 0
        for value in fields.values():
            if value.__class__ is str or value.__class__ is bytes:
                size += len(value)
        if size >= LARGE_EVENT:
            return offer_large((now(), name, event, context(), logger._fields, fields), size)
        return lean(logger, event, **fields)

    return sized_call


def _lean_call_for(queue: LogQueue, level: int, name: str) -> LogCall:
    now = time.time
    context = CONTEXT.get
    items, room = queue.items, queue.room
    append, take_room = items.append, room.pop
    wake_at = queue.wake_at
    on_full = queue.on_full_for(level)
    interrupted = queue.interrupted
    look_at_size = queue.look_at_size
    q = queue

    if queue.overflow != "sample" or level >= queue.keep_level:

        def call(logger: Logger, event: object, /, **fields: Any) -> bool:
            record = (now(), name, event, context(), logger._fields, fields)
            if room:
                try:
                    take_room()
                except IndexError:  # another producer took the last slot since the check
                    pass
                except BaseException:
                    interrupted()
                    raise
                else:
                    append(record)
                    depth = len(items)
                    if depth >= wake_at and q.parked and not q.wake_pending:
                        q.wake_pending = True
                        q.wake()
                    if depth & SIZE_SAMPLE_MASK == SIZE_SAMPLE_AT:  # a backlog builds
                        look_at_size(event, fields)
                    return True
            return on_full(record)

        return call

    from random import random

    count_sampled_out = queue.sampled_out.__next__
    free_at_high_water = queue.maxsize - queue.high_water_count
    unmade, make_tokens = queue.unmade, queue.make_tokens
    rate = queue.sampling_rate

    # ``call`` above, behind the sampling test: past the high water, a sub-WARNING call is
    # admitted with probability ``rate`` (the record is built only for those admitted).
    def sampled_call(logger: Logger, event: object, /, **fields: Any) -> bool:
        if room:
            if len(room) <= free_at_high_water:
                if unmade:  # the free slots include tokens not made yet: make them first
                    make_tokens()
                elif random() >= rate:
                    count_sampled_out()
                    return False
            record = (now(), name, event, context(), logger._fields, fields)
            try:
                take_room()
            except IndexError:
                pass
            except BaseException:
                interrupted()
                raise
            else:
                append(record)
                depth = len(items)
                if depth >= wake_at and q.parked and not q.wake_pending:
                    q.wake_pending = True
                    q.wake()
                if depth & SIZE_SAMPLE_MASK == SIZE_SAMPLE_AT:
                    look_at_size(event, fields)
                return True
        return on_full((now(), name, event, context(), logger._fields, fields))

    return sampled_call


def acall_for(queue: LogQueue, level: int, name: str) -> AsyncLogCall:
    """The awaitable log method for ``level``: waits for room under ``block`` only."""
    if queue.overflow != "block":
        call = call_for(queue, level, name)

        async def acall(logger: Logger, event: object, /, **fields: Any) -> bool:
            return call(logger, event, **fields)

        return acall

    now = time.time
    context = CONTEXT.get
    aput = queue.aput
    aoffer_large = queue.aoffer_large
    sized = queue.sized

    async def ablock(logger: Logger, event: object, /, **fields: Any) -> bool:
        record = (now(), name, event, context(), logger._fields, fields)
        if sized and (size := estimate(event, fields)) >= LARGE_EVENT:
            return await aoffer_large(record, size, level)
        return await aput(record)

    return ablock


def install(queue: LogQueue, min_level: int) -> None:
    """Bind every level method of :class:`Logger` to ``queue`` (done at configure time, and
    again when the queue first sees a large event)."""
    methods: dict[str, Any] = {}
    for number, name in LEVEL_NAMES.items():
        if number < min_level:
            methods[name], methods["a" + name] = _off, _aoff
        else:
            methods[name] = call_for(queue, number, name)
            methods["a" + name] = acall_for(queue, number, name)
    if min_level <= ERROR:
        methods["exception"] = _with_traceback(methods["error"])
        methods["aexception"] = _awith_traceback(methods["aerror"])
    else:
        methods["exception"], methods["aexception"] = _off, _aoff
    for attr, function in methods.items():
        setattr(Logger, attr, function)


def _traceback_field(fields: dict[str, Any]) -> dict[str, Any]:
    if sys.exc_info()[0] is not None and "exception" not in fields:
        import traceback

        try:
            return {**fields, "exception": traceback.format_exc()}
        except Exception:  # an exception whose str() raises must not escape a log call
            return {**fields, "exception": repr(sys.exc_info()[1])}
    return fields


def _with_traceback(inner: LogCall) -> LogCall:
    def exception(self: Logger, event: object, /, **fields: Any) -> bool:
        return inner(self, event, **_traceback_field(fields))

    return exception


def _awith_traceback(inner: AsyncLogCall) -> AsyncLogCall:
    async def aexception(self: Logger, event: object, /, **fields: Any) -> bool:
        return await inner(self, event, **_traceback_field(fields))

    return aexception


def _off(self: Logger, event: object, /, **fields: Any) -> bool:
    return False


async def _aoff(self: Logger, event: object, /, **fields: Any) -> bool:
    return False
