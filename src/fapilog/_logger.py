"""``Logger`` and the hot path.

A log call does three things: build one record, offer it to the queue, return the verdict. The
record is a tuple of what the call already holds — ``(time.time(), level, event, context,
bound fields, call fields)`` — none of it copied: the context and bound dicts are never mutated
(each change makes a new one) and the call's ``**fields`` dict is its own. The worker merges them
into one dict when it serializes. The
level methods are installed on the class when a pipeline is configured (:func:`install`): an
enabled level gets a function bound to that pipeline's offer for its level, a disabled level gets
a function that returns False at once. So the call never asks "is this level on?" or "which
overflow strategy?". Before the first configure, each method configures from the environment and
calls again.
"""

from __future__ import annotations

import sys

from fapilog._levels import ERROR, INFO, LEVEL_NAMES, level_name, parse_level

# ``import fapilog`` must stay cheap: typing is for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any, Protocol, TypeAlias

    _SyncMethod: TypeAlias = Callable[..., bool]
    _AsyncMethod: TypeAlias = Callable[..., Awaitable[bool]]

    class Calls(Protocol):
        """What :func:`install` needs from a pipeline: the log method for each level."""

        def call_for(self, level: int, name: str) -> _SyncMethod: ...

        def acall_for(self, level: int, name: str) -> _AsyncMethod: ...


class Logger:
    """Structured logger. Every method is ``(event, /, **fields) -> bool``: True when enqueued.

    Fields are merged over the context (:func:`fapilog.bind_context`) and the logger's bound
    fields; a field named ``timestamp``, ``level`` or ``event`` replaces the built-in value.
    A call never raises: a full queue, a closed pipeline or an unserializable value is counted
    in :func:`fapilog.stats` instead.
    """

    __slots__ = ("_fields", "name")

    def __init__(self, name: str | None = None, **fields: Any) -> None:
        self.name = name
        self._fields: dict[str, Any] = {"logger": name, **fields} if name else dict(fields)

    def bind(self, **fields: Any) -> Logger:
        """A logger that adds ``fields`` to every record (this one is unchanged)."""
        child = Logger.__new__(Logger)
        child.name = self.name
        child._fields = {**self._fields, **fields}
        return child

    def __repr__(self) -> str:
        return f"<fapilog.Logger name={self.name!r} fields={self._fields!r}>"

    # Placeholders for the type checker; :func:`install` puts the real methods on the class.
    if TYPE_CHECKING:

        def debug(self, event: object, /, **fields: Any) -> bool: ...
        def info(self, event: object, /, **fields: Any) -> bool: ...
        def warning(self, event: object, /, **fields: Any) -> bool: ...
        def error(self, event: object, /, **fields: Any) -> bool: ...
        def critical(self, event: object, /, **fields: Any) -> bool: ...
        def exception(self, event: object, /, **fields: Any) -> bool: ...
        async def adebug(self, event: object, /, **fields: Any) -> bool: ...
        async def ainfo(self, event: object, /, **fields: Any) -> bool: ...
        async def awarning(self, event: object, /, **fields: Any) -> bool: ...
        async def aerror(self, event: object, /, **fields: Any) -> bool: ...
        async def acritical(self, event: object, /, **fields: Any) -> bool: ...
        async def aexception(self, event: object, /, **fields: Any) -> bool: ...

    def log(self, level: int | str, event: object, /, **fields: Any) -> bool:
        """Log at ``level`` (a number or a name); an unknown level is logged as INFO with its
        own name, so nothing is lost."""
        method, fields = _route(level, fields)
        result: bool = getattr(self, method)(event, **fields)
        return result

    async def alog(self, level: int | str, event: object, /, **fields: Any) -> bool:
        """Awaitable :meth:`log`: waits for room without blocking the loop under ``block``."""
        method, fields = _route(level, fields)
        result: bool = await getattr(self, "a" + method)(event, **fields)
        return result


def _route(level: object, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    number = parse_level(level)
    if number is None:
        try:
            name = str(level)
        except Exception:
            name = f"<{type(level).__name__}>"
        return LEVEL_NAMES[INFO], {"level": name, **fields}
    return level_name(number), fields


def _traceback_field(fields: dict[str, Any]) -> dict[str, Any]:
    if sys.exc_info()[0] is not None and "exception" not in fields:
        import traceback

        try:
            return {**fields, "exception": traceback.format_exc()}
        except Exception:  # an exception whose str() raises must not escape a log call
            return {**fields, "exception": repr(sys.exc_info()[1])}
    return fields


def _with_traceback(inner: _SyncMethod) -> _SyncMethod:
    def exception(self: Logger, event: object, /, **fields: Any) -> bool:
        return inner(self, event, **_traceback_field(fields))

    return exception


def _awith_traceback(inner: _AsyncMethod) -> _AsyncMethod:
    async def aexception(self: Logger, event: object, /, **fields: Any) -> bool:
        return await inner(self, event, **_traceback_field(fields))

    return aexception


def _off(self: Logger, event: object, /, **fields: Any) -> bool:
    return False


async def _aoff(self: Logger, event: object, /, **fields: Any) -> bool:
    return False


def install(calls: Calls, min_level: int) -> None:
    """Bind every level method of :class:`Logger` to a pipeline (done at configure time)."""
    methods: dict[str, Any] = {}
    for number, name in LEVEL_NAMES.items():
        if number < min_level:
            methods[name], methods["a" + name] = _off, _aoff
        else:
            methods[name] = calls.call_for(number, name)
            methods["a" + name] = calls.acall_for(number, name)
    if min_level <= ERROR:
        methods["exception"] = _with_traceback(methods["error"])
        methods["aexception"] = _awith_traceback(methods["aerror"])
    else:
        methods["exception"], methods["aexception"] = _off, _aoff
    for attr, function in methods.items():
        setattr(Logger, attr, function)


def install_autoconfigure(configure: Callable[[], None]) -> None:
    """Before any pipeline exists, each method configures one from the environment first."""
    for name in [*LEVEL_NAMES.values(), "exception"]:
        setattr(Logger, name, _auto_sync(name, configure))
        setattr(Logger, "a" + name, _auto_async("a" + name, configure))


def _auto_sync(attr: str, configure: Callable[[], None]) -> _SyncMethod:
    def method(self: Logger, event: object, /, **fields: Any) -> bool:
        configure()
        result: bool = getattr(self, attr)(event, **fields)
        return result

    return method


def _auto_async(attr: str, configure: Callable[[], None]) -> _AsyncMethod:
    async def method(self: Logger, event: object, /, **fields: Any) -> bool:
        configure()
        result: bool = await getattr(self, attr)(event, **fields)
        return result

    return method


def _configure_from_env() -> None:
    from fapilog._pipeline import autoconfigure

    autoconfigure()


install_autoconfigure(_configure_from_env)
