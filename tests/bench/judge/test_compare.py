"""bench/judge/compare.py: the benchmark gate, on pyperf suites built with pyperf's own API."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pyperf = pytest.importorskip("pyperf")

from bench.judge import compare  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


US = 1e-6


PY311 = "3.11.7 (64-bit) revision 0"


PY312 = "3.12.1 (64-bit) revision 0"


def cell(strategy: str, maxsize: int = 1000, worker: str = "thread", load: str = "nominal") -> str:
    return (
        f"enqueue[strategy={strategy},maxsize={maxsize},worker={worker},load={load},"
        "total_rate=10000]"
    )


def bench(
    name: str,
    values_us: Sequence[float],
    *,
    python: str = PY312,
    per_run: int = 3,
    extra: dict[str, object] | None = None,
) -> object:
    """A pyperf Benchmark whose runs hold ``values_us`` (microseconds), ``per_run`` per run."""
    metadata: dict[str, object] = {
        "name": name,
        "unit": "second",
        "loops": 2000,
        "python_version": python,
        "python_implementation": "cpython",
    }
    metadata.update(extra or {})
    runs = [
        pyperf.Run(
            [v * US for v in values_us[i : i + per_run]],
            warmups=[(2000, values_us[i] * US)],
            metadata=metadata,
            collect_metadata=False,
        )
        for i in range(0, len(values_us), per_run)
    ]
    return pyperf.Benchmark(runs)


def noisy(mean_us: float, spread_us: float, n: int = 24, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [max(mean_us + rng.uniform(-spread_us, spread_us), 0.01) for _ in range(n)]


def write_suite(path: Path, benchmarks: Sequence[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pyperf.BenchmarkSuite(list(benchmarks)).dump(str(path))
    return path


def healthy_suite(python: str = PY312) -> list[object]:
    """Every gated kind of cell well under target, plus block under overload (not gated)."""
    return [
        bench(cell("drop"), noisy(4.0, 0.5), python=python),
        bench(cell("sample", load="overload"), noisy(6.0, 1.0), python=python),
        bench(cell("drop", 100, "loop", "overload"), noisy(3.0, 0.5), python=python),
        bench(
            cell("block", load="overload"),
            noisy(5000.0, 800.0),
            python=python,
            extra={"delivered_share": 1.0, "achieved_rate": 5449.1},
        ),
        bench("throughput[sink=memory,json=orjson]", noisy(3.0, 0.3), python=python),
    ]


def run_gate(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    out_dir = tmp_path / "report"
    code = compare.main([*args, "--out-dir", str(out_dir), "--no-chart", "--summary", ""])
    report = out_dir / "compare.json"
    document = json.loads(report.read_text()) if report.exists() else {}
    return code, str(out_dir), document


def rows_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cells = document["cells"]
    assert isinstance(cells, list)
    return {f"{c['name']}@{c['python']}": c for c in cells}


def test_passing_suite_exits_0_and_reports_block_overload_ungated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All gated cells under target: exit 0; block+overload is listed with its delivered share
    but not gated, even though its latency is far above the target."""
    write_suite(tmp_path / "bench" / "py312.json", healthy_suite())
    code, _, document = run_gate(tmp_path, str(tmp_path / "bench"))
    out = capsys.readouterr().out
    assert code == 0
    assert document["verdict"] == "pass"
    rows = rows_by_name(document)
    block = rows[f"{cell('block', load='overload')}@3.12"]
    assert block["gated"] is False
    assert block["verdict"] == "report"
    assert block["delivered_share"] == 1.0
    assert rows[f"{cell('sample', load='overload')}@3.12"]["gated"] is True
    assert rows[f"{cell('drop')}@3.12"]["verdict"] == "pass"
    assert "## Benchmark gate: PASS" in out
    assert "| cell | Python | mean | 95% CI | target | baseline | delivered | achieved |" in out
    assert "| 100.0% | 5,449/s |" in out


def test_cell_over_target_fails_with_exit_1(tmp_path: Path) -> None:
    """A gated cell whose whole 95% CI is above 100 µs makes the gate fail (exit 1)."""
    suite = [*healthy_suite(), bench(cell("sample", 10000), noisy(150.0, 5.0))]
    write_suite(tmp_path / "bench" / "py312.json", suite)
    code, _, document = run_gate(tmp_path, str(tmp_path / "bench"))
    assert code == 1
    assert document["verdict"] == "fail"
    assert document["misses"] == [f"{cell('sample', 10000)} (3.12)"]


