"""LoggingSettings: defaults, FAPILOG_* parsing, and a clear ConfigError for every bad value."""

from __future__ import annotations

import asyncio

import pytest

import fapilog
from fapilog import ConfigError, LoggingSettings
from fapilog.sinks import MemorySink

BAD_ENV = {
    "FAPILOG_LEVEL": "LOUD",
    "FAPILOG_SINKS": "kafka://broker",
    "FAPILOG_QUEUE_MAXSIZE": "ten",
    "FAPILOG_QUEUE_OVERFLOW": "spill",
    "FAPILOG_QUEUE_BATCH_SIZE": "0",
    "FAPILOG_QUEUE_FLUSH_INTERVAL": "soon",
    "FAPILOG_QUEUE_BLOCK_TIMEOUT": "-1",
    "FAPILOG_SAMPLING_RATE": "1.5",
    "FAPILOG_QUEUE_HIGH_WATER": "0",
    "FAPILOG_WORKER": "process",
    "FAPILOG_SINK_TIMEOUT": "soon",
    "FAPILOG_SHUTDOWN_TIMEOUT": "-1",
    "FAPILOG_SHUTDOWN_SIGNALS": "SIGKILL",
}

BAD_KEYWORDS = {
    "level": "LOUD",
    "sinks": ("stdout", "kafka://broker"),
    "queue_maxsize": 0,
    "queue_overflow": "spill",
    "queue_batch_size": -5,
    "queue_flush_interval": 0,
    "queue_block_timeout": float("nan"),
    "sampling_rate": -0.1,
    "queue_high_water": 2,
    "worker": "process",
    "sink_timeout": 0,
    "shutdown_timeout": float("inf"),
    "shutdown_signals": "SIGTERM",
}


def test_defaults_are_documented_values() -> None:
    """The defaults the README documents: drop, 10,000 slots, batches of 256, thread worker."""
    s = LoggingSettings()
    assert (s.level, s.sinks, s.queue_maxsize, s.queue_overflow) == (
        "INFO",
        ("stdout",),
        10_000,
        "drop",
    )
    assert (s.queue_batch_size, s.queue_flush_interval, s.queue_block_timeout) == (256, 0.1, 1.0)
    assert (s.sampling_rate, s.queue_high_water, s.worker) == (0.1, 0.8, "thread")


def test_from_env_reads_every_field() -> None:
    """Each field has its FAPILOG_<FIELD> variable, parsed to the field's type."""
    env = {
        "FAPILOG_LEVEL": "debug",
        "FAPILOG_SINKS": "memory, null",
        "FAPILOG_QUEUE_MAXSIZE": "1_000",
        "FAPILOG_QUEUE_OVERFLOW": "BLOCK",
        "FAPILOG_QUEUE_BATCH_SIZE": "64",
        "FAPILOG_QUEUE_FLUSH_INTERVAL": "0.25",
        "FAPILOG_QUEUE_BLOCK_TIMEOUT": "none",
        "FAPILOG_SAMPLING_RATE": "0.5",
        "FAPILOG_QUEUE_HIGH_WATER": "0.9",
        "FAPILOG_WORKER": "loop",
        "FAPILOG_SINK_TIMEOUT": "2.5",
        "FAPILOG_SHUTDOWN_TIMEOUT": "0",
        "FAPILOG_SHUTDOWN_SIGNALS": "term, SIGINT",
    }
    s = LoggingSettings.from_env(env)
    assert s == LoggingSettings(
        level="debug",
        sinks=("memory", "null"),
        queue_maxsize=1000,
        queue_overflow="block",
        queue_batch_size=64,
        queue_flush_interval=0.25,
        queue_block_timeout=None,
        sampling_rate=0.5,
        queue_high_water=0.9,
        worker="loop",
        sink_timeout=2.5,
        shutdown_timeout=0.0,
        shutdown_signals=("SIGTERM", "SIGINT"),
    )


def test_empty_variables_keep_defaults() -> None:
    """An empty FAPILOG_* variable means 'not set'."""
    assert LoggingSettings.from_env({"FAPILOG_QUEUE_MAXSIZE": " "}) == LoggingSettings()


