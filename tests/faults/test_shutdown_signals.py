"""``shutdown_signals``: SIGTERM (the stop signal of every container) drains the backlog, then
the signal goes on to what was there before. Real signals, real child processes."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest

import fapilog
from fapilog import ConfigError
from tests.faults._child import run_child

pytestmark = pytest.mark.timeout(120)

_BURST_THEN_SIGTERM = """
import os, signal, sys, time
import fapilog
fapilog.configure_logging(
    sinks=("file://" + PATH,), queue_overflow="block", queue_maxsize=100_000,
    queue_batch_size=256, shutdown_signals=SIGNALS,
)
for i in range(50_000):
    fapilog.log.info("burst", i=i)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
print("still alive", file=sys.stderr)
"""


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sigterm_after_a_burst_delivers_everything_and_ends_as_sigterm(tmp_path: Path) -> None:
    """50,000 events queued, then SIGTERM: every one is in the file, and the process still ends
    by SIGTERM as the default disposition would (a supervisor sees status 128 + 15)."""
    path = tmp_path / "app.log"
    child = run_child(
        f"PATH = {str(path)!r}\nSIGNALS = ('SIGTERM',)\n" + _BURST_THEN_SIGTERM, timeout=60
    )
    assert child.returncode == -signal.SIGTERM, child.stderr
    assert "still alive" not in child.stderr
    assert [r["i"] for r in _lines(path)] == list(range(50_000))


def test_without_the_setting_sigterm_loses_the_backlog(tmp_path: Path) -> None:
    """The reason the setting exists: with no ``shutdown_signals``, SIGTERM skips atexit and the
    queued events are gone (this pins the default, which changes nothing on its own)."""
    path = tmp_path / "app.log"
    child = run_child(f"PATH = {str(path)!r}\nSIGNALS = ()\n" + _BURST_THEN_SIGTERM, timeout=60)
    assert child.returncode == -signal.SIGTERM
    assert len(_lines(path)) < 50_000


_CHAINED_ON_A_LOOP = """
import asyncio, json, os, signal, sys
import fapilog

def previous(signum, frame):
    with open(PATH) as f:
        seen = sum(1 for _ in f)
    print(json.dumps({"previous_saw": seen, "signum": signum}), flush=True)
    os._exit(7)

signal.signal(signal.SIGTERM, previous)

async def main():
    fapilog.configure_logging(
        sinks=("file://" + PATH,), worker=WORKER, queue_overflow="block",
        queue_maxsize=50_000, shutdown_signals=("SIGTERM",),
    )
    for i in range(20_000):
        fapilog.log.info("on the loop", i=i)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(30)

asyncio.run(main())
print("still alive", file=sys.stderr)
"""


@pytest.mark.parametrize("worker", ["thread", "loop"])
def test_sigterm_on_a_running_loop_drains_then_calls_the_previous_handler(
    tmp_path: Path, worker: str
) -> None:
    """With an asyncio loop running in the main thread (thread or loop worker), SIGTERM drains
    everything first, then calls the handler that was installed before, which sees every line
    already in the file."""
    path = tmp_path / "app.log"
    child = run_child(
        f"PATH = {str(path)!r}\nWORKER = {worker!r}\n" + _CHAINED_ON_A_LOOP, timeout=60
    )
    assert child.returncode == 7, child.stderr
    out = json.loads(child.stdout)
    assert out == {"previous_saw": 20_000, "signum": int(signal.SIGTERM)}


def test_shutdown_and_reconfigure_restore_the_previous_handlers() -> None:
    """Configuring ``shutdown_signals`` replaces the handlers; ``shutdown()`` puts the previous
    ones back, and so does a reconfigure without the setting."""

    def mine(signum: int, frame: object) -> None:  # pragma: no cover - never delivered
        pass

    before_term = signal.signal(signal.SIGTERM, mine)
    try:
        before_hup = signal.getsignal(signal.SIGHUP)
        fapilog.configure_logging(sinks=("null",), shutdown_signals=("SIGTERM", "hup"))
        assert fapilog.LoggingSettings(shutdown_signals=("hup",)).shutdown_signals == ("SIGHUP",)
        assert signal.getsignal(signal.SIGTERM) is not mine
        fapilog.shutdown()
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGHUP) == before_hup

        fapilog.configure_logging(sinks=("null",), shutdown_signals=("SIGTERM",))
        assert signal.getsignal(signal.SIGTERM) is not mine
        fapilog.configure_logging(sinks=("null",))
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before_term)


def test_shutdown_signals_outside_the_main_thread_is_a_config_error() -> None:
    """Python runs signal handlers only in the main thread: configuring ``shutdown_signals``
    from another thread is a ConfigError naming the setting, and the pipeline in force stays."""
    fapilog.configure_logging(sinks=("memory",))
    errors: list[BaseException] = []

    def configure() -> None:
        try:
            fapilog.configure_logging(sinks=("null",), shutdown_signals=("SIGTERM",))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=configure)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], ConfigError)
    assert "FAPILOG_SHUTDOWN_SIGNALS (shutdown_signals)" in str(errors[0])
    assert "main thread" in str(errors[0])
    assert fapilog.log.info("still here")
    assert fapilog.stats().sinks[0].name == "memory"


@pytest.mark.parametrize("value", ["SIGKILL", "SIGSTOP", "SIGCHLD", "SIGNOPE", "15"])
def test_signals_that_cannot_be_drained_on_are_refused(value: str) -> None:
    """Signals that cannot be caught, or whose default does not end the process, and unknown
    names are a ConfigError naming the variable, the value and what is accepted."""
    with pytest.raises(ConfigError, match=r"FAPILOG_SHUTDOWN_SIGNALS .*signals that end"):
        fapilog.LoggingSettings.from_env({"FAPILOG_SHUTDOWN_SIGNALS": f"SIGTERM,{value}"})