def test_mean_over_target_with_ci_reaching_below_passes(tmp_path: Path) -> None:
    """Only the CI's low end is judged: a noisy cell averaging above 100 µs whose interval
    still reaches below the target is not a miss."""
    values = [40.0, 200.0, 60.0, 180.0, 30.0, 190.0]  # mean 116.7 µs, wide interval
    write_suite(tmp_path / "b" / "x.json", [bench(cell("drop"), values)])
    code, _, document = run_gate(tmp_path, str(tmp_path / "b"))
    row = rows_by_name(document)[f"{cell('drop')}@3.12"]
    assert row["mean_us"] > 100
    assert row["ci_low_us"] < 100
    assert code == 0


def test_overload_drop_over_target_is_gated(tmp_path: Path) -> None:
    """The non-blocking strategies stay gated under overload: a slow drop/overload cell fails."""
    write_suite(
        tmp_path / "b" / "x.json", [bench(cell("drop", load="overload"), noisy(300.0, 10.0))]
    )
    code, _, _ = run_gate(tmp_path, str(tmp_path / "b"))
    assert code == 1


def test_significant_regression_vs_baseline_fails(tmp_path: Path) -> None:
    """+40 % with tight values (clearly significant, well above the floor) is a regression."""
    write_suite(tmp_path / "base" / "py312.json", [bench(cell("drop"), noisy(10.0, 0.3))])
    write_suite(tmp_path / "now" / "py312.json", [bench(cell("drop"), noisy(14.0, 0.3, seed=2))])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    assert code == 1
    row = rows_by_name(document)[f"{cell('drop')}@3.12"]
    assert row["verdict"] == "regression"
    assert row["p_value"] < 0.001
    assert document["regressions"] == [f"{cell('drop')} (3.12)"]


def test_noisy_non_significant_slowdown_passes(tmp_path: Path) -> None:
    """A higher mean drowned in noise (p above alpha) is not a regression."""
    base = noisy(10.0, 0.3)
    now = [2.0, 30.0, 5.0, 25.0, 8.0, 14.0]  # mean 14 µs (+40 %), but all over the place
    write_suite(tmp_path / "base" / "a.json", [bench(cell("drop"), base)])
    write_suite(tmp_path / "now" / "a.json", [bench(cell("drop"), now)])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    row = rows_by_name(document)[f"{cell('drop')}@3.12"]
    assert row["change"] > 0.2
    assert row["p_value"] > 0.05
    assert row["verdict"] == "pass"
    assert code == 0


def test_improvement_passes(tmp_path: Path) -> None:
    """Faster than the baseline, however significant, never fails."""
    write_suite(tmp_path / "base" / "a.json", [bench(cell("drop"), noisy(10.0, 0.3))])
    write_suite(tmp_path / "now" / "a.json", [bench(cell("drop"), noisy(5.0, 0.3))])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    row = rows_by_name(document)[f"{cell('drop')}@3.12"]
    assert row["change"] < -0.4
    assert code == 0


def test_significant_slowdown_under_threshold_passes(tmp_path: Path) -> None:
    """+10 % (significant, 5 µs, above the floor) is under the 20 % threshold: no regression;
    with --threshold 0.05 the same data is one."""
    write_suite(tmp_path / "base" / "a.json", [bench(cell("drop"), noisy(50.0, 0.3))])
    write_suite(tmp_path / "now" / "a.json", [bench(cell("drop"), noisy(55.0, 0.3))])
    args = (str(tmp_path / "now"), "--baseline", str(tmp_path / "base"))
    code, _, document = run_gate(tmp_path, *args)
    assert rows_by_name(document)[f"{cell('drop')}@3.12"]["p_value"] < 0.001
    assert code == 0
    code, _, _ = run_gate(tmp_path, *args, "--threshold", "0.05")
    assert code == 1


