"""fapilog's one voice of its own: a line on stderr, never an exception into the application."""

from __future__ import annotations

import sys


def report(message: str) -> None:
    """Write ``fapilog: message`` to stderr; if stderr itself is gone there is nothing to do."""
    try:
        sys.stderr.write(f"fapilog: {message}\n")
    except Exception:
        pass
