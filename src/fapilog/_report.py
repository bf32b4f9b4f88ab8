"""fapilog's one voice of its own: a line on stderr, never an exception into the application."""

from __future__ import annotations

import sys
import time


def report(message: str) -> None:
    """Write ``fapilog: message`` to stderr; if stderr itself is gone there is nothing to do."""
    try:
        sys.stderr.write(f"fapilog: {message}\n")
    except Exception:
        pass


class RateLimited:
    """One source's stderr lines (a sink's, say), at most one every ``every_s`` seconds; the
    lines held back are counted and mentioned in the next one."""

    def __init__(self, prefix: str, every_s: float = 5.0) -> None:
        self.prefix = prefix
        self.every_s = every_s
        self._next = 0.0
        self._held_back = 0

    def hold_back(self) -> None:
        """Count something worth a line without writing one (said in the next line)."""
        self._held_back += 1

    def __call__(self, what: str, *, always: bool = False) -> None:
        """Report ``what``; ``always`` bypasses the limit (for rare state changes)."""
        if always:
            report(f"{self.prefix} {what}")
            return
        now = time.monotonic()
        if now < self._next:
            self._held_back += 1
            return
        self._next = now + self.every_s
        more = f" ({self._held_back} more not reported)" if self._held_back else ""
        self._held_back = 0
        report(f"{self.prefix} {what}{more}")
