"""``fapilog.loadtest`` parameters: flags, ``LOAD_TEST_*`` variables, defaults, bad values."""

from __future__ import annotations

import pytest

import fapilog
from fapilog.loadtest import main
from fapilog.loadtest._config import LoadTestConfig, UsageError, parse_config

# (flag, environment variable, a bad value, words the one-line error must contain)
BAD_VALUES = [
    ("--concurrency", "LOAD_TEST_CONCURRENCY", "0", "integer >= 1"),
    ("--concurrency", "LOAD_TEST_CONCURRENCY", "ten", "integer >= 1"),
    ("--rate", "LOAD_TEST_RATE", "0", "number > 0"),
    ("--rate", "LOAD_TEST_RATE", "fast", "number > 0"),
    ("--rate", "LOAD_TEST_RATE", "inf", "number > 0"),
    ("--duration", "LOAD_TEST_DURATION", "-1", "number > 0"),
    ("--warmup", "LOAD_TEST_WARMUP", "-0.5", "number >= 0"),
    ("--strategy", "LOAD_TEST_STRATEGY", "lossy", "drop|block|sample|all"),
    ("--maxsize", "LOAD_TEST_MAXSIZE", "0", "integer >= 1"),
    ("--batch-size", "LOAD_TEST_BATCH_SIZE", "1.5", "integer >= 1"),
    ("--flush-interval", "LOAD_TEST_FLUSH_INTERVAL", "0", "number > 0"),
    ("--block-timeout", "LOAD_TEST_BLOCK_TIMEOUT", "never", "'none'"),
    ("--sampling-rate", "LOAD_TEST_SAMPLING_RATE", "1.5", "from 0 to 1"),
    ("--worker", "LOAD_TEST_WORKER", "process", "thread|loop"),
    ("--threads", "LOAD_TEST_THREADS", "-1", "integer >= 0"),
    ("--sink", "LOAD_TEST_SINK", "kafka", "memory|null|stdout|file:PATH"),
    ("--sink", "LOAD_TEST_SINK", "file:", "memory|null|stdout|file:PATH"),
    ("--sink-delay", "LOAD_TEST_SINK_DELAY", "-0.01", "number >= 0"),
    ("--target-latency-us", "LOAD_TEST_TARGET_LATENCY_US", "0", "number > 0"),
    ("--target-rate", "LOAD_TEST_TARGET_RATE", "lots", "number > 0"),
]


def test_defaults() -> None:
    """With no flags and no variables: 10 tasks × 1,000 logs/s for 5 s, drop, memory sink."""
    config = parse_config([], {})
    assert config == LoadTestConfig()
    assert (config.concurrency, config.rate, config.duration, config.warmup) == (10, 1000, 5, 1)
    assert (config.strategy, config.sink, config.worker, config.threads) == (
        "drop",
        "memory",
        "thread",
        0,
    )
    assert config.offered_total_rate == 10_000
    assert config.effective_target_rate == 10_000
    assert config.target_latency_us == 100
    assert config.check is False


def test_every_parameter_reads_its_environment_variable() -> None:
    """Each LOAD_TEST_* variable sets its parameter."""
    environ = {
        "LOAD_TEST_CONCURRENCY": "3",
        "LOAD_TEST_RATE": "250.5",
        "LOAD_TEST_DURATION": "2",
        "LOAD_TEST_WARMUP": "0",
        "LOAD_TEST_STRATEGY": "all",
        "LOAD_TEST_MAXSIZE": "500",
        "LOAD_TEST_BATCH_SIZE": "64",
        "LOAD_TEST_FLUSH_INTERVAL": "0.05",
        "LOAD_TEST_BLOCK_TIMEOUT": "none",
        "LOAD_TEST_SAMPLING_RATE": "0.5",
        "LOAD_TEST_WORKER": "loop",
        "LOAD_TEST_THREADS": "2",
        "LOAD_TEST_SINK": "memory",
        "LOAD_TEST_SINK_DELAY": "0.01",
        "LOAD_TEST_JSON": "out.json",
        "LOAD_TEST_TARGET_LATENCY_US": "50",
        "LOAD_TEST_TARGET_RATE": "1000",
        "LOAD_TEST_CHECK": "yes",
    }
    config = parse_config([], environ)
    assert config == LoadTestConfig(
        concurrency=3,
        rate=250.5,
        duration=2.0,
        warmup=0.0,
        strategy="all",
        maxsize=500,
        batch_size=64,
        flush_interval=0.05,
        block_timeout=None,
        sampling_rate=0.5,
        worker="loop",
        threads=2,
        sink="memory",
        sink_delay=0.01,
        json="out.json",
        target_latency_us=50.0,
        target_rate=1000.0,
        check=True,
    )
    assert config.strategies == ("drop", "block", "sample")
    assert config.producers == 5


