"""bench_ab for real: the stdlib reference cell, cachegrind counts, a fresh clone's A/B."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
sys.path.insert(0, str(BENCH_DIR))

import _instructions  # noqa: E402
import _verdict  # noqa: E402
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
    assert bench.get_name() == _verdict.STDLIB_CELL
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
def test_instruction_counts_are_exact_and_see_a_small_slowdown(tmp_path: Path) -> None:
    """The per-call count of the plain call repeats to within 0.1 % for the same code (the
    worker and the sinks' writers run beside the probe, so a few instructions per call move
    with thread timing: 1.9 of 8,068 seen), and 5 pad statements (a few per cent of the call)
    move it past the gate's 5 % threshold."""
    slowed_src = _slowed_src(tmp_path, 5)
    script = BENCH_DIR / "_instructions.py"
    jobs = [("floor", ROOT / "src"), ("info", ROOT / "src"), ("info", ROOT / "src")]
    jobs.append(("info", slowed_src))

    def count(job: tuple[str, Path]) -> float:
        probe, src = job
        env = {**os.environ, "PYTHONPATH": str(src)}
        short = _instructions.count_total(sys.executable, probe, 2_000, script, env)
        long = _instructions.count_total(sys.executable, probe, 12_000, script, env)
        return (long - short) / 10_000

    with ThreadPoolExecutor(max_workers=4) as pool:
        floor, first, again, slowed = pool.map(count, jobs)
    assert first > floor > 0
    assert abs(again - first) < 0.001 * first
    assert not _verdict.judge_instructions("info", first, again, floor).regressed
    row = _verdict.judge_instructions("info", first, slowed, floor)
    assert row.regressed, row


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.timeout(600)
def test_bench_ab_from_a_fresh_clone_flags_a_slowed_second_commit(tmp_path: Path) -> None:
    """In a fresh clone with a second local commit that slows the plain call (40 pad statements),
    `bench_ab HEAD~1 HEAD` builds both, runs them interleaved, writes one pyperf file per side
    and the comparison, and (valgrind installed) exits 1 naming the instruction regression."""
    repo = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    _git(repo, "checkout", "--quiet", "--detach", _git(ROOT, "rev-parse", "HEAD"))
    # The harness under test is this checkout's (it may hold uncommitted work).
    for source in BENCH_DIR.glob("*.py"):
        shutil.copy2(source, repo / "bench" / source.name)
    _git(repo, "add", "bench")
    _git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t.invalid",
        "commit",
        "--allow-empty",
        "-qm",
        "harness",
    )
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
    if instructions == "off":  # two timed rounds alone cannot be significant: no verdict
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    else:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "**Same-runner A/B: FAIL**" in proc.stdout
    for name in ("base.json", "head.json"):
        suite = pyperf.BenchmarkSuite.load(str(out / name))
        names = {b.get_name() for b in suite.get_benchmarks()}
        assert names == {_verdict.PLAIN_CELL, _verdict.STDLIB_CELL}
        assert all(len(b.get_runs()) == 2 for b in suite.get_benchmarks())
    data = json.loads((out / "ab.json").read_text())
    assert data["base"]["commit"] != data["head"]["commit"]
    hot = "hot[probe=info,clock=thread_cpu]"
    assert [row["cell"] for row in data["timing"]] == [
        _verdict.PLAIN_CELL,
        hot,
        _verdict.STDLIB_CELL,
    ]
    for side in ("base", "head"):
        own = json.loads((out / f"{side}-hot.json").read_text())[hot]
        assert len(own) == 2 and all(0 < v < 1e-4 for v in own)  # seconds per call
    if instructions == "require":
        assert data["verdict"] == "FAIL"
        (row,) = data["instructions"]
        assert row["probe"] == "info" and row["regressed"] and row["change"] > 0.2


@pytest.mark.timeout(60)
def test_bench_ab_unknown_revision_exits_2_with_one_line(tmp_path: Path) -> None:
    """A base git does not know: exit status 2 and a message naming the revision, before any
    build starts."""
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / "ab.py"), "no-such-ref", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
    )
    assert proc.returncode == 2
    assert "base revision 'no-such-ref': git does not know it" in proc.stderr
    assert "built" not in proc.stderr


@pytest.mark.timeout(60)
def test_nox_lists_bench_ab_and_gate_power() -> None:
    """`nox -l` lists the bench_ab and gate_power sessions with their one-line help."""
    pytest.importorskip("nox")
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "- bench_ab -> Same-runner A/B of two git revisions" in proc.stdout
    assert "- gate_power -> bench_ab's power on throw-away slowed commits" in proc.stdout
