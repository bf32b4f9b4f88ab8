"""Drive fapilog and measure it. ``enqueue`` and ``instructions`` are the harness that
``bench.judge.ab`` copies and runs against each side's installed library, so they import only
the standard library, pyperf and fapilog (never another ``bench`` module); ``quick`` runs with
the standard library alone."""
