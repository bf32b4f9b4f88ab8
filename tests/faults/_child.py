"""Run a fault scenario in a child interpreter, so that a hang fails the test instead of the
suite: the child gets a hard timeout and its output is returned for the assertions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_child(
    code: str, *, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with fapilog importable from this checkout; ``timeout`` kills a hang."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_")}
    child_env["PYTHONPATH"] = SRC + os.pathsep + child_env.get("PYTHONPATH", "")
    child_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        check=False,
    )
