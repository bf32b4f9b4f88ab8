"""bench_ab for real: the stdlib reference cell, cachegrind counts, a fresh clone's A/B."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
sys.path.insert(0, str(BENCH_DIR))

import _instructions  # noqa: E402
import ab  # noqa: E402
import gate_power  # noqa: E402

needs_valgrind = pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind is not installed"
)


@pytest.mark.timeout(120)
def test_stdlib_reference_cell_runs_the_paced_workload(tmp_path: Path) -> None:
    """`--families stdlib` runs QueueHandler/QueueListener on the paced workload: one benchmark
    named like the A/B's reference, a mean per call in microseconds, every call delivered."""
    out = tmp_path / "stdlib.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "bench_enqueue.py"),
            *("--families", "stdlib", "--maxsizes", "1000", "--rates", "10000"),
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
    assert bench.get_name() == ab.STDLIB_CELL
    assert 0 < bench.mean() < 0.01  # seconds per call: well under 10 ms
    metadata = bench.get_metadata()
    assert metadata["handler"] == "logging.handlers.QueueHandler"
    assert metadata["delivered_share"] == 1.0
    assert metadata["achieved_rate"] > 1000


def _slowed_src(tmp_path: Path, statements: int) -> Path:
    """A copy of src/ whose plain log call starts with ``statements`` pad statements."""
    copy = tmp_path / f"src-{statements}"
    shutil.copytree(ROOT / "src", copy)
    path_text, function = gate_power.DEFAULT_INJECT.split(":")
    target = copy / Path(path_text).relative_to("src")
    target.write_text(gate_power.inject(target.read_text(), function, statements))
    return copy


@needs_valgrind
@pytest.mark.timeout(300)
def test_instruction_counts_are_exact_and_see_a_small_slowdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-call count of the plain call repeats to within 0.1 instruction for the same code,
    and 5 pad statements (a few per cent of the call) move it past the gate's threshold."""
    floor = _instructions.count_per_call(sys.executable, "floor")
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    first = _instructions.count_per_call(sys.executable, "info")
    again = _instructions.count_per_call(sys.executable, "info")
    monkeypatch.setenv("PYTHONPATH", str(_slowed_src(tmp_path, 5)))
    slowed = _instructions.count_per_call(sys.executable, "info")
    assert first > floor > 0
    assert abs(again - first) < 0.1
    assert not ab.judge_instructions("info", first, again, floor).regressed
    row = ab.judge_instructions("info", first, slowed, floor)
    assert row.regressed, row


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.timeout(600)
def test_bench_ab_from_a_fresh_clone_flags_a_slowed_second_commit(tmp_path: Path) -> None:
    """In a fresh clone with a second local commit that slows the plain call (40 pad statements),
    `bench_ab HEAD~1 HEAD` builds both, runs them interleaved, writes one pyperf file per side
    and the comparison, and exits 1 naming the regression (instructions when valgrind is
    installed, else time)."""
    repo = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    _git(repo, "checkout", "--quiet", "--detach", _git(ROOT, "rev-parse", "HEAD"))
    # The harness under test is this checkout's (it may hold uncommitted work).
    for name in ("ab.py", "_instructions.py", "bench_enqueue.py", "_stats.py"):
        shutil.copy2(BENCH_DIR / name, repo / "bench" / name)
    _git(repo, "add", "bench")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "harness")
    path_text, function = gate_power.DEFAULT_INJECT.split(":")
    target = repo / path_text
    target.write_text(gate_power.inject(target.read_text(), function, 40))
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qam", "slower")
    out = tmp_path / "out"
    instructions = "require" if shutil.which("valgrind") else "off"
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    proc = subprocess.run(
        [
            sys.executable,
            str(repo / "bench" / "ab.py"),
            *("HEAD~1", "HEAD", "--rounds", "2", "--out-dir", str(out)),
            *("--instructions", instructions),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=590,
        cwd=repo,
        env=env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "**Same-runner A/B: FAIL**" in proc.stdout
    for name in ("base.json", "head.json"):
        suite = pyperf.BenchmarkSuite.load(str(out / name))
        names = {b.get_name() for b in suite.get_benchmarks()}
        assert names == {ab.PLAIN_CELL, ab.STDLIB_CELL}
        assert all(len(b.get_runs()) == 2 for b in suite.get_benchmarks())
    data = json.loads((out / "ab.json").read_text())
    assert data["verdict"] == "FAIL"
    assert data["base"]["commit"] != data["head"]["commit"]
    if instructions == "require":
        (row,) = data["instructions"]
        assert row["probe"] == "info" and row["regressed"] and row["change"] > 0.2
