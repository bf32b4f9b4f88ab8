"""Level names and numbers (the standard library's numbers, so the stdlib bridge maps 1:1)."""

from __future__ import annotations

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

#: Canonical names, in the order the Logger exposes them as methods.
LEVEL_NAMES: dict[int, str] = {
    DEBUG: "debug",
    INFO: "info",
    WARNING: "warning",
    ERROR: "error",
    CRITICAL: "critical",
}

_ALIASES: dict[str, int] = {
    **{name: number for number, name in LEVEL_NAMES.items()},
    "warn": WARNING,
    "fatal": CRITICAL,
}


def parse_level(value: object) -> int | None:
    """Return the level number for a name (any case) or an int, or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _ALIASES:
            return _ALIASES[text]
        if text.isascii() and text.isdecimal() and len(text) < 10:
            return int(text)
    return None


def level_name(number: int) -> str:
    """Name for any level number: the highest standard level at or below it (debug at least)."""
    best = DEBUG
    for known in LEVEL_NAMES:
        if known <= number:
            best = known
    return LEVEL_NAMES[best]


def accepted_levels() -> str:
    return ", ".join(LEVEL_NAMES.values()) + " (any case) or a number"
