"""fapilog in a real uvicorn service: the nine points of issue 11, as a user sees them.

Each test starts examples/asgi_app.py (Starlette + RequestContextMiddleware + capture()) under
a real uvicorn, in a subprocess on 127.0.0.1 with a free port, sends a bounded number of
requests over loopback, stops it (SIGINT, as Ctrl-C would) and reads stdout or the log file.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import fapilog  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "asgi_app.py"
pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.stderr.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("server did not start in time")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("server did not stop within 15 s") from None

    def lines(self, path: Path | None = None) -> list[dict[str, Any]]:
        """Every line of stdout (or ``path``) parsed as JSON: a plain-text line fails the test."""
        text = (path or self.stdout).read_text()
        return [json.loads(line) for line in text.splitlines()]


def _start(
    tmp_path: Path, env: dict[str, str] | None = None, command: Sequence[str] | None = None
) -> Server:
    port = _free_port()
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_")}
    environ.update(env or {})
    environ["PYTHONUNBUFFERED"] = "1"
    argv = command or [sys.executable, str(EXAMPLE), "--port", str(port)]
    argv = [a.replace("{port}", str(port)) for a in argv]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=environ, cwd=tmp_path)
    server = Server(proc, port, stdout, stderr)
    try:
        server.wait_ready()
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(env: dict[str, str] | None = None, command: Sequence[str] | None = None) -> Server:
        server = _start(tmp_path, env, command)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=5)


def _by_event(lines: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [line for line in lines if str(line["event"]).startswith(prefix)]


def _access(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("logger") == "uvicorn.access"]


def test_1_3_uvicorn_lines_are_json_once_each(serve: Any) -> None:
    """Points 1 and 3: uvicorn's startup lines, access lines and traceback all reach fapilog,
    stdout holds only JSON lines, each record once, and uvicorn prints nothing itself."""
    server = serve()
    for i in range(5):
        assert httpx.get(f"{server.url}/items/{i}").status_code == 200
    assert httpx.get(f"{server.url}/fail").status_code == 500
    server.stop()
    lines = server.lines()
    assert _by_event(lines, "Started server process")
    assert _by_event(lines, "Uvicorn running on")
    assert len(_by_event(lines, "Exception in ASGI application")) == 1
    paths = [line["path"] for line in _access(lines)]
    assert paths.count("/fail") == 1
    assert sorted(p for p in paths if p.startswith("/items/")) == [f"/items/{i}" for i in range(5)]
    assert "INFO" not in server.stderr.read_text()


def test_1_uvicorn_cli_form_is_captured_too(serve: Any, tmp_path: Path) -> None:
    """Point 1 with the uvicorn command line: uvicorn configures its own logging first, and
    capture() at the app's import takes its loggers over: JSON only, no plain lines."""
    command = [
        sys.executable, "-m", "uvicorn", "asgi_app:app", "--app-dir", str(EXAMPLE.parent),
        "--host", "127.0.0.1", "--port", "{port}",
    ]  # fmt: skip
    server = serve(command=command)
    assert httpx.get(f"{server.url}/items/7").status_code == 200
    server.stop()
    lines = server.lines()
    assert [line["path"] for line in _access(lines)].count("/items/7") == 1
    assert _by_event(lines, "Application startup complete.")
    assert "INFO" not in server.stderr.read_text()


def test_2_one_level_setting_governs_uvicorn(serve: Any) -> None:
    """Point 2: at fapilog's default level the access lines are there; with FAPILOG_LEVEL=warning
    they are gone (and uvicorn's info lines with them) while the error traceback stays."""
    server = serve({"FAPILOG_LEVEL": "warning"})
    assert httpx.get(f"{server.url}/items/1").status_code == 200
    assert httpx.get(f"{server.url}/fail").status_code == 500
    server.stop()
    lines = server.lines()
    assert _access(lines) == []
    assert {line["level"] for line in lines} <= {"warning", "error", "critical"}
    assert len(_by_event(lines, "Exception in ASGI application")) == 1


def test_4_5_access_fields_and_clean_messages(serve: Any) -> None:
    """Points 4 and 5: the access line has client, method, path (with query), http_version and
    status as fields; no record carries color_message; no message ends with a newline."""
    server = serve()
    assert httpx.post(f"{server.url}/items/9?q=1").status_code == 405
    assert httpx.get(f"{server.url}/fail").status_code == 500
    server.stop()
    lines = server.lines()
    post = next(line for line in _access(lines) if line["method"] == "POST")
    assert post["path"] == "/items/9?q=1" and post["status"] == 405
    assert post["http_version"] == "1.1" and post["client"].startswith("127.0.0.1:")
    assert all("color_message" not in line for line in lines)
    assert all(not str(line["event"]).endswith("\n") for line in lines)
    assert _by_event(lines, "Exception in ASGI application")[0]["event"] == (
        "Exception in ASGI application"
    )


