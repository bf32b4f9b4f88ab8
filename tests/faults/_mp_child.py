"""Functions run in multiprocessing children (importable by name for spawn and forkserver)."""

from __future__ import annotations

import os

import fapilog

EVENTS = 1_200


def log_events(path: str, configure: bool, method: str) -> None:
    """Log ``EVENTS`` events and return normally (the child then exits the way its start
    method does: ``os._exit`` for fork and forkserver). Without ``configure`` the first call
    configures from ``FAPILOG_*``, set here because a forkserver's children inherit the
    server's environment from when it started, not the test's."""
    if configure:
        fapilog.configure_logging(sinks=(f"file://{path}",), queue_overflow="block")
    elif method != "fork":
        os.environ["FAPILOG_SINKS"] = f"file://{path}"
        os.environ["FAPILOG_QUEUE_OVERFLOW"] = "block"
    for i in range(EVENTS):
        fapilog.log.info("child", i=i)


def log_and_wait(count: int) -> int:
    """A pool task: log ``count`` events, then keep the worker busy until it is terminated."""
    for i in range(count):
        fapilog.log.info("pool", pid=os.getpid(), i=i)
    return os.getpid()
