"""bench/ab.py and bench/gate_power.py: the A/B rule, the report, the matrix, the injection."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH_DIR))

import _instructions  # noqa: E402
import _verdict  # noqa: E402
import ab  # noqa: E402
import bench_enqueue  # noqa: E402
import gate_power  # noqa: E402

US = 1e-6


@pytest.fixture(autouse=True)
def no_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports written here must not land in a real GitHub job summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


# -- timing ----------------------------------------------------------------------------------


def test_timing_unchanged_code_with_drift_is_not_flagged() -> None:
    """Both sides drifting together (the machine got 40 % slower mid-run) is no regression:
    the rounds are paired, so only head/base within a round counts."""
    base = [1.0 * US, 1.1 * US, 1.4 * US, 1.4 * US, 1.0 * US, 1.2 * US]
    head = [1.01 * US, 1.09 * US, 1.41 * US, 1.39 * US, 1.0 * US, 1.21 * US]
    row = _verdict.judge_timing("c", True, base, head)
    assert not row.regressed
    assert row.ratio == pytest.approx(1.0, abs=0.01)
    assert row.reason == "within +10%"


def test_timing_consistent_slowdown_is_flagged() -> None:
    """A head that is 20 % slower in every round, whatever the machine did, is a regression."""
    base = [1.0 * US, 1.3 * US, 0.9 * US, 1.1 * US, 1.0 * US, 1.2 * US]
    head = [b * f for b, f in zip(base, (1.18, 1.22, 1.2, 1.19, 1.21, 1.2), strict=True)]
    row = _verdict.judge_timing("c", True, base, head)
    assert row.regressed
    assert row.ratio == pytest.approx(1.2, abs=0.01)
    assert row.p_slower is not None and row.p_slower < _verdict.ALPHA
    assert row.ratio_low < row.ratio < row.ratio_high


def test_timing_slower_but_noisy_is_not_flagged() -> None:
    """A 12 % mean slowdown made of rounds that disagree in sign is not significant."""
    base = [1.0 * US] * 4
    head = [1.6 * US, 0.8 * US, 1.4 * US, 0.85 * US]
    row = _verdict.judge_timing("c", True, base, head)
    assert row.ratio > 1.10
    assert not row.regressed
    assert "not significant" in row.reason


def test_timing_faster_and_ungated_never_fail() -> None:
    """A faster head never fails; a slower ungated cell is reported only."""
    base = [1.0 * US] * 5
    assert not _verdict.judge_timing("c", True, base, [0.5 * US] * 5).regressed
    row = _verdict.judge_timing(
        "c", False, base, [2.0 * US, 2.1 * US, 1.9 * US, 2.0 * US, 2.05 * US]
    )
    assert not row.regressed
    assert row.reason == "reported, not gated"


def test_timing_without_values_is_unusable() -> None:
    """A cell one side never measured cannot be judged: Unusable names the cell."""
    with pytest.raises(_verdict.Unusable, match="cell-x"):
        _verdict.judge_timing("cell-x", True, [], [1.0])


# -- instructions ------------------------------------------------------------------------------


def test_instructions_change_is_relative_to_fapilogs_own_cost() -> None:
    """The change is taken on probe − floor: 7,600 → 7,800 with a 5,400 floor is +9.1 %."""
    row = _verdict.judge_instructions("info", 7_600, 7_800, 5_400)
    assert row.change == pytest.approx(200 / 2_200)
    assert row.regressed


def test_instructions_unchanged_and_small_changes_pass() -> None:
    """A 0.01 % wobble and a 4.9 % growth pass; exactly the threshold fails."""
    assert not _verdict.judge_instructions("info", 7_636.17, 7_636.2, 5_348).regressed
    assert not _verdict.judge_instructions("info", 7_000, 7_000 + 0.049 * 2_000, 5_000).regressed
    assert _verdict.judge_instructions("info", 7_000, 7_000 + 0.05 * 2_000, 5_000).regressed


def test_instructions_probe_not_above_floor_is_unusable() -> None:
    """A probe that costs no more than the empty call measured nothing: Unusable."""
    with pytest.raises(_verdict.Unusable, match="not above the floor"):
        _verdict.judge_instructions("info", 5_000, 5_100, 5_000)


def test_parse_i_refs_reads_cachegrinds_summary() -> None:
    """The total comes from cachegrind's 'I refs' line, thousands separators removed."""
    text = (
        "==12== Cachegrind, a cache and branch-prediction profiler\n==12==\n"
        "==12== I   refs:      409,242,983\n"
    )
    assert _instructions.parse_i_refs(text) == 409_242_983
    with pytest.raises(RuntimeError, match="no 'I refs'"):
        _instructions.parse_i_refs("valgrind: command not found")


