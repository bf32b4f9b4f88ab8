"""Code that only knows the standard library's ``logging``, routed into fapilog by one call.

    python examples/stdlib_only.py
    FAPILOG_LEVEL=debug FAPILOG_SINKS=file:///tmp/stdlib.log python examples/stdlib_only.py

``fapilog.stdlib.capture()`` makes fapilog the only output of ``logging``: a library that logs
with ``logging.getLogger(__name__)`` (here ``billing``) gets JSON lines with its ``extra=`` fields,
its tracebacks and its logger name, at fapilog's level (``FAPILOG_LEVEL``), with no other change.
The handler that was already on a logger (a plain ``StreamHandler`` below, as many libraries or
``basicConfig`` set up) is taken off, so nothing is printed twice.
"""

from __future__ import annotations

import logging
import sys

import fapilog.stdlib

# What a library or an old code base does on its own: plain text to stderr.
legacy = logging.getLogger("billing")
legacy.addHandler(logging.StreamHandler(sys.stderr))
legacy.propagate = False


def charge(customer: str, cents: int) -> None:
    logger = logging.getLogger("billing")
    logger.debug("computing tax for %s", customer)
    logger.info("charged %s", customer, extra={"customer": customer, "cents": cents})
    if cents < 0:
        try:
            raise ValueError("negative amount")
        except ValueError:
            logger.exception("refund path not implemented", extra={"customer": customer})


if __name__ == "__main__":
    undo = fapilog.stdlib.capture()
    charge("ann", 1250)
    charge("bob", -5)
    logging.getLogger("app").warning("done with %d customers", 2)
    undo()  # the handlers and levels are back as they were; fapilog drains at exit
