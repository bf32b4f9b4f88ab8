"""``--payload-bytes``, ``--max-bytes`` and the peak-RSS report of ``fapilog.loadtest``."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

import fapilog
from fapilog.loadtest import main, paced_window
from fapilog.loadtest._config import LoadTestConfig, UsageError, parse_config
from fapilog.loadtest._engine import RunResult, peak_rss_kib, run_strategy
from fapilog.loadtest._report import comparison_table, json_document, text_report
from fapilog.loadtest._window import PAYLOAD_SPREAD, _payload, payload_source
from fapilog.sinks import MemorySink
from tests.unit.test_loadtest_report import make_run

LIBRARY_DEFAULT_MAX_BYTES = fapilog.LoggingSettings().queue_max_bytes


def with_rss(run: RunResult, start_kib: int, end_kib: int, too_large: int = 0) -> RunResult:
    return dataclasses.replace(
        run, rss_start_kib=start_kib, rss_end_kib=end_kib, dropped_too_large=too_large
    )


# --- parameters ---------------------------------------------------------------------------


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


# --- payloads -----------------------------------------------------------------------------


def test_each_payload_is_a_fresh_string_of_exactly_n_characters() -> None:
    """Consecutive calls get distinct str objects of N characters, differing in content."""
    n = 100_000
    source = payload_source(n)
    assert len(source) == n + PAYLOAD_SPREAD
    first, second = _payload(source, n, 0), _payload(source, n, 1)
    assert len(first) == len(second) == n
    assert first is not second and first is not source
    assert first != second
    assert _payload(source, n, PAYLOAD_SPREAD) == first  # content repeats, the object does not
    assert _payload(source, n, PAYLOAD_SPREAD) is not first


@pytest.mark.timeout(30)
def test_paced_window_sends_the_payload_field_on_every_call() -> None:
    """With payload_bytes every event carries 'payload' of that length; without it, none."""

    async def scenario(payload_bytes: int) -> list[dict[str, object]]:
        sink = MemorySink(keep=100)
        fapilog.configure_logging(sinks=(sink,))
        await paced_window(40, 2000.0, 2, payload_bytes=payload_bytes)
        await fapilog.ashutdown()
        return sink.records

    records = asyncio.run(scenario(3000))
    assert len(records) == 40
    assert all(len(str(r["payload"])) == 3000 for r in records)
    assert len({str(r["payload"])[:50] for r in records}) > 1
    assert all("payload" not in r for r in asyncio.run(scenario(0)))


def test_paced_window_rejects_a_negative_payload() -> None:
    """payload_bytes < 0 is a programming error, refused before any call."""
    with pytest.raises(ValueError, match="payload_bytes"):
        asyncio.run(paced_window(1, 10.0, payload_bytes=-1))


@pytest.mark.timeout(60)
def test_events_larger_than_the_budget_are_counted_too_large_end_to_end() -> None:
    """A 4,000-char payload against a 2 KiB budget: every event of the measured window dropped
    as too large, reported. (The warm-up lets fapilog see its first large event: sizes are
    charged from then on.)"""
    config = parse_config(
        [
            "--payload-bytes",
            "4000",
            "--max-bytes",
            "2KiB",
            "--concurrency",
            "1",
            "--rate",
            "200",
            "--duration",
            "0.2",
            "--warmup",
            "0.3",
        ],
        {},
    )
    run = asyncio.run(run_strategy(config, "drop"))
    assert run.attempted == 40
    assert run.dropped_too_large == run.dropped == 40
    assert run.enqueued == run.delivered == 0
    assert run.rss_start_kib is not None and run.rss_end_kib is not None
    assert 0 < run.rss_start_kib <= run.rss_end_kib
    assert "Dropped as too large: 40 (each alone over queue_max_bytes 2,048 bytes" in (
        text_report(run)
    )
    assert json_document(config, [run])["runs"][0]["dropped_too_large"] == 40


# --- peak RSS -----------------------------------------------------------------------------


def test_peak_rss_kib_is_the_processes_peak_and_never_falls() -> None:
    """ru_maxrss in KiB: a plausible size, never falling, and at least the 64 MiB held resident."""
    before = peak_rss_kib()
    assert before is not None and 1024 < before < 64 * 2**20
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    after = peak_rss_kib()
    del block
    assert after is not None and after >= before
    assert peak_rss_kib() == pytest.approx(after, abs=8 * 1024)
    assert after >= 60 * 1024


def test_text_report_states_process_peak_growth_and_budget() -> None:
    """One line: process peak MiB, the growth during the run and queue_max_bytes in MiB."""
    config = LoadTestConfig(payload_bytes=1_000_000, max_bytes=32 * 2**20)
    report = text_report(with_rss(make_run(config=config), 40 * 1024, 120 * 1024))
    assert (
        "Peak RSS: 120 MiB process peak (ru_maxrss, since the process started; "
        "+80 MiB during the run; queue_max_bytes 32 MiB)"
    ) in report
    assert "payload_bytes=1,000,000 max_bytes=33,554,432" in report
    assert "Dropped as too large" not in report


def test_text_report_shows_dropped_too_large_only_when_non_zero() -> None:
    """A non-zero dropped_too_large gets its own line, after the four fixed lines."""
    report = text_report(with_rss(make_run(), 1024, 2048, too_large=7))
    lines = report.splitlines()
    assert lines[2] == "Dropped: 125"
    assert any(line.startswith("Dropped as too large: 7 (") for line in lines[4:])


def test_text_report_without_rss_says_unknown() -> None:
    """Where ru_maxrss is unavailable the line says so instead of inventing a number."""
    report = text_report(make_run())
    assert "Peak RSS: unknown" in report
    assert "queue_max_bytes 64 MiB" in report


def test_comparison_table_has_peak_rss_rows_and_the_lifetime_caveat() -> None:
    """--strategy all: a peak RSS row and a growth row per strategy, and the process-peak note."""
    runs = [
        with_rss(make_run(strategy="drop"), 30 * 1024, 100 * 1024),
        with_rss(make_run(strategy="block"), 100 * 1024, 150 * 1024, too_large=3),
        with_rss(make_run(strategy="sample"), 150 * 1024, 150 * 1024),
    ]
    table = comparison_table(runs)
    rows = {line.strip().split("  ")[0]: line.split() for line in table.splitlines()}
    assert rows["Peak RSS, process (MiB)"][-3:] == ["100", "150", "150"]
    assert rows["growth during run (MiB)"][-3:] == ["+70", "+50", "+0"]
    assert rows["Dropped as too large"][-3:] == ["0", "3", "0"]
    assert "lifetime peak (ru_maxrss)" in table
    assert "run one strategy per process" in table


def test_comparison_table_omits_too_large_row_when_all_zero() -> None:
    """The 'Dropped as too large' row appears only when some strategy dropped such an event."""
    table = comparison_table([with_rss(make_run(strategy=s), 1, 2) for s in ("drop", "block")])
    assert "Dropped as too large" not in table


def test_json_runs_carry_rss_budget_and_payload_fields() -> None:
    """Each JSON run object has peak_rss_mib, rss_growth_mib, max_bytes, payload_bytes."""
    config = LoadTestConfig(payload_bytes=10_000_000, max_bytes=2**25)
    run = with_rss(make_run(config=config), 51_200, 512_000, too_large=2)
    document = json.loads(json.dumps(json_document(config, [run])))
    assert document["schema"] == "fapilog.loadtest/1"
    (run_doc,) = document["runs"]
    assert run_doc["peak_rss_mib"] == 500.0
    assert run_doc["rss_growth_mib"] == 450.0
    assert run_doc["max_bytes"] == 2**25
    assert run_doc["payload_bytes"] == 10_000_000
    assert run_doc["dropped_too_large"] == 2
    assert document["config"]["max_bytes"] == 2**25
    assert document["config"]["payload_bytes"] == 10_000_000
    unknown = json_document(LoadTestConfig(), [make_run()])["runs"][0]
    assert unknown["peak_rss_mib"] is None and unknown["rss_growth_mib"] is None