# -- target and report -------------------------------------------------------------------------


def test_target_is_head_against_the_pooled_stdlib_mean() -> None:
    """fapilog's head mean must be ≤ 1/8 of the standard library's, pooled over both sides."""
    head = {_verdict.PLAIN_CELL: [1.0 * US, 1.2 * US], _verdict.STDLIB_CELL: [10 * US]}
    base = {_verdict.PLAIN_CELL: [0.5 * US], _verdict.STDLIB_CELL: [6 * US]}
    target = _verdict.judge_target(head, [base, head])
    assert target is not None
    assert target.share == pytest.approx(1.1 / 8)
    assert not target.passed
    head[_verdict.STDLIB_CELL] = [20 * US]
    target = _verdict.judge_target(head, [base, head])
    assert target is not None and target.passed
    assert _verdict.judge_target({_verdict.PLAIN_CELL: [1.0]}, [{}]) is None


def _report(regressed_time: bool, instr_change: float) -> _verdict.Report:
    report = _verdict.Report(
        _verdict.SCHEMA,
        {"rev": "main", "commit": "a" * 40, "label": "main (aaaaaaaaa)"},
        {"rev": "WORKTREE", "commit": "b" * 40, "label": "working tree (bbbbbbbbb)"},
        "trimmed",
        6,
        {
            "time_threshold": 0.1,
            "alpha": 0.01,
            "instructions_threshold": 0.05,
            "stdlib_share": 0.125,
        },
    )
    base = [1.0 * US] * 6
    head = [1.3 * US] * 6 if regressed_time else base
    report.timing.append(_verdict.judge_timing(_verdict.PLAIN_CELL, True, base, head))
    report.instructions.append(
        _verdict.judge_instructions("info", 7_000, 7_000 + instr_change * 2_000, 5_000)
    )
    return report


def test_report_fails_on_either_opinion_and_passes_on_neither() -> None:
    """The verdict is FAIL when timing or instructions regressed, PASS when neither did."""
    assert _report(False, 0.0).passed
    assert not _report(True, 0.0).passed
    assert not _report(False, 0.2).passed
    assert [r.split(" ")[0] for r in _report(True, 0.2).regressions] == [
        _verdict.PLAIN_CELL,
        "info",
    ]


