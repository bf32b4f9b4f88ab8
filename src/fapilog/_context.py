"""Per-task / per-thread context fields, merged into every record at call time.

The context dict is never mutated in place: each change installs a new dict, so a task that
inherited a context (``asyncio`` copies it at task creation) never sees another task's changes.
"""

from __future__ import annotations

from contextvars import ContextVar
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_EMPTY: dict[str, Any] = {}
CONTEXT: ContextVar[dict[str, Any]] = ContextVar("fapilog_context", default=_EMPTY)


def bind_context(**fields: Any) -> None:
    """Add ``fields`` to every record logged from the current context (task or thread)."""
    CONTEXT.set({**CONTEXT.get(), **fields})


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
