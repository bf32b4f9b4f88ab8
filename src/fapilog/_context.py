"""Per-task / per-thread context fields, merged into every record at call time.

The context dict is never mutated in place: each change installs a new dict, so a task that
inherited a context (``asyncio`` copies it at task creation) never sees another task's changes.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

_EMPTY: dict[str, Any] = {}
CONTEXT: ContextVar[dict[str, Any]] = ContextVar("fapilog_context", default=_EMPTY)


def bind_context(**fields: Any) -> Token[dict[str, Any]]:
    """Add ``fields`` to every record logged from the current context (task or thread).

    Returns a token: :func:`reset_context` with it puts back the context as it was before.
    """
    return CONTEXT.set({**CONTEXT.get(), **fields})


def reset_context(token: Token[dict[str, Any]]) -> None:
    """Restore the context as it was before the :func:`bind_context` call that gave ``token``.

    Raises ``ValueError`` when the token was made in another context (another task or thread)
    or was already used, as :meth:`contextvars.ContextVar.reset` does.
    """
    try:
        CONTEXT.reset(token)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(
            f"reset_context: {token!r} cannot be used here ({exc}); a token restores the context "
            "once, in the task or thread whose bind_context() made it"
        ) from None


def unbind_context(*keys: str) -> None:
    """Remove ``keys`` from the current context; missing keys are ignored."""
    current = CONTEXT.get()
    if any(key in current for key in keys):
        CONTEXT.set({k: v for k, v in current.items() if k not in keys})


def clear_context() -> None:
    """Remove every context field from the current context."""
    CONTEXT.set(_EMPTY)


def get_context() -> MappingProxyType[str, Any]:
    """A read-only view of the current context fields."""
    return MappingProxyType(CONTEXT.get())


class context:  # lower case: it is used like a function, `with fapilog.context(...):`
    """``with fapilog.context(**fields):`` adds ``fields`` to the context inside the block and
    restores the previous context on the way out, exception or not. Works as ``async with`` too.
    Re-entering the same object nests: each exit restores what its own entry replaced.
    """

    __slots__ = ("_fields", "_tokens")

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        self._tokens: list[Token[dict[str, Any]]] = []

    def __enter__(self) -> MappingProxyType[str, Any]:
        merged = {**CONTEXT.get(), **self._fields}
        self._tokens.append(CONTEXT.set(merged))
        return MappingProxyType(merged)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        CONTEXT.reset(self._tokens.pop())

    async def __aenter__(self) -> MappingProxyType[str, Any]:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
