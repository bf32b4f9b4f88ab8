"""``scripts/load_test_log_queue.py`` as a user runs it: in a subprocess, with tiny durations."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "load_test_log_queue.py"
TINY = ["--concurrency", "2", "--rate", "400", "--duration", "0.25", "--warmup", "0.05"]
FIRST_LINES = [
    r"Total logs attempted: \d{1,3}(,\d{3})*",
    r"Successfully enqueued: \d{1,3}(,\d{3})*",
    r"Dropped: \d{1,3}(,\d{3})*",
    r"Avg enqueue latency: [\d.,]+ µs",
]


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without LOAD_TEST_* / FAPILOG_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOAD_TEST_", "FAPILOG_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env() if env is None else env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def run_json(tmp_path: Path, *args: str, **env: str) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "result.json"
    proc = run(*args, "--json", str(out), env=clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text(encoding="utf-8"))


def assert_consistent(run_doc: dict[str, Any]) -> None:
    """The accounting invariants every run must satisfy."""
    assert run_doc["attempted"] == (
        run_doc["enqueued"] + run_doc["dropped"] + run_doc["sampled_out"]
    )
    assert run_doc["delivered"] == run_doc["enqueued"]
    assert run_doc["calls"] == run_doc["attempted"]
    assert run_doc["latency_us"]["all"]["count"] == run_doc["calls"]
    assert (
        run_doc["latency_us"]["non_blocking"]["count"] + run_doc["latency_us"]["waited"]["count"]
        == run_doc["calls"]
    )


def test_default_run(tmp_path: Path) -> None:
    """A run with the defaults (shortened) exits 0 and prints the four lines, then the rest."""
    proc = run("--duration", "0.3", "--warmup", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for line, pattern in zip(lines[:4], FIRST_LINES, strict=True):
        assert re.fullmatch(pattern, line), line
    assert lines[0] == "Total logs attempted: 3,000"  # 10 tasks × 1,000 logs/s × 0.3 s
    for section in (
        "Sampled out:",
        "Delivered:",
        "Offered total rate: 10,000 logs/s",
        "Achieved total rate:",
        "Queue: depth peak ",
    ):
        assert any(line.startswith(section) for line in lines), section
    assert "p99.9" in proc.stdout
    assert "Event-loop lag:" in proc.stdout
    assert "CPU per event:" in proc.stdout
    assert "Strategy: drop" in proc.stdout
    assert re.search(r"^Result: (PASS|FAIL): ", proc.stdout, re.MULTILINE)
    assert proc.stderr == ""
    assert list(tmp_path.iterdir()) == []  # nothing written without --json


@pytest.mark.parametrize("strategy", ["drop", "block", "sample"])
def test_each_strategy_with_consistent_json(tmp_path: Path, strategy: str) -> None:
    """Each strategy runs; the JSON validates, agrees with the text report and carries each
    renamed key beside its deprecated twin."""
    text, document = run_json(tmp_path, *TINY, "--strategy", strategy)
    assert document["schema"] == "fapilog.loadtest/1"
    assert set(document["environment"]) >= {
        "python",
        "platform",
        "cpu_count",
        "fapilog_version",
        "utc_time",
    }
    assert document["config"]["strategy"] == strategy
    (run_doc,) = document["runs"]
    assert run_doc["strategy"] == strategy
    assert_consistent(run_doc)
    lines = text.splitlines()
    assert lines[0] == f"Total logs attempted: {run_doc['attempted']:,}"
    assert lines[1] == f"Successfully enqueued: {run_doc['enqueued']:,}"
    assert lines[2] == f"Dropped: {run_doc['dropped']:,}"
    assert f"Sampled out: {run_doc['sampled_out']:,}" in lines
    assert f"Result: {'PASS' if run_doc['passed'] else 'FAIL'}" in text
    assert f"Queue: depth peak {run_doc['queue']['depth_peak']:,} of " in text
    assert run_doc["calls_enqueued"] == run_doc["enqueued"]
    # Deprecated keys, kept for this release: same values as their new names.
    assert run_doc["accepted"] == run_doc["calls_enqueued"]
    assert run_doc["warnings_accepted"] == run_doc["warnings_enqueued"]
    assert run_doc["offered_rate"] == run_doc["offered_total_rate"] == 800.0  # 2 × 400
    assert run_doc["achieved_rate"] == run_doc["achieved_total_rate"]
    assert run_doc["queue"]["high_water_mark"] == run_doc["queue"]["depth_peak"]
    assert run_doc["target"]["rate"] == run_doc["target"]["total_rate"]


def test_strategy_all_prints_one_comparison_table(tmp_path: Path) -> None:
    """--strategy all runs drop, block and sample with the same load; one table, three runs."""
    text, document = run_json(tmp_path, *TINY, "--strategy", "all")
    assert [r["strategy"] for r in document["runs"]] == ["drop", "block", "sample"]
    for run_doc in document["runs"]:
        assert_consistent(run_doc)
        assert run_doc["calls"] == 200
    assert text.count("Strategy comparison") == 1
    header = text.splitlines()[1].split()
    assert header == ["drop", "block", "sample"]
    assert re.search(r"^Total logs attempted\s+200\s+200\s+200$", text, re.MULTILINE)
    assert len(re.findall(r"^Result (drop|block|sample): (PASS|FAIL)", text, re.MULTILINE)) == 3


def test_environment_variables_apply_and_flags_override(tmp_path: Path) -> None:
    """LOAD_TEST_* variables set parameters; a flag beats its variable."""
    _, document = run_json(
        tmp_path,
        "--rate",
        "300",
        "--warmup",
        "0",
        LOAD_TEST_CONCURRENCY="3",
        LOAD_TEST_RATE="50",
        LOAD_TEST_DURATION="0.2",
        LOAD_TEST_STRATEGY="sample",
        LOAD_TEST_MAXSIZE="777",
        LOAD_TEST_WARMUP="2",
    )
    config = document["config"]
    assert (config["concurrency"], config["duration"], config["strategy"]) == (3, 0.2, "sample")
    assert config["maxsize"] == 777
    assert config["rate"] == 300.0  # the flag, not LOAD_TEST_RATE
    assert config["warmup"] == 0.0  # the flag, not LOAD_TEST_WARMUP
    assert document["runs"][0]["calls"] == 180  # 3 × 300 × 0.2


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--concurrency", "0"),
        ("--rate", "x"),
        ("--duration", "0"),
        ("--warmup", "-1"),
        ("--strategy", "fifo"),
        ("--maxsize", "0"),
        ("--batch-size", "0"),
        ("--flush-interval", "-1"),
        ("--block-timeout", "-2"),
        ("--sampling-rate", "2"),
        ("--worker", "process"),
        ("--threads", "many"),
        ("--sink", "s3"),
        ("--sink-delay", "x"),
        ("--target-latency-us", "-5"),
        ("--target-rate", "0"),
    ],
)
def test_every_bad_value_exits_2_naming_the_flag(flag: str, value: str) -> None:
    """A bad value stops the script at once: exit 2, one stderr line naming the flag."""
    proc = run(flag, value)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert flag in line
    assert "expected" in line


def test_bad_environment_value_exits_2_naming_variable_and_flag() -> None:
    """A bad LOAD_TEST_* value names the variable and its flag."""
    proc = run(env=clean_env(LOAD_TEST_WORKER="fiber"))
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert "LOAD_TEST_WORKER" in line
    assert "--worker" in line
    assert "thread|loop" in line


def test_runs_from_a_fresh_clone_without_install(tmp_path: Path) -> None:
    """With only Python (fapilog not installed), the script finds the checkout's src/ itself."""
    base_python = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    if not base_python.exists():
        pytest.skip(f"no base interpreter at {base_python}")
    probe = subprocess.run(
        [str(base_python), "-I", "-c", "import fapilog"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        pytest.skip("fapilog is installed in the base interpreter")
    clone = tmp_path / "clone"
    shutil.copytree(REPO / "src", clone / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        REPO / "scripts", clone / "scripts", ignore=shutil.ignore_patterns("__pycache__")
    )
    proc = subprocess.run(
        [str(base_python), "-I", str(clone / "scripts" / "load_test_log_queue.py"), *TINY],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Total logs attempted: 200\n")


def test_python_m_fapilog_loadtest() -> None:
    """python -m fapilog.loadtest is the same command."""
    proc = subprocess.run(
        [sys.executable, "-m", "fapilog.loadtest", *TINY],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Total logs attempted: 200\n")


def test_help_lists_every_flag_and_its_variable() -> None:
    """--help documents each parameter with its LOAD_TEST_* variable."""
    proc = run("--help")
    assert proc.returncode == 0
    for flag in ("--concurrency", "--rate", "--sink-delay", "--target-rate", "--check", "--json"):
        assert flag in proc.stdout
    assert "LOAD_TEST_SAMPLING_RATE" in proc.stdout


def test_console_script_is_declared() -> None:
    """pyproject.toml declares fapilog-loadtest = fapilog.loadtest:main."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'fapilog-loadtest = "fapilog.loadtest:main"' in text


def test_import_fapilog_stays_free_of_asyncio_and_the_load_test() -> None:
    """Only the load test imports asyncio; ``import fapilog`` pulls in neither."""
    code = "import sys, fapilog; print('asyncio' in sys.modules, 'fapilog.loadtest' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=True
    )
    assert proc.stdout.split() == ["False", "False"]


def test_stdout_sink_writes_the_events_before_the_report() -> None:
    """--sink stdout: every delivered event is a JSON line on stdout, the report follows."""
    proc = run(
        "--concurrency",
        "1",
        "--rate",
        "200",
        "--duration",
        "0.1",
        "--warmup",
        "0",
        "--sink",
        "stdout",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = lines.index("Total logs attempted: 20")
    events = [json.loads(line) for line in lines[:start]]
    assert len(events) == 20
    assert {event["event"] for event in events} == {"loadtest.request"}
    assert "Delivered: 20 (pipeline count, after drain)" in lines[start:]
