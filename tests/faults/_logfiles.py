"""Helpers for the file-sink fault tests: run a child Python, read every log file back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (same ``sys.path``), for faults that are
    process-wide (resource limits)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def log_files(path: Path) -> list[Path]:
    """``path`` and its numbered backups that exist, oldest backup first."""
    backups = sorted(
        (p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
        key=lambda p: -int(p.suffix[1:]),
    )
    return [*backups, path] if path.exists() else backups


def read_records(path: Path, backups: bool = True) -> list[dict[str, Any]]:
    """Every line of ``path`` (and its backups, oldest first), parsed; a line that is not JSON
    fails here."""
    records = []
    for file in log_files(path) if backups else [path]:
        for number, line in enumerate(file.read_bytes().split(b"\n")[:-1], 1):
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{file.name}:{number} is not JSON: {line[:120]!r}") from None
        assert file.read_bytes()[-1:] in (b"", b"\n"), f"{file.name} ends in a partial line"
    return records


def duplicates(keys: list[Any]) -> list[Any]:
    return [key for key, count in Counter(keys).items() if count > 1]
