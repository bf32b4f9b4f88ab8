"""``Logger``: a name and bound fields; its level methods are installed on the class.

A log call does three things: build one record, offer it to the queue, return the verdict. The
methods that do it are made per pipeline by ``fapilog._methods`` and installed on the class when
a pipeline is configured. Before the first configure, each method configures from the
environment (:func:`install_autoconfigure`, wired by the package root) and calls again.
"""

from __future__ import annotations

from fapilog._levels import INFO, LEVEL_NAMES, level_name, parse_level

# ``import fapilog`` must stay cheap: typing is for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any, TypeAlias

    _SyncMethod: TypeAlias = Callable[..., bool]
    _AsyncMethod: TypeAlias = Callable[..., Awaitable[bool]]


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

    # Placeholders for the type checker; ``fapilog._methods.install`` puts the real methods on
    # the class.
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


def install_autoconfigure(configure: Callable[[], None]) -> None:
    """Before any pipeline exists, each method configures one from the environment first."""
    for name in [*LEVEL_NAMES.values(), "exception"]:
        setattr(Logger, name, _auto_sync(name, configure))
        setattr(Logger, "a" + name, _auto_async("a" + name, configure))


def _auto_sync(attr: str, configure: Callable[[], None]) -> _SyncMethod:
    def method(self: Logger, event: object, /, **fields: Any) -> bool:
        configure()
        real = getattr(Logger, attr)
        if real is method:  # nothing was installed: a log call must not recurse, nor raise
            return False
        result: bool = real(self, event, **fields)
        return result

    return method


def _auto_async(attr: str, configure: Callable[[], None]) -> _AsyncMethod:
    async def method(self: Logger, event: object, /, **fields: Any) -> bool:
        configure()
        real = getattr(Logger, attr)
        if real is method:
            return False
        result: bool = await real(self, event, **fields)
        return result

    return method
