"""``scripts/load_test_log_queue.py --payload-bytes``: peak RSS in the text and JSON reports.

A benchmark's plumbing, not a benchmark: the runs are tiny and nothing here asserts a speed or
a memory figure beyond "a sane number".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.loadtest.test_main import assert_consistent, clean_env, run

PAYLOAD = ["--payload-bytes", "100000", "--sink-delay", "0.02", "--concurrency", "2"]
SHORT = ["--rate", "50", "--duration", "0.5", "--warmup", "0.1"]
RSS_LINE = re.compile(
    r"^Peak RSS: ([\d,]+) MiB process peak \(ru_maxrss, since the process started; "
    r"\+([\d,]+) MiB during the run; queue_max_bytes (\d+) MiB\)$",
    re.MULTILINE,
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("strategy", ["drop", "block"])
def test_payload_run_reports_peak_rss_in_text_and_json(tmp_path: Path, strategy: str) -> None:
    """Every call carries 100,000 chars; text and JSON give the process peak, growth, budget."""
    out = tmp_path / "result.json"
    proc = run(*PAYLOAD, *SHORT, "--strategy", strategy, "--max-bytes", "32MiB", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    match = RSS_LINE.search(proc.stdout)
    assert match, proc.stdout
    peak, growth, budget = (int(g.replace(",", "")) for g in match.groups())
    assert budget == 32
    (run_doc,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert_consistent(run_doc)
    assert run_doc["attempted"] == 2 * 50 * 0.5
    assert run_doc["payload_bytes"] == 100_000
    assert run_doc["max_bytes"] == 32 * 2**20
    assert run_doc["dropped_too_large"] == 0
    # Sane: a Python process is more than 5 MiB and (here) far less than 4 GiB; growth is
    # part of the peak and cannot be negative (ru_maxrss never falls).
    assert 5 < run_doc["peak_rss_mib"] < 4096
    assert 0 <= run_doc["rss_growth_mib"] <= run_doc["peak_rss_mib"]
    assert peak == round(run_doc["peak_rss_mib"])
    assert growth == round(run_doc["rss_growth_mib"])
    assert "payload_bytes=100,000 max_bytes=33,554,432" in proc.stdout


@pytest.mark.timeout(60)
def test_environment_sets_payload_and_budget_and_too_large_is_reported(tmp_path: Path) -> None:
    """LOAD_TEST_PAYLOAD_BYTES over LOAD_TEST_MAX_BYTES: every event is dropped as too large."""
    out = tmp_path / "result.json"
    proc = run(
        *SHORT,
        "--json",
        str(out),
        env=clean_env(LOAD_TEST_PAYLOAD_BYTES="8KiB", LOAD_TEST_MAX_BYTES="4KiB"),
    )
    assert proc.returncode == 0, proc.stderr
    (run_doc,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert run_doc["payload_bytes"] == 8192
    assert run_doc["max_bytes"] == 4096
    assert run_doc["dropped_too_large"] == run_doc["dropped"] == run_doc["attempted"] > 0
    assert f"Dropped as too large: {run_doc['dropped_too_large']:,} (" in proc.stdout


@pytest.mark.timeout(90)
def test_strategy_all_table_has_a_peak_rss_row(tmp_path: Path) -> None:
    """--strategy all with a payload: one peak RSS row, non-decreasing (a process peak)."""
    proc = run(*PAYLOAD, *SHORT, "--strategy", "all")
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("Peak RSS, process")]
    peaks = [int(cell.replace(",", "")) for cell in row.split()[-3:]]
    assert peaks == sorted(peaks)
    assert all(5 < peak < 4096 for peak in peaks)
    assert "lifetime peak (ru_maxrss)" in proc.stdout


@pytest.mark.parametrize(
    ("flag", "value"), [("--payload-bytes", "-5"), ("--max-bytes", "12 parsecs")]
)
def test_bad_payload_or_budget_exits_2_with_one_line(flag: str, value: str) -> None:
    """The script refuses a bad size at once: exit 2, one line naming flag, value, accepted."""
    proc = run(flag, value)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert flag in line and repr(value) in line and "such as" in line
