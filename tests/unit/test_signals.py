"""shutdown_signals: which signals are accepted, where they can be installed, and that the
previous handlers come back."""

from __future__ import annotations

import signal
import threading

import pytest

import fapilog
from fapilog import ConfigError


@pytest.mark.timeout(120)
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


@pytest.mark.timeout(120)
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


@pytest.mark.timeout(120)
@pytest.mark.parametrize("value", ["SIGKILL", "SIGSTOP", "SIGCHLD", "SIGNOPE", "15"])
def test_signals_that_cannot_be_drained_on_are_refused(value: str) -> None:
    """Signals that cannot be caught, or whose default does not end the process, and unknown
    names are a ConfigError naming the variable, the value and what is accepted."""
    with pytest.raises(ConfigError, match=r"FAPILOG_SHUTDOWN_SIGNALS .*signals that end"):
        fapilog.LoggingSettings.from_env({"FAPILOG_SHUTDOWN_SIGNALS": f"SIGTERM,{value}"})
