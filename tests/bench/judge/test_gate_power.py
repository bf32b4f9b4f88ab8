"""bench/judge/gate_power.py: the injection that slows a commit down, and the summary of runs."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyperf")

from bench.judge import ab, gate_power, verdict
from tests.bench.judge._reports import ab_report

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def no_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports written here must not land in a real GitHub job summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


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
    with pytest.raises(verdict.Unusable, match=r"no 'def handle\(' to slow down: pass --inject"):
        gate_power.inject(SOURCE, "handle", 3)


def test_inject_finds_the_plain_call_in_the_real_queue() -> None:
    """The default target exists: src/fapilog/_methods.py has a `def call(` to slow down."""
    path, function = gate_power.DEFAULT_INJECT.split(":")
    source = (ROOT / path).read_text()
    out = gate_power.inject(source, function, 2)
    compile(out, path, "exec")
    assert out.count("_pad += 1") == 2 * source.count(f"def {function}(")


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
        report = ab_report(slow_time, instr)
        report.timing.append(
            verdict.judge_timing("hot[probe=info,clock=thread_cpu]", True, [1.0] * 6, [1.0] * 6)
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


def test_gate_power_summarize_reads_runs_written_before_the_rename(tmp_path: Path) -> None:
    """A run directory whose ab.json names the cells `rate=` (written before the `total_rate`
    rename) is summarized like a new one, not refused with a KeyError."""
    report = ab_report(True, 0.3)
    report.timing.append(
        verdict.judge_timing("hot[probe=info,clock=thread_cpu]", True, [1.0] * 6, [1.0] * 6)
    )
    run_dir = tmp_path / "runs" / "0-20"
    run_dir.mkdir(parents=True)
    ab.write_report(report, run_dir)
    path = run_dir / "ab.json"
    path.write_text(path.read_text().replace("total_rate=", "rate="))
    assert "total_rate" not in path.read_text()
    rows = [line for line in gate_power.summarize(tmp_path).splitlines() if line.startswith("| +")]
    assert rows == [rows[0]] and rows[0].startswith("| +20% | ? | ? | +30.0% | 1/1 | 1 | 0 | 1 |")
