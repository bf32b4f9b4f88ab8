"""Old names that keep working for one release, with a ``DeprecationWarning`` that names the new
one. Imports nothing of fapilog's."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["accept_renamed_keywords", "warn_renamed"]

_T = TypeVar("_T")


def warn_renamed(old: str, new: str, *, stacklevel: int) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``; ``stacklevel`` counts from the
    caller of this function, as :func:`warnings.warn`'s does."""
    warnings.warn(
        f"{old} is deprecated and will be removed in a future release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def accept_renamed_keywords(
    owner: str, renamed: Mapping[str, str]
) -> Callable[[type[_T]], type[_T]]:
    """Class decorator (outside ``@dataclass``): the constructor also takes each old keyword of
    ``renamed`` (old -> new), warning, and refuses a call that passes both names."""

    def decorate(cls: type[_T]) -> type[_T]:
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: _T, *args: Any, **kwargs: Any) -> None:
            if not renamed.keys().isdisjoint(kwargs):
                for old, new in renamed.items():
                    if old not in kwargs:
                        continue
                    if new in kwargs:
                        raise TypeError(
                            f"{owner}() got both {new!r} and its deprecated name {old!r}"
                        )
                    # Frames: warn_renamed, this __init__, then the caller.
                    warn_renamed(f"{owner}({old}=...)", f"{new}=", stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            init(self, *args, **kwargs)

        # setattr: mypy forbids assigning to a method of a class it knows.
        setattr(cls, "__init__", __init__)  # noqa: B010
        return cls

    return decorate
