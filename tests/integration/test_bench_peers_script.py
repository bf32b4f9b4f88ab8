"""bench/bench_peers.py run for real, tiny: every library it can import, both workloads, one round.

These pin the plumbing (children, interleaving, the JSON and Markdown outputs, the line count
check), never a speed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "bench_peers.py"
TINY = ["--rounds", "1", "--events", "2000", "--duration", "0.2", "--rate", "2000"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        cwd=ROOT,
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("peer", ["stdlib", "structlog", "picologging"])
def test_smoke_run_against_each_peer(peer: str, tmp_path: Path) -> None:
    """fapilog and one peer through both workloads: every call reached the file (the script
    checks lines == calls), the pyperf file has the four benchmarks and the table the ratios."""
    if peer != "stdlib" and importlib.util.find_spec(peer) is None:
        pytest.skip(f"{peer} is not installed here (nox -s bench_peers installs it)")
    out, md = tmp_path / "peers.json", tmp_path / "peers.md"
    proc = _run(*TINY, "--libs", f"fapilog,{peer}", "-o", str(out), "--markdown", str(md))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    suite = pyperf.BenchmarkSuite.load(str(out))
    assert set(suite.get_benchmark_names()) == {
        f"peers.{w}[lib={lib}]" for lib in ("fapilog", peer) for w in ("cpu", "enqueue")
    }
    for bench in suite.get_benchmarks():
        assert all(v > 0 for v in bench.get_values())
        meta = bench.get_runs()[0].get_metadata()
        assert meta["peer_lines"] == meta["peer_calls"]
    table = md.read_text(encoding="utf-8")
    assert "| fapilog |" in table and f"| {peer} |" in table
    assert table.strip() in proc.stdout  # the same table, printed and written


@pytest.mark.timeout(120)
def test_a_missing_peer_is_skipped_with_a_message(tmp_path: Path) -> None:
    """A peer that cannot be imported is left out with a line saying so, not a failure."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    # A module named structlog that refuses to import: the child reports it unavailable.
    (blocker / "structlog.py").write_text("raise ImportError('blocked for the test')\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, "--libs", "fapilog,structlog", "--workloads", "cpu"],
        capture_output=True,
        text=True,
        check=False,
        timeout=100,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(blocker)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skipped: structlog is not available: blocked for the test" in proc.stdout
    assert "structlog: not measured" in proc.stdout
    assert "| structlog |" not in proc.stdout