def test_flag_wins_over_environment_variable() -> None:
    """A flag overrides the variable of the same parameter; other variables still apply."""
    environ = {"LOAD_TEST_RATE": "250", "LOAD_TEST_CONCURRENCY": "3"}
    config = parse_config(["--rate", "400"], environ)
    assert (config.rate, config.concurrency) == (400.0, 3)


def test_flag_wins_even_when_the_variable_is_bad() -> None:
    """A bad variable that a flag overrides is never parsed, so it is no error."""
    assert parse_config(["--rate", "400"], {"LOAD_TEST_RATE": "fast"}).rate == 400.0


@pytest.mark.parametrize(("flag", "env", "value", "accepted"), BAD_VALUES)
def test_bad_flag_value_names_the_flag_and_what_it_accepts(
    flag: str, env: str, value: str, accepted: str
) -> None:
    """A bad flag value is one line naming the flag, the accepted values and the value given."""
    with pytest.raises(UsageError) as caught:
        parse_config([flag, value], {})
    message = str(caught.value)
    assert "\n" not in message
    assert flag in message
    assert accepted in message
    assert repr(value) in message


@pytest.mark.parametrize(("flag", "env", "value", "accepted"), BAD_VALUES)
def test_bad_variable_value_names_the_variable_and_the_flag(
    flag: str, env: str, value: str, accepted: str
) -> None:
    """A bad LOAD_TEST_* value names the variable and its flag, on one line."""
    with pytest.raises(UsageError) as caught:
        parse_config([], {env: value})
    message = str(caught.value)
    assert "\n" not in message
    assert env in message
    assert flag in message
    assert accepted in message


@pytest.mark.parametrize(("flag", "env", "value", "accepted"), BAD_VALUES)
def test_main_exits_2_with_one_line_on_stderr(
    flag: str, env: str, value: str, accepted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() turns a bad value into exit status 2 and exactly one stderr line naming the flag."""
    assert main([flag, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert flag in lines[0]


def test_bad_check_variable_is_rejected() -> None:
    """LOAD_TEST_CHECK accepts the usual booleans only."""
    with pytest.raises(UsageError, match="LOAD_TEST_CHECK"):
        parse_config([], {"LOAD_TEST_CHECK": "maybe"})


@pytest.mark.parametrize(("text", "expected"), [("0", False), ("off", False), ("TRUE", True)])
def test_check_variable_booleans(text: str, expected: bool) -> None:
    """LOAD_TEST_CHECK understands 1/0, true/false, yes/no, on/off in any case."""
    assert parse_config([], {"LOAD_TEST_CHECK": text}).check is expected


def test_check_flag() -> None:
    """--check turns the check on."""
    assert parse_config(["--check"], {}).check is True


def test_sink_delay_needs_the_memory_sink() -> None:
    """--sink-delay is a property of the debug sink; with another sink it is an error."""
    with pytest.raises(UsageError, match="--sink-delay"):
        parse_config(["--sink", "null", "--sink-delay", "0.1"], {})


def test_file_sink_keeps_its_path() -> None:
    """--sink file:PATH keeps the path after the prefix."""
    assert parse_config(["--sink", "file:/tmp/x.log"], {}).sink == "file:/tmp/x.log"


@pytest.mark.parametrize("argv", [["--bogus"], ["--rate"], ["extra"]])
def test_argparse_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown flags, missing values and stray arguments also exit 2 with one line."""
    assert main(argv) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_target_rate_defaults_to_the_offered_total_rate() -> None:
    """Without --target-rate, PASS is judged against the rate the run offers."""
    config = parse_config(["--concurrency", "4", "--threads", "1", "--rate", "100"], {})
    assert config.effective_target_rate == 500.0
    assert config.as_dict()["target_rate"] == 500.0
    assert parse_config(["--target-rate", "42"], {}).effective_target_rate == 42.0


LIBRARY_DEFAULT_MAX_BYTES = fapilog.LoggingSettings().queue_max_bytes


def test_defaults_are_no_payload_and_the_librarys_budget() -> None:
    """Without flags: no payload field, and queue_max_bytes is whatever the library defaults to."""
    config = parse_config([], {})
    assert config.payload_bytes == 0
    assert config.max_bytes == LIBRARY_DEFAULT_MAX_BYTES == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("100000", 100_000), ("1MB", 1_000_000), ("10MiB", 10 * 2**20), ("1_000", 1000)],
)
def test_payload_bytes_accepts_integers_and_sizes(text: str, value: int) -> None:
    """--payload-bytes and LOAD_TEST_PAYLOAD_BYTES read integers and size strings alike."""
    assert parse_config(["--payload-bytes", text], {}).payload_bytes == value
    assert parse_config([], {"LOAD_TEST_PAYLOAD_BYTES": text}).payload_bytes == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("1024", 1024), ("32MiB", 32 * 2**20), ("500MB", 500_000_000), ("1TiB", 2**40)],
)
def test_max_bytes_accepts_what_queue_max_bytes_accepts(text: str, value: int) -> None:
    """--max-bytes and LOAD_TEST_MAX_BYTES read what FAPILOG_QUEUE_MAX_BYTES reads."""
    assert parse_config(["--max-bytes", text], {}).max_bytes == value
    assert parse_config([], {"LOAD_TEST_MAX_BYTES": text}).max_bytes == value
    assert fapilog.LoggingSettings(queue_max_bytes=text).queue_max_bytes == value


