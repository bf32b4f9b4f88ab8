"""bench/load/enqueue.py run for real (tiny matrix, pyperf's quickest settings) and its output
fed to bench.judge.compare. These pin names, metadata and plumbing, never speed."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

from bench.judge import verdict  # noqa: E402
from bench.load import enqueue  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
BENCH = ["-m", "bench.load.enqueue"]
COMPARE = ["-m", "bench.judge.compare"]


EXPECTED = {
    "enqueue[strategy=drop,maxsize=100,worker=thread,load=nominal,total_rate=10000]",
    "enqueue[strategy=drop,maxsize=100,worker=loop,load=nominal,total_rate=10000]",
    "enqueue[strategy=block,maxsize=100,worker=thread,load=overload,total_rate=10000]",
    "enqueue[strategy=block,maxsize=100,worker=loop,load=overload,total_rate=10000]",
    "throughput[sink=file,json=stdlib,worker=thread]",
    "cpu[sink=file,json=stdlib,worker=thread]",
}


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
    proc = run(*BENCH, *QUICK, *TINY_MATRIX, "-o", str(out))
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
    """Each enqueue cell's metadata repeats its name's parameters (the total rate as
    `total_rate`) and adds the fapilog version, orjson presence and what the window enqueued and
    delivered; loop cells ran (configured in their loop)."""
    import fapilog

    suite = pyperf.BenchmarkSuite.load(str(suite_file))
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        assert meta["fapilog_version"] == fapilog.__version__
        assert meta["orjson"] in {"installed", "missing"}
        assert meta["loops"] == 50
        assert 0.0 <= meta["delivered_share"] <= meta["enqueued_share"] <= 1.0
        assert meta["accepted_share"] == meta["enqueued_share"]  # the deprecated name, kept
        assert meta["achieved_rate"] > 0
        name = bench.get_name()
        if name.startswith("enqueue["):
            params = dict(p.split("=") for p in name[len("enqueue[") : -1].split(","))
            for key in ("strategy", "worker", "load"):
                assert meta[key] == params[key]
            assert meta["maxsize"] == int(params["maxsize"])
            assert meta["total_rate"] == int(params["total_rate"])
            assert "rate" not in meta
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
        "enqueue[strategy=block,maxsize=100,worker=thread,load=overload,total_rate=10000]"
    )
    assert block.get_metadata()["delivered_share"] == 1.0


@pytest.mark.timeout(300)
def test_bench_compare_reads_the_real_output(suite_file: Path, tmp_path: Path) -> None:
    """bench_compare accepts a real run: one row per benchmark, the block/overload cells
    reported and not gated. (Exit 0 or 1: whether this noisy tiny run meets the target is
    not what this test is about.)"""
    out_dir = tmp_path / "report"
    proc = run(*COMPARE, str(suite_file), "--out-dir", str(out_dir), "--no-chart", timeout=60)
    assert proc.returncode in {0, 1}, proc.stderr
    document = json.loads((out_dir / "compare.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in document["cells"]}
    assert set(rows) == set(pyperf.BenchmarkSuite.load(str(suite_file)).get_benchmark_names())
    block = rows["enqueue[strategy=block,maxsize=100,worker=loop,load=overload,total_rate=10000]"]
    assert block["gated"] is False
    assert block["delivered_share"] == 1.0
    drop = rows["enqueue[strategy=drop,maxsize=100,worker=loop,load=overload,total_rate=10000]"]
    assert drop["gated"]
    assert "| cell | Python |" in proc.stdout


@pytest.mark.timeout(60)
def test_existing_output_file_is_refused(suite_file: Path) -> None:
    """A run never overwrites an earlier result file."""
    before = suite_file.read_bytes()
    proc = run(*BENCH, "--debug-single-value", *TINY_MATRIX, "-o", str(suite_file))
    assert proc.returncode != 0
    assert "already exists" in proc.stdout + proc.stderr
    assert suite_file.read_bytes() == before


@pytest.mark.timeout(60)
def test_bad_matrix_option_is_a_usage_error() -> None:
    """A strategy outside drop|block|sample is rejected by the option parser, naming the choices."""
    proc = run(*BENCH, "--strategies", "drop,fast", "--debug-single-value")
    assert proc.returncode == 2
    assert "expected a comma-separated list of drop, block, sample" in proc.stderr


@pytest.mark.timeout(120)
def test_stdlib_reference_cell_runs_the_paced_workload(tmp_path: Path) -> None:
    """`--families stdlib` runs QueueHandler/QueueListener on the paced workload: one benchmark
    named like the A/B's reference, a mean per call in microseconds, every call delivered."""
    out = tmp_path / "stdlib.json"
    proc = subprocess.run(
        [
            sys.executable,
            *BENCH,
            *("--families", "stdlib", "--maxsizes", "1000", "--total-rates", "10000"),
            *("--processes", "1", "--values", "1", "--warmups", "0", "--loops", "500"),
            *("--quiet", "-o", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    suite = pyperf.BenchmarkSuite.load(str(out))
    (bench,) = suite.get_benchmarks()
    assert bench.get_name() == verdict.STDLIB_CELL
    assert 0 < bench.mean() < 0.01  # seconds per call: well under 10 ms
    metadata = bench.get_metadata()
    assert metadata["handler"] == "logging.handlers.QueueHandler"
    assert metadata["delivered_share"] == 1.0
    assert metadata["achieved_rate"] > 1000


def _matrix_of(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="enqueue")
    enqueue.add_options(parser)
    args = parser.parse_args(argv)
    return args, [cell.name for cell in enqueue.matrix(args)]


def test_deprecated_rates_still_sets_the_total_rates_and_warns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--rates 5000` builds the `total_rate=5000` cells for this release, warns on stderr, and the
    workers are handed the new spelling (so only the parent warns)."""
    argv = ["--families", "enqueue,stdlib", "--strategies", "drop", "--maxsizes", "100"]
    argv += ["--workers", "thread", "--loads", "nominal", "--rates", "5000"]
    args, names = _matrix_of(argv)
    assert names == [
        "enqueue[strategy=drop,maxsize=100,worker=thread,load=nominal,total_rate=5000]",
        "stdlib[handler=QueueHandler,maxsize=100,load=nominal,total_rate=5000]",
    ]
    assert "--rates is deprecated" in capsys.readouterr().err
    cmd: list[str] = []
    enqueue.pass_options_to_worker(cmd, args)
    assert cmd[cmd.index("--total-rates") + 1] == "5000" and "--rates" not in cmd


def test_strategies_and_workers_are_the_settings_own(capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix's default axes are the settings' Literal types, in their order: no second list."""
    from typing import get_args

    from fapilog._settings import Overflow, WorkerKind

    args, _ = _matrix_of([])
    assert tuple(args.strategies) == get_args(Overflow)
    assert tuple(args.workers) == tuple(args.throughput_workers) == get_args(WorkerKind)
    assert capsys.readouterr().err == ""