def test_write_report_writes_files_and_the_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ab.md and ab.json go to the out dir, and the table is appended to $GITHUB_STEP_SUMMARY."""
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    text = ab.write_report(_report(False, 0.2), tmp_path)
    assert "**Same-runner A/B: FAIL**" in text
    assert "| `info` | 7,000 | 7,400 | +20.00% | FAIL: +20.00% ≥ +5% |" in text
    assert summary.read_text().startswith("earlier step\n**Same-runner A/B: FAIL**")
    data = json.loads((tmp_path / "ab.json").read_text())
    assert data["schema"] == _verdict.SCHEMA
    assert data["verdict"] == "FAIL"
    assert data["regressions"] == ["info (instructions +20.00% ≥ +5%)"]
    assert (tmp_path / "ab.md").read_text() == text
    # Every table is its own Markdown block: a blank line before each header row.
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("| --- ")]
    assert len(headers) == 2 and all(lines[i - 2] == "" for i in headers)


# -- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("full", [False, True])
def test_each_cells_options_select_exactly_that_cell(full: bool) -> None:
    """For every A/B cell, bench_enqueue.py given the cell's options builds that one cell and no
    other (so one pyperf process runs one cell of one side)."""
    cells = ab.cells_for(full)
    assert len({c.name for c in cells}) == len(cells)
    for cell in cells:
        if cell.probe:  # a hot[…] cell is bench/_instructions.py's, not a pyperf cell
            assert cell.probe in _instructions.PROBES and not cell.options
            continue
        parser = argparse.ArgumentParser()
        bench_enqueue.add_options(parser)
        args = parser.parse_args(list(cell.options))
        built = bench_enqueue.matrix(args)
        if "json=orjson" in cell.name and not bench_enqueue.ORJSON_INSTALLED:
            assert built == []  # bench_enqueue.py leaves orjson cells out where it is missing
            continue
        assert [c.name for c in built] == [cell.name]


def test_trimmed_matrix_is_the_plain_call_and_the_reference() -> None:
    """Trimmed: the gated plain-call cell, its CPU-time hot cell and the ungated stdlib
    reference; full: 36 enqueue, 8 throughput, 2 hot cells, the reference; block under overload
    is never gated."""
    assert [(c.name, c.gated) for c in ab.cells_for(False)] == [
        (_verdict.PLAIN_CELL, True),
        ("hot[probe=info,clock=thread_cpu]", True),
        (_verdict.STDLIB_CELL, False),
    ]
    full = ab.cells_for(True)
    assert len(full) == 36 + 8 + 2 + 1
    ungated = {c.name for c in full if not c.gated}
    assert _verdict.STDLIB_CELL in ungated
    assert all(
        "strategy=block" in n and "load=overload" in n for n in ungated - {_verdict.STDLIB_CELL}
    )
    assert len(ungated) == 1 + 6


# -- revisions -----------------------------------------------------------------------------------


def test_unknown_revision_is_unusable_with_a_hint(tmp_path: Path) -> None:
    """A revision git does not know: Unusable, naming it and the fetch-depth hint."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(_verdict.Unusable, match=r"base revision 'no-such-ref'.*fetch-depth: 0"):
        ab.resolve(tmp_path, "base", "no-such-ref")


def test_revision_that_looks_like_an_option_is_refused(tmp_path: Path) -> None:
    """'--output=x' is not passed to git as an option: Unusable names it."""
    with pytest.raises(_verdict.Unusable, match="'--output=x'"):
        ab.resolve(tmp_path, "base", "--output=x")


def test_parse_args_rejects_fewer_than_two_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    """--rounds 1 leaves no variance to test: exit 2 naming the value and what is accepted."""
    with pytest.raises(SystemExit) as exc:
        ab.parse_args(["main", "--rounds", "1"])
    assert exc.value.code == 2
    assert "'1': expected an integer >= 2" in capsys.readouterr().err


# -- gate_power's injection ------------------------------------------------------------------------

SOURCE = """class Q:
    def call_for(self):
        def call(logger, event, /, **fields):
            return True

        def call(
            logger,
            event,
        ) -> bool:
            return False

        return call
"""


def test_inject_pads_the_top_of_every_matching_function() -> None:
    """The pad statements open the body of each `def call(` (one- or multi-line signature),
    indented as the body, and the result still compiles and runs."""
    out = gate_power.inject(SOURCE, "call", 3)
    compile(out, "<injected>", "exec")
    assert out.count("_pad += 1") == 6
    assert "        def call(logger, event, /, **fields):\n            _pad = 0" in out
    assert "        ) -> bool:\n            _pad = 0" in out
    namespace: dict[str, object] = {}
    exec(out, namespace)
    q = namespace["Q"]()  # type: ignore[operator]
    assert q.call_for()(None, "e") is False


def test_inject_without_the_function_is_unusable() -> None:
    """No `def call(` in the file: Unusable, naming the function and --inject."""
    with pytest.raises(_verdict.Unusable, match=r"no 'def handle\(' to slow down: pass --inject"):
        gate_power.inject(SOURCE, "handle", 3)