def test_flag_beats_environment() -> None:
    """As for every parameter, the flag wins over its LOAD_TEST_* variable."""
    config = parse_config(
        ["--payload-bytes", "5", "--max-bytes", "2KiB"],
        {"LOAD_TEST_PAYLOAD_BYTES": "7", "LOAD_TEST_MAX_BYTES": "4KiB"},
    )
    assert (config.payload_bytes, config.max_bytes) == (5, 2048)


@pytest.mark.parametrize(
    ("flag", "value", "accepted"),
    [
        ("--payload-bytes", "-1", "from 0 to 1GiB"),
        ("--payload-bytes", "lots", "size such as 1MB"),
        ("--payload-bytes", "2GiB", "from 0 to 1GiB"),
        ("--payload-bytes", "1.5.5", "integer number of characters"),
        ("--max-bytes", "1000", "from 1KiB to 1TiB"),
        ("--max-bytes", "2TiB", "from 1KiB to 1TiB"),
        ("--max-bytes", "64 furlongs", "size such as 64MiB or 500MB"),
        ("--max-bytes", "", "integer number of bytes"),
    ],
)
def test_bad_values_name_flag_value_and_what_is_accepted(
    flag: str, value: str, accepted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value: UsageError naming the flag, the value and the accepted form; main exits 2."""
    with pytest.raises(UsageError) as caught:
        parse_config([flag, value], {})
    message = str(caught.value)
    assert flag in message
    assert repr(value) in message
    assert accepted in message
    assert main([flag, value]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == message


def test_bad_environment_value_names_variable_and_flag() -> None:
    """A bad LOAD_TEST_MAX_BYTES names the variable and its flag."""
    with pytest.raises(UsageError, match=r"LOAD_TEST_MAX_BYTES \(--max-bytes\).*'tiny'"):
        parse_config([], {"LOAD_TEST_MAX_BYTES": "tiny"})


def test_strategy_and_worker_choices_are_the_settings_types() -> None:
    """The load test accepts exactly the settings' overflow strategies and worker kinds (their
    Literal types, one list), and `--strategy all` runs the strategies in the settings' order."""
    from typing import get_args

    from fapilog._settings import OVERFLOW_STRATEGIES, WORKER_KINDS, Overflow, WorkerKind

    assert get_args(Overflow) == OVERFLOW_STRATEGIES
    assert get_args(WorkerKind) == WORKER_KINDS
    assert parse_config(["--strategy", "all"], {}).strategies == get_args(Overflow)
    for worker in get_args(WorkerKind):
        assert parse_config(["--worker", worker], {}).worker == worker
