"""Decide from measured numbers: the gate (``compare``), the same-runner A/B (``ab`` measures,
``verdict`` rules), the A/B's power (``gate_power``), and the statistics they share (``stats``).
"""

from __future__ import annotations

import re

#: Exit status of the judges' commands: pass, a gated cell failed, unusable input.
EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_UNUSABLE = 2

_OLD_TOTAL_RATE = re.compile(r"(?<=[\[,])rate=")


def canonical_name(name: str) -> str:
    """A benchmark name in today's words.

    Files written before the rename call the matrix's total rate (calls/s of all producers
    together) ``rate``: ``enqueue[…,rate=10000]`` is read as ``enqueue[…,total_rate=10000]``, so
    old artifacts and baselines still match today's cells.
    """
    return _OLD_TOTAL_RATE.sub("total_rate=", name)
