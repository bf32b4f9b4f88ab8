#!/usr/bin/env python3
"""Load-test fapilog's logging queue. ``--help`` lists every parameter.

A thin wrapper over :mod:`fapilog.loadtest` that also runs from a fresh checkout with nothing
installed: when ``fapilog`` is not importable it uses the repository's ``src/``.
"""

import sys
from pathlib import Path

try:
    import fapilog  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fapilog.loadtest import main

if __name__ == "__main__":
    sys.exit(main())
