"""fapilog's measuring code, split by role (as pyperf splits its runner, its comparison and its
command line):

- :mod:`bench.load`: drives the library and measures it (the pyperf matrix, the quick
  QueueHandler comparison, the peers, the ASGI service under load, the hot-path probes);
- :mod:`bench.judge`: decides from the numbers (the gate ``compare``, the same-runner A/B
  ``ab`` and its ``verdict``, ``gate_power``, the ``stats`` they share);
- :mod:`bench.report`: turns verdicts into text and pictures (Markdown and JSON tables, the chart).

Every command runs from the repository root as ``python -m bench.<role>.<module>``. Pacing and
percentiles are the load test's own (:class:`fapilog.loadtest.Pacer`,
``fapilog.loadtest._histogram.percentile``), and the overflow strategies are the settings' type.
"""
