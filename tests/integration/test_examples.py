"""The examples run as their docstrings say (examples/asgi_app.py: see test_uvicorn.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


def _run(script: str, *args: str, **env: str) -> tuple[list[dict[str, Any]], str, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_")}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=50,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return lines, result.stderr, result.returncode


def test_asyncio_worker_logs_each_job_with_its_context() -> None:
    """asyncio_worker.py: every job's records carry its job_id; failures have a traceback; the
    run ends with everything delivered (exit 0)."""
    lines, stderr, code = _run("asyncio_worker.py", "--jobs", "14", "--concurrency", "3")
    assert code == 0, stderr
    started = sorted(line["job_id"] for line in lines if line["event"] == "job started")
    assert started == list(range(14))
    failed = [line for line in lines if line["event"] == "job failed"]
    assert sorted(line["job_id"] for line in failed) == [6, 13]
    assert all("ValueError: job" in line["exception"] for line in failed)
    done = [line for line in lines if line["event"] == "job done"]
    assert all(line["result"] == line["job_id"] * 2 for line in done) and len(done) == 12
    assert lines[-1]["event"] == "all jobs processed" and "job_id" not in lines[-1]


def test_stdlib_only_script_is_captured_once() -> None:
    """stdlib_only.py: the library's records are JSON with extra fields, traceback and logger
    name, nothing is printed by its old handler, and FAPILOG_LEVEL governs logging's level."""
    lines, stderr, code = _run("stdlib_only.py")
    assert code == 0, stderr
    assert stderr == ""
    assert [line["event"] for line in lines] == [
        "charged ann",
        "charged bob",
        "refund path not implemented",
        "done with 2 customers",
    ]
    assert lines[0]["customer"] == "ann" and lines[0]["cents"] == 1250
    assert lines[0]["logger"] == "billing"
    assert "ValueError: negative amount" in lines[2]["exception"]
    debug_lines, _, _ = _run("stdlib_only.py", FAPILOG_LEVEL="debug")
    assert [line["event"] for line in debug_lines][:1] == ["computing tax for ann"]
