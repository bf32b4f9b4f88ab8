"""bench/load/quick.py (``make bench-quick``): the summary's percentiles, and a tiny real run
through fapilog, the standard library and the floor. Plumbing and definitions, never speed."""

from __future__ import annotations

import json
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

from bench.load import quick

ROOT = Path(__file__).resolve().parents[3]


def test_summary_percentiles_are_the_load_tests_nearest_rank() -> None:
    """Of the latencies 1..100 µs, p50 is the 50th (50 µs, not the 51st), p99 the 99th, p99.9
    and max the largest: the definition fapilog.loadtest reports."""
    summary = quick._summary(array("q", [n * 1000 for n in range(100, 0, -1)]))
    assert summary["calls"] == 100
    assert (summary["p50_us"], summary["p99_us"], summary["p99_9_us"]) == (50.0, 99.0, 100.0)
    assert summary["max_us"] == 100.0
    assert summary["mean_us"] == pytest.approx(50.5)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.load.quick", "--rate", "200", "--duration", "0.1", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=100,
        cwd=ROOT,
    )


@pytest.mark.timeout(120)
def test_tiny_run_writes_every_library_and_the_ratio(tmp_path: Path) -> None:
    """`--concurrency 2 --rate 200 --duration 0.1`: 40 calls per library, all delivered,
    a positive ratio, and no warning."""
    out = tmp_path / "quick.json"
    proc = _run("--concurrency", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "deprecated" not in proc.stderr
    assert proc.stdout.startswith("workload: 2 tasks × 200 logs/s × 0.1 s")
    data = json.loads(out.read_text())
    assert data["schema"] == "fapilog.quick_enqueue/1" and data["ratio"] > 0
    for name in ("fapilog", "stdlib"):
        assert data[name]["calls"] == 40 and data[name]["delivered"] == 40
    assert data["floor"]["calls"] == 40


@pytest.mark.timeout(120)
def test_deprecated_tasks_still_sets_the_concurrency_and_warns() -> None:
    """`--tasks 3` works as `--concurrency 3` for this release, with a warning on stderr."""
    proc = _run("--tasks", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("workload: 3 tasks × 200 logs/s")
    assert "--tasks is deprecated" in proc.stderr and "use --concurrency" in proc.stderr