def test_slowdown_under_absolute_floor_passes(tmp_path: Path) -> None:
    """+60 % that is significant but only 0.3 µs in absolute terms stays under the floor."""
    write_suite(tmp_path / "base" / "a.json", [bench(cell("drop"), noisy(0.5, 0.01))])
    write_suite(tmp_path / "now" / "a.json", [bench(cell("drop"), noisy(0.8, 0.01))])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    row = rows_by_name(document)[f"{cell('drop')}@3.12"]
    assert row["p_value"] < 0.001
    assert code == 0
    code, _, _ = run_gate(
        tmp_path,
        str(tmp_path / "now"),
        "--baseline",
        str(tmp_path / "base"),
        "--min-delta-us",
        "0.1",
    )
    assert code == 1


def test_baseline_applies_only_to_the_same_python(tmp_path: Path) -> None:
    """A 3.11 baseline does not judge 3.12 results: no baseline value, no regression."""
    write_suite(tmp_path / "base" / "a.json", [bench(cell("drop"), noisy(1.5, 0.01), python=PY311)])
    write_suite(tmp_path / "now" / "a.json", [bench(cell("drop"), noisy(14.0, 0.3))])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    assert rows_by_name(document)[f"{cell('drop')}@3.12"]["baseline_mean_us"] is None
    assert code == 0


def test_one_row_per_python_and_newest_file_wins(tmp_path: Path) -> None:
    """Two Pythons give two rows per cell; for a Python seen twice, the newest run is used."""
    old = bench(cell("drop"), noisy(500.0, 1.0), python=PY311)
    write_suite(tmp_path / "b" / "old-3.11.json", [old])
    new = bench(cell("drop"), noisy(5.0, 0.5), python=PY311)
    newest = tmp_path / "b" / "new-3.11.json"
    write_suite(newest, [new])
    write_suite(tmp_path / "b" / "3.12.json", [bench(cell("drop"), noisy(6.0, 0.5))])
    old_path = tmp_path / "b" / "old-3.11.json"
    os.utime(old_path, (1_000_000, 1_000_000))
    code, _, document = run_gate(tmp_path, str(tmp_path / "b"))
    rows = rows_by_name(document)
    assert set(rows) == {f"{cell('drop')}@3.11", f"{cell('drop')}@3.12"}
    assert rows[f"{cell('drop')}@3.11"]["source"] == str(newest)
    assert code == 0


def test_earlier_reports_in_the_tree_are_not_inputs(tmp_path: Path) -> None:
    """A compare.json left by an earlier run (any report directory under the input) is skipped,
    not mistaken for a corrupt pyperf file."""
    write_suite(tmp_path / "b" / "a.json", healthy_suite())
    code, _, _ = run_gate(tmp_path, str(tmp_path / "b"))
    assert code == 0
    (tmp_path / "b" / "old-report").mkdir()
    (tmp_path / "report" / "compare.json").rename(tmp_path / "b" / "old-report" / "compare.json")
    code, _, document = run_gate(tmp_path, str(tmp_path / "b"))
    assert code == 0
    assert document["files"] == [str(tmp_path / "b" / "a.json")]


def test_empty_directory_exits_2_with_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No input files is unusable input: exit 2 and one line saying so."""
    (tmp_path / "empty").mkdir()
    code, _, _ = run_gate(tmp_path, str(tmp_path / "empty"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("bench_compare: error: no pyperf JSON files found")
    assert err.count("\n") == 1


def test_corrupt_file_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated JSON file is unusable input: exit 2 with a message naming the file."""
    write_suite(tmp_path / "b" / "good.json", healthy_suite())
    bad = tmp_path / "b" / "bad.json"
    bad.write_text('{"version": "1.0", "benchmarks": [', encoding="utf-8")
    code, _, _ = run_gate(tmp_path, str(tmp_path / "b"))
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err
    assert "not a readable pyperf JSON file" in err


def test_json_that_is_not_pyperf_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid JSON of another shape (a load-test report, say) is unusable input too."""
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "loadtest.json").write_text('{"attempted": 5}', encoding="utf-8")
    code, _, _ = run_gate(tmp_path, str(tmp_path / "b"))
    assert code == 2
    assert "loadtest.json" in capsys.readouterr().err


def test_summary_is_appended_to_github_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With $GITHUB_STEP_SUMMARY set, the Markdown table is appended to that file."""
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_suite(tmp_path / "b" / "a.json", healthy_suite())
    code = compare.main([str(tmp_path / "b"), "--out-dir", str(tmp_path / "r"), "--no-chart"])
    text = summary.read_text(encoding="utf-8")
    assert code == 0
    assert text.startswith("earlier step\n## Benchmark gate: PASS")
    assert f"`{cell('drop')}` | 3.12 |" in text


