"""The load test under back-pressure: a slow debug sink and a small queue, per strategy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.loadtest.test_main import SCRIPT, clean_env

# The sink takes 20 ms per batch of 50: about 2,500 events/s, against 8,000 logs/s offered.
SLOW = [
    "--concurrency",
    "4",
    "--rate",
    "2000",
    "--duration",
    "0.4",
    "--warmup",
    "0",
    "--maxsize",
    "200",
    "--batch-size",
    "50",
    "--sink-delay",
    "0.02",
]


def run(tmp_path: Path, *args: str) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *SLOW, *args, "--json", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    return proc.stdout, result


def test_drop_reports_drops_and_delivers_what_it_enqueued(tmp_path: Path) -> None:
    """drop: the queue overflows, the report counts the drops, and nothing enqueued is lost."""
    text, result = run(tmp_path, "--strategy", "drop")
    assert result["dropped"] > 0
    assert result["attempted"] == 3200 == result["enqueued"] + result["dropped"]
    assert result["delivered"] == result["enqueued"]
    assert result["waited_calls"] == 0
    assert f"Dropped: {result['dropped']:,}" in text.splitlines()[2]


def test_block_drops_nothing_and_delivers_everything(tmp_path: Path) -> None:
    """block (no timeout): callers wait instead; no drop, every call delivered, waits reported."""
    text, result = run(tmp_path, "--strategy", "block", "--block-timeout", "none")
    assert result["dropped"] == 0
    assert result["sampled_out"] == 0
    assert result["delivered"] == result["enqueued"] == result["attempted"] == 3200
    assert result["waited_calls"] > 0
    assert result["waited_calls"] == result["queue"]["block_waits"]  # asyncio-only: exact
    assert result["latency_us"]["waited"]["count"] == result["waited_calls"]
    assert text.splitlines()[2] == "Dropped: 0"
    assert "calls that waited for room" in text
    # the slow sink cannot absorb 8,000 logs/s, so the schedule slipped and the report says so
    assert result["on_schedule"] is False
    assert "BEHIND SCHEDULE" in text


def test_sample_keeps_every_warning_offered_while_room_remained(tmp_path: Path) -> None:
    """sample: sub-WARNING events are sampled out above high water; a WARNING+ event is only
    ever refused when the queue is full, so refused warnings never exceed the drops."""
    text, result = run(tmp_path, "--strategy", "sample", "--sampling-rate", "0.01")
    assert result["sampled_out"] > 0
    assert result["warnings"] > 0
    assert result["warnings"] - result["warnings_enqueued"] <= result["dropped"]
    assert result["delivered"] == result["enqueued"]
    assert result["attempted"] == result["enqueued"] + result["dropped"] + result["sampled_out"]
    assert f"WARNING events: {result['warnings']:,} offered" in text
