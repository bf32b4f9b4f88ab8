"""bench/load/peers.py: the parent side on made-up samples (round order, medians, ratios, the
table, the pyperf file: arithmetic and layout, never a speed), and tiny real runs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

from bench.load.peers import Sample  # noqa: E402

from bench.load import peers  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


US = 1e-6


def _samples() -> list[Sample]:
    cpu = {"fapilog": [2.0, 3.0, 2.5], "stdlib": [40.0, 30.0, 50.0], "structlog": [10.0, 12.0, 5.0]}
    samples = [
        Sample(lib, "cpu", r, {"cpu_s_per_event": v * US, "wall_s": 1.0})
        for lib, values in cpu.items()
        for r, v in enumerate(values)
    ]
    samples += [
        Sample(
            lib,
            "enqueue",
            0,
            {
                "mean_s": mean * US,
                "p99_s": 4 * mean * US,
                "p99_9_s": 9 * mean * US,
                "cpu_s_per_event": 3 * mean * US,
            },
        )
        for lib, mean in (("fapilog", 1.0), ("stdlib", 20.0), ("structlog", 8.0))
    ]
    return samples


def test_rounds_rotate_the_order_of_the_libraries() -> None:
    """Each round starts with the next library, so none is always first (or last)."""
    libs = ["fapilog", "stdlib", "structlog"]
    assert peers.rotated(libs, 0) == libs
    assert peers.rotated(libs, 1) == ["stdlib", "structlog", "fapilog"]
    assert peers.rotated(libs, 3) == libs
    assert peers.rotated([], 2) == []


def test_medians_are_per_library_and_workload() -> None:
    """The median over rounds of every figure, kept apart per (library, workload)."""
    figures = peers.medians(_samples())
    assert figures[("fapilog", "cpu")]["cpu_s_per_event"] == pytest.approx(2.5 * US)
    assert figures[("stdlib", "cpu")]["cpu_s_per_event"] == pytest.approx(40.0 * US)
    assert figures[("structlog", "cpu")]["cpu_s_per_event"] == pytest.approx(10.0 * US)
    assert figures[("stdlib", "enqueue")]["p99_s"] == pytest.approx(80.0 * US)
    assert set(figures) == {
        (lib, w) for lib in ("fapilog", "stdlib", "structlog") for w in ("cpu", "enqueue")
    }


def test_ratio_is_ours_over_theirs_and_none_when_missing() -> None:
    """fapilog ÷ peer; no ratio when either figure is missing or the peer's is zero."""
    assert peers.ratio(2.0, 8.0) == 0.25
    assert peers.ratio(None, 8.0) is None
    assert peers.ratio(2.0, None) is None
    assert peers.ratio(2.0, 0.0) is None


def test_markdown_table_has_medians_in_microseconds_and_ratios() -> None:
    """One row per library in the given order, values in µs, each peer's value followed by
    fapilog ÷ that peer in brackets; a figure nobody measured is n/a."""
    figures = peers.medians(_samples())
    del figures[("structlog", "enqueue")]
    table = peers.markdown_table(figures, ["fapilog", "stdlib", "structlog"], "fapilog")
    lines = table.splitlines()
    assert lines[0].startswith("| library | CPU/event, end to end | enqueue mean |")
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    assert lines[2] == "| fapilog | 2.50 µs | 1.00 µs | 4.00 µs | 3.00 µs |"
    assert lines[3] == (
        "| stdlib | 40.00 µs (0.06) | 20.00 µs (0.05) | 80.00 µs (0.05) | 60.00 µs (0.05) |"
    )
    assert lines[4] == "| structlog | 10.00 µs (0.25) | n/a | n/a | n/a |"
    assert len(lines) == 5


def test_pyperf_suite_has_one_benchmark_per_library_and_workload(tmp_path: Path) -> None:
    """The pyperf file holds peers.cpu[lib=…] (CPU seconds per event) and peers.enqueue[lib=…]
    (mean latency in seconds), one value per round, with the other figures as metadata; it
    loads back with pyperf."""
    suite = peers.pyperf_suite(_samples(), {"fapilog_version": "x", "events": 10})
    path = tmp_path / "peers.json"
    suite.dump(str(path))
    loaded = pyperf.BenchmarkSuite.load(str(path))
    names = set(loaded.get_benchmark_names())
    assert names == {
        f"peers.{w}[lib={lib}]"
        for lib in ("fapilog", "stdlib", "structlog")
        for w in ("cpu", "enqueue")
    }
    cpu = loaded.get_benchmark("peers.cpu[lib=stdlib]")
    assert sorted(cpu.get_values()) == pytest.approx([30 * US, 40 * US, 50 * US])
    assert cpu.get_metadata()["library"] == "stdlib"
    assert cpu.get_metadata()["events"] == 10
    enqueue = loaded.get_benchmark("peers.enqueue[lib=fapilog]")
    assert enqueue.get_values() == pytest.approx((1 * US,))
    assert enqueue.get_runs()[0].get_metadata()["peer_p99_s"] == pytest.approx(4 * US)


@pytest.mark.parametrize(
    "argv",
    [["--libs", "stdlib,nope"], ["--rounds", "0"], ["--libs", "stdlib"], ["--total-rate", "x"]],
)
def test_bad_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option exits 2 naming the option and what is accepted (fapilog must be in --libs:
    the table is fapilog ÷ each peer)."""
    with pytest.raises(SystemExit) as exc:
        peers.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert argv[0] in err or argv[1] in err


def test_existing_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing --output file is never overwritten unless --replace is given."""
    out = tmp_path / "peers.json"
    out.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit):
        peers.main(["-o", str(out)])
    assert "already exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "{}"


TINY = ["--rounds", "1", "--events", "2000", "--duration", "0.2", "--total-rate", "2000"]
PEERS = ["-m", "bench.load.peers"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *PEERS, *args],
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
        [sys.executable, *PEERS, *TINY, "--libs", "fapilog,structlog", "--workloads", "cpu"],
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


@pytest.mark.timeout(120)
def test_deprecated_tasks_and_rate_still_work_and_warn(tmp_path: Path) -> None:
    """`--tasks 2 --rate 1000` run as `--concurrency 2 --total-rate 1000` for this release: the
    parent warns once per flag (its children get the new spellings) and the pyperf metadata
    carries the new names."""
    out = tmp_path / "peers.json"
    proc = _run(
        *("--rounds", "1", "--duration", "0.2", "--libs", "fapilog,stdlib"),
        *("--workloads", "enqueue", "--tasks", "2", "--rate", "1000", "-o", str(out)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.count("--tasks is deprecated") == 1
    assert proc.stderr.count("--rate is deprecated") == 1 and "use --total-rate" in proc.stderr
    assert "`enqueue` = 2 tasks, together 1,000 calls/s" in proc.stdout
    meta = pyperf.BenchmarkSuite.load(str(out)).get_benchmarks()[0].get_runs()[0].get_metadata()
    assert meta["concurrency"] == 2 and meta["total_rate"] == 1000.0
    assert "tasks" not in meta and "rate" not in meta
    assert meta["peer_calls"] == 200  # 2 tasks × 500 calls/s each × 0.2 s
