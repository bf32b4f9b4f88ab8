"""bench/load/service: the load generator and a minimal run of the service benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "bench" / "load" / "service"


@pytest.mark.timeout(120)
def test_bench_service_smoke_run_prints_its_tables(tmp_path: Path) -> None:
    """run.py with two variants, one short round and the Python load generator: both loads
    are measured, the tables have a row per variant, and fapilog wrote every line it emitted."""
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.load.service.run", "--variants", "none,fapilog_drop",
         "--rounds", "1", "--duration", "0.5", "--warmup", "0.2", "--rate", "100",
         "--connections", "4", "--no-wrk", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "### saturation" in proc.stdout and "### fixed rate, 100 req/s" in proc.stdout
    assert proc.stdout.count("| fapilog_drop |") == 3
    (run,) = json.loads(out.read_text())["runs"]
    for load in ("rate", "saturation"):
        assert run["none"][load]["requests"] > 0 and run["none"][load]["errors"] == 0
        assert run["fapilog_drop"][load]["emitted"] == 6 * run["fapilog_drop"][load]["requests"]
    assert run["fapilog_drop"]["written_total"] == run["fapilog_drop"]["emitted_total"]
    assert run["none"]["written_total"] is None


def test_loadgen_refuses_anything_but_loopback() -> None:
    """The load generator only targets loopback: another host is refused with exit status and
    a message naming --url."""
    proc = subprocess.run(
        [sys.executable, str(SERVICE / "loadgen.py"), "--url", "http://192.0.2.1:80/work"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0 and "--url" in proc.stderr and "loopback" in proc.stderr


@pytest.mark.timeout(60)
def test_nox_lists_bench_service() -> None:
    """`nox -l` lists the bench_service session."""
    pytest.importorskip("nox")
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "- bench_service ->" in proc.stdout
