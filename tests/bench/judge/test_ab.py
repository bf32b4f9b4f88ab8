"""bench/judge/ab.py: the matrix, the revisions, the pairing, the report; and bench_ab run for
real (a fresh clone's A/B, an unknown revision, the nox sessions)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

from bench.judge import ab, gate_power, verdict  # noqa: E402
from bench.load import enqueue, instructions  # noqa: E402
from tests.bench.judge._reports import US, ab_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def no_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports written here must not land in a real GitHub job summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_write_report_writes_files_and_the_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ab.md and ab.json go to the out dir, and the table is appended to $GITHUB_STEP_SUMMARY."""
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    text = ab.write_report(ab_report(False, 0.2), tmp_path)
    assert "**Same-runner A/B: FAIL**" in text
    assert "| `info` | 7,000 | 7,400 | +20.00% | FAIL: +20.00% ≥ +5% |" in text
    assert summary.read_text().startswith("earlier step\n**Same-runner A/B: FAIL**")
    data = json.loads((tmp_path / "ab.json").read_text())
    assert data["schema"] == verdict.SCHEMA
    assert data["verdict"] == "FAIL"
    assert data["regressions"] == ["info (instructions +20.00% ≥ +5%)"]
    assert (tmp_path / "ab.md").read_text() == text
    # Every table is its own Markdown block: a blank line before each header row.
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("| --- ")]
    assert len(headers) == 2 and all(lines[i - 2] == "" for i in headers)


@pytest.mark.parametrize("full", [False, True])
def test_each_cells_options_select_exactly_that_cell(full: bool) -> None:
    """For every A/B cell, bench/load/enqueue.py given the cell's options builds that one cell and
    no other (so one pyperf process runs one cell of one side)."""
    cells = ab.cells_for(full)
    assert len({c.name for c in cells}) == len(cells)
    for cell in cells:
        if cell.probe:  # a hot[…] cell is bench/instructions.py's, not a pyperf cell
            assert cell.probe in instructions.PROBES and not cell.options
            continue
        parser = argparse.ArgumentParser()
        enqueue.add_options(parser)
        args = parser.parse_args(list(cell.options))
        built = enqueue.matrix(args)
        if "json=orjson" in cell.name and not enqueue.ORJSON_INSTALLED:
            assert built == []  # bench/load/enqueue.py leaves orjson cells out where it is missing
            continue
        assert [c.name for c in built] == [cell.name]


def test_trimmed_matrix_is_the_plain_call_and_the_reference() -> None:
    """Trimmed: the gated plain-call cell, its CPU-time hot cell and the ungated stdlib
    reference; full: 36 enqueue, 8 throughput, 2 hot cells, the reference; block under overload
    is never gated."""
    assert [(c.name, c.gated) for c in ab.cells_for(False)] == [
        (verdict.PLAIN_CELL, True),
        ("hot[probe=info,clock=thread_cpu]", True),
        (verdict.STDLIB_CELL, False),
    ]
    full = ab.cells_for(True)
    assert len(full) == 36 + 8 + 2 + 1
    ungated = {c.name for c in full if not c.gated}
    assert verdict.STDLIB_CELL in ungated
    assert all(
        "strategy=block" in n and "load=overload" in n for n in ungated - {verdict.STDLIB_CELL}
    )
    assert len(ungated) == 1 + 6


def test_unknown_revision_is_unusable_with_a_hint(tmp_path: Path) -> None:
    """A revision git does not know: Unusable, naming it and the fetch-depth hint."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(verdict.Unusable, match=r"base revision 'no-such-ref'.*fetch-depth: 0"):
        ab.resolve(tmp_path, "base", "no-such-ref")


def test_revision_that_looks_like_an_option_is_refused(tmp_path: Path) -> None:
    """'--output=x' is not passed to git as an option: Unusable names it."""
    with pytest.raises(verdict.Unusable, match="'--output=x'"):
        ab.resolve(tmp_path, "base", "--output=x")


def test_parse_args_rejects_fewer_than_two_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    """--rounds 1 leaves no variance to test: exit 2 naming the value and what is accepted."""
    with pytest.raises(SystemExit) as exc:
        ab.parse_args(["main", "--rounds", "1"])
    assert exc.value.code == 2
    assert "'1': expected an integer >= 2" in capsys.readouterr().err


def _suite(path: Path, per_cell: dict[str, list[float]]) -> Path:
    """A pyperf file with one run (3 equal values) per listed mean, in that order."""
    benchmarks = []
    for name, means in per_cell.items():
        metadata = {"name": name, "unit": "second", "loops": 2000}
        runs = [
            pyperf.Run(
                [m * US] * 3, warmups=[(2000, m * US)], metadata=metadata, collect_metadata=False
            )
            for m in means
        ]
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path))
    return path


def test_compare_pairs_processes_by_round_and_splits_alpha(tmp_path: Path) -> None:
    """compare() pairs the n-th process of each side, gives each of the 2 gated cells
    alpha/2 (Bonferroni), flags the consistently 20 % slower cell only, and checks the target."""
    slow = "enqueue[strategy=drop,maxsize=100,worker=thread,load=nominal,total_rate=10000]"
    drift = [1.0, 1.5, 0.8, 1.2, 1.0, 1.4]
    base = _suite(
        tmp_path / "base.json",
        {verdict.PLAIN_CELL: drift, slow: drift, verdict.STDLIB_CELL: [20.0] * 6},
    )
    head = _suite(
        tmp_path / "head.json",
        {
            verdict.PLAIN_CELL: [d * 1.01 for d in drift],
            slow: [d * f for d, f in zip(drift, (1.2, 1.21, 1.19, 1.2, 1.22, 1.2), strict=True)],
            verdict.STDLIB_CELL: [21.0] * 6,
        },
    )
    sides = (ab.Side("base", "main", "a" * 40, "main"), ab.Side("head", "WORKTREE", "b" * 40, "wt"))
    cells = [
        ab.Cell(verdict.PLAIN_CELL, (), True),
        ab.Cell(slow, (), True),
        ab.STDLIB,
    ]
    report = ab.compare(sides, cells, {"base": base, "head": head}, None, matrix="t", rounds=6)
    assert report.rule["alpha"] == pytest.approx(verdict.ALPHA / 2)
    by_cell = {row.cell: row for row in report.timing}
    assert by_cell[slow].regressed and by_cell[slow].ratio == pytest.approx(1.2, abs=0.01)
    assert not by_cell[verdict.PLAIN_CELL].regressed
    assert by_cell[verdict.PLAIN_CELL].ratio == pytest.approx(1.01)
    assert report.target is not None and report.target.passed
    assert report.regressions == [f"{slow} (time {by_cell[slow].reason})"]


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
    shutil.copytree(
        ROOT / "bench",
        repo / "bench",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
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
            *("-m", "bench.judge.ab"),
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
        assert names == {verdict.PLAIN_CELL, verdict.STDLIB_CELL}
        assert all(len(b.get_runs()) == 2 for b in suite.get_benchmarks())
    data = json.loads((out / "ab.json").read_text())
    assert data["base"]["commit"] != data["head"]["commit"]
    hot = "hot[probe=info,clock=thread_cpu]"
    assert [row["cell"] for row in data["timing"]] == [
        verdict.PLAIN_CELL,
        hot,
        verdict.STDLIB_CELL,
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
        [sys.executable, "-m", "bench.judge.ab", "no-such-ref", "--out-dir", str(tmp_path)],
        cwd=ROOT,
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