def test_6_request_context_covers_error_records_and_concurrency(serve: Any) -> None:
    """Point 6: the app's line, the 500 access line and the traceback of a failing request all
    carry its request_id (echoed in the response header); 40 concurrent requests never mix ids."""
    server = serve()
    failed = httpx.get(f"{server.url}/fail", headers={"x-request-id": "req-fail"})
    assert failed.headers["x-request-id"] == "req-fail"

    def get(i: int) -> str:
        response = httpx.get(f"{server.url}/items/{i}", headers={"x-request-id": f"req-{i}"})
        assert response.status_code == 200
        return str(response.headers["x-request-id"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(get, range(40))) == [f"req-{i}" for i in range(40)]
    generated = httpx.get(f"{server.url}/items/x").headers["x-request-id"]
    server.stop()
    lines = server.lines()
    fail_lines = [line for line in lines if line.get("request_id") == "req-fail"]
    assert {line["event"].split(" - ")[-1] for line in fail_lines} >= {
        "about to fail",
        "Exception in ASGI application",
        '"GET /fail HTTP/1.1" 500',
    }
    for line in lines:
        if line.get("logger") in ("uvicorn.access", "example") and "item_id" in line:
            assert line["request_id"] == f"req-{line['item_id']}" or line["item_id"] == "x"
    for line in _access(lines):
        if line["path"].startswith("/items/") and line["path"] != "/items/x":
            assert line["request_id"] == "req-" + line["path"].rsplit("/", 1)[1]
    assert len(generated) == 32
    assert [line["request_id"] for line in lines if line.get("path") == "/items/x"] == [
        generated
    ] * 2


def test_7_last_uvicorn_lines_delivered_after_final_stats(serve: Any) -> None:
    """Point 7: the lifespan shutdown logs the final stats (nothing dropped or lost) and
    uvicorn's two last lines still arrive after it, in order."""
    server = serve()
    for i in range(3):
        httpx.get(f"{server.url}/items/{i}")
    server.stop()
    events = [line["event"] for line in server.lines()]
    tail = events[events.index("final stats") :]
    assert tail[:2] == ["final stats", "Application shutdown complete."]
    assert tail[2].startswith("Finished server process")
    stats = next(line for line in server.lines() if line["event"] == "final stats")
    assert stats["dropped"] == 0 and stats["lost"] == 0 and stats["failed"] == 0
    assert stats["enqueued"] == stats["delivered"]


@pytest.mark.skipif(
    "shutdown_signals" not in getattr(fapilog.LoggingSettings, "__dataclass_fields__", {}),
    reason="needs the core's shutdown_signals setting (issue 7): uvicorn re-raises SIGTERM "
    "with the default disposition after its shutdown, which ends the process without atexit",
)
def test_7_sigterm_with_shutdown_signals_delivers_the_last_lines(serve: Any) -> None:
    """Point 7 under SIGTERM (how services are stopped): with FAPILOG_SHUTDOWN_SIGNALS=SIGTERM
    the last lines arrive and the process still ends by SIGTERM."""
    server = serve({"FAPILOG_SHUTDOWN_SIGNALS": "SIGTERM"})
    httpx.get(f"{server.url}/items/1")
    assert server.stop(signal.SIGTERM) == -signal.SIGTERM
    events = [line["event"] for line in server.lines()]
    assert "final stats" in events and events[-1].startswith("Finished server process")


def test_8_loop_worker_without_a_startup_gap(serve: Any, tmp_path: Path) -> None:
    """Point 8: with FAPILOG_WORKER=loop and a file sink, uvicorn's first lines (before the
    lifespan startup) go to the same file as the rest, in order; nothing reaches stdout."""
    log_file = tmp_path / "app.log"
    server = serve({"FAPILOG_WORKER": "loop", "FAPILOG_SINKS": f"file://{log_file}"})
    for i in range(3):
        httpx.get(f"{server.url}/items/{i}")
    server.stop()
    assert server.stdout.read_text() == ""
    lines = server.lines(log_file)
    events = [line["event"] for line in lines]
    assert events[0].startswith("Started server process")
    assert events.index("Waiting for application startup.") < events.index("service started")
    assert next(line for line in lines if line["event"] == "service started")["worker"] == "loop"
    assert len(_access(lines)) == 4  # /health from the readiness probe + 3
    assert events[-1].startswith("Finished server process")
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("overflow", ["drop", "block"])
def test_9_block_or_drop_behind_a_slow_sink(serve: Any, tmp_path: Path, overflow: str) -> None:
    """Point 9, the trade-off as a user sees it, with a sink that takes 20 ms per batch of 8:
    `drop` sheds records and says how many in the final stats; `block` (no timeout) keeps every
    access line, at the price of waits on the event loop (measured by nox -s bench_service)."""
    log_file = tmp_path / "app.log"
    env = {
        "FAPILOG_SINKS": f"file://{log_file},memory?delay=0.02",
        "FAPILOG_QUEUE_OVERFLOW": overflow,
        "FAPILOG_QUEUE_MAXSIZE": "8",
        "FAPILOG_QUEUE_BATCH_SIZE": "8",
        "FAPILOG_QUEUE_BLOCK_TIMEOUT": "none",
    }
    server = serve(env)
    with httpx.Client() as client, concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(lambda i: client.get(f"{server.url}/items/{i}").status_code, range(80))
        )
    assert codes == [200] * 80
    server.stop()
    lines = server.lines(log_file)
    stats = next(line for line in lines if line["event"] == "final stats")
    assert stats["attempted"] == stats["enqueued"] + stats["dropped"]
    items = [line for line in _access(lines) if line["path"].startswith("/items/")]
    if overflow == "drop":
        assert stats["dropped"] > 0 and len(items) < 80
    else:
        assert stats["dropped"] == 0 and len(items) == 80