def test_chart_is_written_as_png_and_svg(tmp_path: Path) -> None:
    """The chart of latency by strategy × maxsize is written as PNG and SVG."""
    pytest.importorskip("matplotlib")
    write_suite(tmp_path / "b" / "a.json", healthy_suite())
    write_suite(tmp_path / "b" / "c.json", healthy_suite(PY311))
    out = tmp_path / "r"
    code = compare.main([str(tmp_path / "b"), "--out-dir", str(out), "--summary", ""])
    assert code == 0
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "latency.svg").read_bytes()[:1000]


def test_cli_exit_code_and_message(tmp_path: Path) -> None:
    """Run as a script: an empty directory exits 2 with a one-line message on stderr."""
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.judge.compare", str(tmp_path / "empty")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("bench_compare: error:")
    assert len(proc.stderr.strip().splitlines()) == 1


# -- artifacts written before the rename of the matrix's `rate` to `total_rate` ----------------


def old_cell(strategy: str, load: str = "nominal") -> str:
    """A cell name as files written before the rename spell it."""
    return f"enqueue[strategy={strategy},maxsize=1000,worker=thread,load={load},rate=10000]"


def test_old_artifact_with_rate_cells_is_gated_as_total_rate(tmp_path: Path) -> None:
    """An old file's `rate=10000` cells and `rate` metadata are read as `total_rate`: the cells
    are gated at the target, block under overload is still recognised, and the rows carry
    today's names."""
    write_suite(
        tmp_path / "old" / "py312.json",
        [
            bench(old_cell("drop"), noisy(4.0, 0.5), extra={"rate": 10000}),
            bench(old_cell("block", "overload"), noisy(5000.0, 800.0), extra={"rate": 10000}),
        ],
    )
    code, _, document = run_gate(tmp_path, str(tmp_path / "old"))
    assert code == 0
    rows = rows_by_name(document)
    drop = rows[f"{cell('drop')}@3.12"]
    assert drop["gated"] is True and drop["verdict"] == "pass"
    block = rows[f"{cell('block', load='overload')}@3.12"]
    assert block["gated"] is False and "by design" in block["reasons"][0]
    assert not any("rate=10000" in name.replace("total_rate", "") for name in rows)
    loaded = compare.load_cells([tmp_path / "old" / "py312.json"])
    assert all(c.metadata["total_rate"] == 10000 and "rate" not in c.metadata for c in loaded)


@pytest.mark.parametrize("old_side", ["baseline", "target"])
def test_old_and_new_names_match_across_baseline_and_target(tmp_path: Path, old_side: str) -> None:
    """An old baseline against a new run (or the reverse) pairs the same cell: a +40 % slowdown is
    still found as a regression of that cell."""
    base_name = old_cell("drop") if old_side == "baseline" else cell("drop")
    now_name = old_cell("drop") if old_side == "target" else cell("drop")
    write_suite(tmp_path / "base" / "py312.json", [bench(base_name, noisy(10.0, 0.3))])
    write_suite(tmp_path / "now" / "py312.json", [bench(now_name, noisy(14.0, 0.3, seed=2))])
    code, _, document = run_gate(
        tmp_path, str(tmp_path / "now"), "--baseline", str(tmp_path / "base")
    )
    assert code == 1
    assert document["regressions"] == [f"{cell('drop')} (3.12)"]


def test_deprecated_rate_option_sets_the_gated_total_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--rate 5000` works as `--total-rate 5000` for this release (the 10,000 cells are then not
    gated) and warns on stderr; compare.json names the knob `total_rate`."""
    write_suite(tmp_path / "b" / "py312.json", [bench(cell("drop"), noisy(400.0, 10.0))])
    code, _, document = run_gate(tmp_path, str(tmp_path / "b"), "--rate", "5000")
    assert code == 0
    assert document["gate"]["total_rate"] == 5000 and "rate" not in document["gate"]
    assert rows_by_name(document)[f"{cell('drop')}@3.12"]["gated"] is False
    assert "--rate is deprecated" in capsys.readouterr().err
