"""The load test behind ``scripts/load_test_log_queue.py``, ``python -m fapilog.loadtest`` and
``fapilog-loadtest``: does the logging queue hold at the rate a service needs, and at what cost?

The measuring parts are public for the benchmark matrix: :func:`paced_window` issues paced log
calls through the current pipeline and returns a :class:`PacedWindow`; :class:`LatencyHistogram`
and :class:`Pacer` are its building blocks. Stdlib and fapilog only; importing ``fapilog``
itself never imports this package (nor asyncio).
"""

from fapilog.loadtest._histogram import RELATIVE_ERROR, LatencyHistogram
from fapilog.loadtest._main import main
from fapilog.loadtest._pacer import Pacer
from fapilog.loadtest._report import SCHEMA
from fapilog.loadtest._window import PacedWindow, paced_window

__all__ = [
    "RELATIVE_ERROR",
    "SCHEMA",
    "LatencyHistogram",
    "PacedWindow",
    "Pacer",
    "main",
    "paced_window",
]
