"""bench/bench_enqueue.py run for real (tiny matrix, pyperf's quickest settings) and its output
fed to bench/bench_compare.py. These pin names, metadata and plumbing, never speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_enqueue.py"
COMPARE = ROOT / "bench" / "bench_compare.py"

EXPECTED = {
    "enqueue[strategy=drop,maxsize=100,worker=thread,load=nominal,rate=10000]",
    "enqueue[strategy=drop,maxsize=100,worker=loop,load=nominal,rate=10000]",
    "enqueue[strategy=block,maxsize=100,worker=thread,load=overload,rate=10000]",
    "enqueue[strategy=block,maxsize=100,worker=loop,load=overload,rate=10000]",
    "throughput[sink=file,json=stdlib,worker=thread]",
    "cpu[sink=file,json=stdlib,worker=thread]",
}
# The smallest real run: one worker process per cell, one value of 50 paced calls, no warmup.
QUICK = ["-p", "1", "-n", "1", "-w", "0", "-l", "50", "--quiet"]
TINY_MATRIX = [
    "--strategies",
    "drop,block",
    "--maxsizes",
    "100",
    "--workers",
    "thread,loop",
    "--loads",
    "nominal,overload",
    "--throughput-sinks",
    "file",
    "--throughput-json",
    "stdlib",
    "--throughput-workers",
    "thread",
]


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = run(str(BENCH), *QUICK, *TINY_MATRIX, "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.timeout(300)
def test_tiny_matrix_produces_the_expected_benchmarks(suite_file: Path) -> None:
    """The tiny matrix gives exactly its ten cells, each a positive time in seconds: the
    workers built the same matrix from the options the parent passed them."""
    suite = pyperf.BenchmarkSuite.load(str(suite_file))
    names = set(suite.get_benchmark_names())
    assert names >= EXPECTED
    assert len(names) == 8 + 1 + 1  # 2 strategies × 2 workers × 2 loads, throughput, cpu
    for bench in suite.get_benchmarks():
        assert bench.get_unit() == "second"
        assert all(v > 0 for v in bench.get_values())


@pytest.mark.timeout(300)
def test_every_benchmark_carries_its_cell_metadata(suite_file: Path) -> None:
    """Each enqueue cell's metadata repeats its name's parameters and adds the fapilog version,
    orjson presence and what the window delivered; loop cells ran (configured in their loop)."""
    import fapilog

    suite = pyperf.BenchmarkSuite.load(str(suite_file))
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        assert meta["fapilog_version"] == fapilog.__version__
        assert meta["orjson"] in {"installed", "missing"}
        assert meta["loops"] == 50
        assert 0.0 <= meta["delivered_share"] <= 1.0
        assert meta["achieved_rate"] > 0
        name = bench.get_name()
        if name.startswith("enqueue["):
            params = dict(p.split("=") for p in name[len("enqueue[") : -1].split(","))
            for key in ("strategy", "worker", "load"):
                assert meta[key] == params[key]
            assert meta["maxsize"] == int(params["maxsize"])
            assert meta["rate"] == int(params["rate"])
            assert meta["log_api"] == ("ainfo" if params["strategy"] == "block" else "info")
            assert (meta["sink_delay_s"] > 0) == (params["load"] == "overload")
        else:
            assert meta["json_backend"] == "stdlib"
            assert meta["sink"] == "file"
            assert meta["inner_loops"] == 10
            assert meta["worker"] == "thread" and meta["strategy"] == "block"
            if name.startswith("cpu["):
                assert meta["clock"].startswith("time.process_time")
    block = suite.get_benchmark(
        "enqueue[strategy=block,maxsize=100,worker=thread,load=overload,rate=10000]"
    )
    assert block.get_metadata()["delivered_share"] == 1.0


@pytest.mark.timeout(300)
def test_bench_compare_reads_the_real_output(suite_file: Path, tmp_path: Path) -> None:
    """bench_compare accepts a real run: one row per benchmark, the block/overload cells
    reported and not gated. (Exit 0 or 1: whether this noisy tiny run meets the target is
    not what this test is about.)"""
    out_dir = tmp_path / "report"
    proc = run(str(COMPARE), str(suite_file), "--out-dir", str(out_dir), "--no-chart", timeout=60)
    assert proc.returncode in {0, 1}, proc.stderr
    document = json.loads((out_dir / "compare.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in document["cells"]}
    assert set(rows) == set(pyperf.BenchmarkSuite.load(str(suite_file)).get_benchmark_names())
    block = rows["enqueue[strategy=block,maxsize=100,worker=loop,load=overload,rate=10000]"]
    assert block["gated"] is False
    assert block["delivered_share"] == 1.0
    assert rows["enqueue[strategy=drop,maxsize=100,worker=loop,load=overload,rate=10000]"]["gated"]
    assert "| cell | Python |" in proc.stdout


@pytest.mark.timeout(60)
def test_existing_output_file_is_refused(suite_file: Path) -> None:
    """A run never overwrites an earlier result file."""
    before = suite_file.read_bytes()
    proc = run(str(BENCH), "--debug-single-value", *TINY_MATRIX, "-o", str(suite_file))
    assert proc.returncode != 0
    assert "already exists" in proc.stdout + proc.stderr
    assert suite_file.read_bytes() == before


@pytest.mark.timeout(60)
def test_bad_matrix_option_is_a_usage_error() -> None:
    """A strategy outside drop|block|sample is rejected by the option parser, naming the choices."""
    proc = run(str(BENCH), "--strategies", "drop,fast", "--debug-single-value")
    assert proc.returncode == 2
    assert "expected a comma-separated list of drop, block, sample" in proc.stderr