@pytest.mark.parametrize(("variable", "value"), sorted(BAD_ENV.items()))
def test_bad_env_value_names_variable_value_and_accepted(variable: str, value: str) -> None:
    """A bad variable raises ConfigError naming the variable, the value and what is accepted."""
    with pytest.raises(ConfigError) as info:
        LoggingSettings.from_env({variable: value})
    message = str(info.value)
    assert variable in message
    assert repr(value) in message or value in message
    assert "expected" in message


@pytest.mark.parametrize(("field", "value"), sorted(BAD_KEYWORDS.items()))
def test_bad_keyword_raises_at_configure_time(field: str, value: object) -> None:
    """configure_logging(**bad) raises ConfigError naming the field; no pipeline is built."""
    with pytest.raises(ConfigError) as info:
        fapilog.configure_logging(**{field: value})
    assert field in str(info.value)
    assert "expected" in str(info.value)
    assert fapilog._lifecycle.current_pipeline() is None


def test_unknown_setting_lists_accepted_names() -> None:
    """A misspelt override is a ConfigError listing the real settings."""
    with pytest.raises(ConfigError, match=r"unknown setting 'queue_max_size'.*queue_maxsize"):
        fapilog.configure_logging(queue_max_size=10)


def test_settings_must_be_logging_settings() -> None:
    """Passing something else as settings is a ConfigError, not an AttributeError later."""
    with pytest.raises(ConfigError, match="LoggingSettings"):
        fapilog.configure_logging({"level": "INFO"})  # type: ignore[arg-type]


def test_bad_value_keeps_previous_pipeline() -> None:
    """A failed reconfigure leaves the running pipeline in place and logging."""
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    before = fapilog._lifecycle.current_pipeline()
    with pytest.raises(ConfigError):
        fapilog.configure_logging(sinks=(sink,), queue_overflow="nope")
    assert fapilog._lifecycle.current_pipeline() is before
    assert fapilog.log.info("still here")
    assert fapilog.flush(5)
    assert sink.count == 1


def test_loop_worker_outside_a_loop_is_a_config_error() -> None:
    """worker='loop' needs a running loop at configure time, and says so."""
    with pytest.raises(ConfigError, match=r"FAPILOG_WORKER.*running event loop"):
        fapilog.configure_logging(worker="loop", sinks=("null",))


def test_loop_worker_inside_a_loop_configures() -> None:
    """From a coroutine, worker='loop' runs the worker as a task on that loop."""
    sink = MemorySink()

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(worker="loop", sinks=(sink,))
        for i in range(10):
            fapilog.log.info("e", i=i)
        return await fapilog.ashutdown()

    final = asyncio.run(main())
    assert (final.enqueued, final.delivered, sink.count) == (10, 10, 10)


def test_unopenable_file_sink_is_a_config_error(tmp_path: object) -> None:
    """A file sink that cannot be opened fails configure, naming FAPILOG_SINKS."""
    with pytest.raises(ConfigError, match=r"FAPILOG_SINKS.*cannot open"):
        fapilog.configure_logging(sinks=("file:///proc/no/such/dir/app.log",))


def test_bad_environment_at_first_log_call_does_not_raise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auto-configure with a bad variable reports on stderr and falls back; the call succeeds."""
    monkeypatch.setenv("FAPILOG_QUEUE_MAXSIZE", "lots")
    assert fapilog.log.info("first") is True
    assert "FAPILOG_QUEUE_MAXSIZE" in capsys.readouterr().err
    assert fapilog.stats().enqueued == 1


def test_first_log_call_configures_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logging before configure_logging builds the pipeline from FAPILOG_* variables."""
    monkeypatch.setenv("FAPILOG_SINKS", "memory")
    monkeypatch.setenv("FAPILOG_QUEUE_MAXSIZE", "123")
    assert fapilog.log.warning("hello")
    pipeline = fapilog._lifecycle.current_pipeline()
    assert pipeline is not None
    assert pipeline.settings.queue_maxsize == 123
    assert fapilog.flush(5)
    assert fapilog.stats().delivered == 1