def test_inject_finds_the_plain_call_in_the_real_queue() -> None:
    """The default target exists: src/fapilog/_methods.py has a `def call(` to slow down."""
    path, function = gate_power.DEFAULT_INJECT.split(":")
    source = (BENCH_DIR.parent / path).read_text()
    out = gate_power.inject(source, function, 2)
    compile(out, path, "exec")
    assert out.count("_pad += 1") == 2 * source.count(f"def {function}(")


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
    slow = "enqueue[strategy=drop,maxsize=100,worker=thread,load=nominal,rate=10000]"
    drift = [1.0, 1.5, 0.8, 1.2, 1.0, 1.4]
    base = _suite(
        tmp_path / "base.json",
        {_verdict.PLAIN_CELL: drift, slow: drift, _verdict.STDLIB_CELL: [20.0] * 6},
    )
    head = _suite(
        tmp_path / "head.json",
        {
            _verdict.PLAIN_CELL: [d * 1.01 for d in drift],
            slow: [d * f for d, f in zip(drift, (1.2, 1.21, 1.19, 1.2, 1.22, 1.2), strict=True)],
            _verdict.STDLIB_CELL: [21.0] * 6,
        },
    )
    sides = (ab.Side("base", "main", "a" * 40, "main"), ab.Side("head", "WORKTREE", "b" * 40, "wt"))
    cells = [
        ab.Cell(_verdict.PLAIN_CELL, (), True),
        ab.Cell(slow, (), True),
        ab.STDLIB,
    ]
    report = ab.compare(sides, cells, {"base": base, "head": head}, None, matrix="t", rounds=6)
    assert report.rule["alpha"] == pytest.approx(_verdict.ALPHA / 2)
    by_cell = {row.cell: row for row in report.timing}
    assert by_cell[slow].regressed and by_cell[slow].ratio == pytest.approx(1.2, abs=0.01)
    assert not by_cell[_verdict.PLAIN_CELL].regressed
    assert by_cell[_verdict.PLAIN_CELL].ratio == pytest.approx(1.01)
    assert report.target is not None and report.target.passed
    assert report.regressions == [f"{slow} (time {by_cell[slow].reason})"]


def test_gate_power_summarize_counts_flags_per_variant(tmp_path: Path) -> None:
    """summarize() reads runs/<rep>-<variant>/ab.json and counts, per variant, the runs that
    failed and which opinion flagged them; unchanged comes first."""
    for rep, (variant, slow_time, instr) in enumerate(
        [
            ("unchanged", False, 0.0),
            ("20", False, 0.3),
            ("20", True, 0.3),
            ("unchanged", False, 0.0),
        ]
    ):
        report = _report(slow_time, instr)
        report.timing.append(
            _verdict.judge_timing("hot[probe=info,clock=thread_cpu]", True, [1.0] * 6, [1.0] * 6)
        )
        run_dir = tmp_path / "runs" / f"{rep}-{variant}"
        run_dir.mkdir(parents=True)
        ab.write_report(report, run_dir)
    text = gate_power.summarize(tmp_path)
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| unchanged") or line.startswith("| +20%")
    ]
    assert rows[0].startswith("| unchanged | ? | ? | +0.0% | 0/2 | 0 | 0 | 0 |")
    assert rows[1].startswith("| +20% | ? | ? | +30.0% | 2/2 | 1 | 0 | 2 |")


def test_markdown_with_skipped_counts_keeps_the_tables_apart() -> None:
    """Without valgrind the instruction table holds one 'skipped' row naming why, and the timing
    table still starts its own block."""
    report = _report(False, 0.0)
    report.instructions = []
    report.instructions_skipped = "valgrind is not installed"
    lines = _verdict.markdown(report).splitlines()
    assert "| — | | | | skipped: valgrind is not installed |" in lines
    headers = [i for i, line in enumerate(lines) if line.startswith("| --- ")]
    assert len(headers) == 2 and all(lines[i - 2] == "" for i in headers)
