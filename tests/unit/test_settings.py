"""LoggingSettings: defaults, FAPILOG_* parsing, and a clear ConfigError for every bad value."""

from __future__ import annotations

import pytest

import fapilog
from fapilog import ConfigError, LoggingSettings

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
    assert fapilog.stats() == fapilog.PipelineStats()  # no pipeline: all zero, no sinks


def test_unknown_setting_lists_accepted_names() -> None:
    """A misspelt override is a ConfigError listing the real settings."""
    with pytest.raises(ConfigError, match=r"unknown setting 'queue_max_size'.*queue_maxsize"):
        fapilog.configure_logging(queue_max_size=10)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("64MiB", 64 * 1024**2), ("500MB", 500_000_000), ("1_048_576", 1_048_576), ("2 GiB", 2 << 30)],
)
def test_queue_max_bytes_takes_sizes(raw: str, expected: int) -> None:
    """``FAPILOG_QUEUE_MAX_BYTES`` takes plain bytes or a size with a decimal (kB, MB, GB) or
    binary (KiB, MiB, GiB) unit."""
    assert LoggingSettings.from_env({"FAPILOG_QUEUE_MAX_BYTES": raw}).queue_max_bytes == expected


@pytest.mark.timeout(120)
@pytest.mark.parametrize("raw", ["lots", "10XB", "-5MB", "100", "2TiB"])
def test_bad_queue_max_bytes_is_a_config_error(raw: str) -> None:
    """A size that does not parse or falls outside 1 KiB … 1 TiB names the variable, the value
    and what is accepted."""
    with pytest.raises(ConfigError, match=r"^FAPILOG_QUEUE_MAX_BYTES .*64MiB or 500MB"):
        LoggingSettings.from_env({"FAPILOG_QUEUE_MAX_BYTES": raw})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAPILOG_QUEUE_MAXSIZE", "100000000"),
        ("FAPILOG_QUEUE_MAXSIZE", "1000000000000"),
        ("FAPILOG_QUEUE_BATCH_SIZE", "10000000"),
        ("FAPILOG_QUEUE_FLUSH_INTERVAL", "1e10"),
        ("FAPILOG_QUEUE_FLUSH_INTERVAL", "1e-9"),
        ("FAPILOG_QUEUE_BLOCK_TIMEOUT", "1e300"),
        ("FAPILOG_SINK_TIMEOUT", "0"),
        ("FAPILOG_SINK_TIMEOUT", "1e9"),
        ("FAPILOG_SHUTDOWN_TIMEOUT", "-1"),
        ("FAPILOG_SHUTDOWN_TIMEOUT", "nan"),
    ],
)
def test_numeric_extremes_are_config_errors_naming_the_range(variable: str, value: str) -> None:
    """Every numeric setting has both bounds: a value past them is a ConfigError that names the
    variable, the value and the accepted range — never SystemError or OverflowError later."""
    with pytest.raises(ConfigError) as caught:
        LoggingSettings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(variable) and "is not accepted; expected" in message
    assert "<=" in message
