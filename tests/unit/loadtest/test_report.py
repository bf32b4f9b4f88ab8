"""``fapilog.loadtest`` reports: the fixed first lines, PASS/FAIL, the table, the JSON document."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import fapilog
from fapilog.loadtest import SCHEMA, LatencyHistogram, PacedWindow
from fapilog.loadtest._config import LoadTestConfig
from fapilog.loadtest._engine import RunResult
from fapilog.loadtest._report import (
    DEPRECATED_KEYS,
    comparison_table,
    fmt_us,
    json_document,
    text_report,
)


def histogram_of(*samples_ns: int) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for sample in samples_ns:
        histogram.record(sample)
    return histogram


def make_run(
    *,
    strategy: str = "drop",
    attempted: int = 50_000,
    enqueued: int = 49_875,
    dropped: int = 125,
    sampled_out: int = 0,
    delivered: int | None = None,
    latency_ns: int = 42_000,
    waited_ns: tuple[int, ...] = (),
    elapsed_s: float = 5.0,
    config: LoadTestConfig | None = None,
) -> RunResult:
    """A result as the engine would return it, with every call taking ``latency_ns``."""
    config = config or LoadTestConfig()
    non_blocking = LatencyHistogram()
    for _ in range(attempted - len(waited_ns)):
        non_blocking.record(latency_ns)
    waited = histogram_of(*waited_ns)
    everything = LatencyHistogram()
    everything.merge(non_blocking)
    everything.merge(waited)
    window = PacedWindow(
        calls=attempted,
        calls_enqueued=enqueued,
        total_latency_ns=everything.total_ns,
        histogram=everything,
        non_blocking=non_blocking,
        waited=waited,
        waited_calls=waited.count,
        warnings=attempted // 100,
        warnings_enqueued=attempted // 100,
        elapsed_s=elapsed_s,
        offered_total_rate=config.offered_total_rate,
        achieved_total_rate=attempted / elapsed_s,
        max_schedule_lag_ns=1_500_000,
    )
    return RunResult(
        strategy=strategy,
        config=config,
        window=window,
        attempted=attempted,
        enqueued=enqueued,
        dropped=dropped,
        sampled_out=sampled_out,
        delivered=enqueued if delivered is None else delivered,
        delivered_source="memory sink, after drain",
        failed=0,
        lost=0,
        block_waits=waited.count,
        queue_depth_peak=9_876,
        batches=200,
        sink_errors=0,
        retries=0,
        loop_lag=histogram_of(100_000, 200_000, 1_900_000),
        cpu_s=0.5,
        loop_thread_cpu_s=0.4,
    )


def test_first_four_lines_have_the_documented_form() -> None:
    """The report opens with exactly these four lines, thousands separators and µs included."""
    lines = text_report(make_run()).splitlines()
    assert lines[:4] == [
        "Total logs attempted: 50,000",
        "Successfully enqueued: 49,875",
        "Dropped: 125",
        "Avg enqueue latency: 42 µs",
    ]


def test_split_averages_shown_only_when_both_kinds_of_call_occur() -> None:
    """Non-blocking and waited averages get their own line only when both happened."""
    assert "non-blocking calls" not in text_report(make_run())
    report = text_report(
        make_run(attempted=1_000, enqueued=1_000, dropped=0, waited_ns=(2_000_000,))
    )
    assert report.splitlines()[4].startswith("  non-blocking calls: 42 µs avg (999)")
    assert "calls that waited for room: 2,000 µs avg (1)" in report


def test_report_has_every_section() -> None:
    """Then: sampled out, delivered, rates, latency table, lag, CPU, configuration, result."""
    report = text_report(make_run())
    for expected in (
        "Sampled out: 0",
        "Delivered: 49,875 (memory sink, after drain)",
        "Offered total rate: 10,000 logs/s (10 tasks × 1,000 logs/s, 5 s after 1 s warm-up)",
        "Achieved total rate: 10,000 logs/s (100.0% of offered",
        "Queue: depth peak 9,876 of 10,000, calls that waited 0, batches 200",
        "p50",
        "p99.9",
        "Event-loop lag: p50 0.20 ms, p99 1.90 ms, max 1.90 ms",
        "CPU per event: 10 µs (whole process until drained: 8.0 µs on the loop thread, "
        "2.0 µs in other threads)",
        "Configuration: worker=thread sink=memory",
        "Result: PASS",
    ):
        assert expected in report


def test_delivery_shortfall_is_reported() -> None:
    """Delivered below enqueued is never silent."""
    assert "NOT DELIVERED: 5 enqueued" in text_report(make_run(delivered=49_870))


def test_behind_schedule_is_said_plainly() -> None:
    """A run below 99 % of the offered total rate says it fell behind."""
    assert "BEHIND SCHEDULE" not in text_report(make_run(elapsed_s=5.02))
    assert "BEHIND SCHEDULE" in text_report(make_run(elapsed_s=6.0))


@pytest.mark.parametrize(
    ("latency_ns", "elapsed_s", "passed"),
    [
        (42_000, 5.0, True),
        (99_999, 5.0, True),
        (100_000, 5.0, False),  # the average must be below the target
        (42_000, 5.0 / 0.95, True),  # exactly 95 % of the target rate
        (42_000, 5.3, False),  # 94.3 % of the target rate
    ],
)
def test_pass_needs_latency_below_target_at_95_percent_of_target_rate(
    latency_ns: int, elapsed_s: float, passed: bool
) -> None:
    """PASS = average enqueue latency < target and achieved total rate >= 95 % of the target."""
    run = make_run(latency_ns=latency_ns, elapsed_s=elapsed_s)
    assert run.passed is passed
    verdict = "Result: PASS" if passed else "Result: FAIL"
    assert text_report(run).splitlines()[-1].startswith(verdict)


def test_explicit_target_rate_is_used() -> None:
    """--target-rate replaces the offered total rate as the total rate PASS is judged against."""
    run = make_run(config=LoadTestConfig(target_rate=20_000))
    assert run.passed is False
    assert "achieved total rate 10,000 logs/s < 95% of target 20,000 logs/s" in text_report(run)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.84, "0.84"), (1.34, "1.3"), (42.0, "42"), (41.6, "42"), (3456.0, "3,456")],
)
def test_microsecond_formatting(value: float, text: str) -> None:
    """Latencies keep the precision a reader needs, with thousands separators."""
    assert fmt_us(value) == text


def test_comparison_table_has_one_column_per_strategy() -> None:
    """--strategy all prints one table: a column per strategy, a row per number."""
    runs = [
        make_run(strategy="drop"),
        make_run(strategy="block", dropped=0, enqueued=50_000),
        make_run(strategy="sample", sampled_out=300, enqueued=49_700, dropped=0),
    ]
    lines = comparison_table(runs).splitlines()
    assert lines[1].split() == ["drop", "block", "sample"]
    rows = {}
    for line in lines[2:]:
        label, *cells = re.split(r"\s{2,}", line.strip())
        rows[label] = cells
    assert rows["Total logs attempted"] == ["50,000", "50,000", "50,000"]
    assert rows["Successfully enqueued"] == ["49,875", "50,000", "49,700"]
    assert rows["Dropped"] == ["125", "0", "0"]
    assert rows["Sampled out"] == ["0", "0", "300"]
    assert rows["Result"] == ["PASS", "PASS", "PASS"]
    assert rows["Achieved total rate (logs/s)"] == ["10,000", "10,000", "10,000"]
    assert rows["Queue depth peak"] == ["9,876", "9,876", "9,876"]
    assert rows["WARNING enqueued/offered"] == ["500/500", "500/500", "500/500"]


def test_json_document_carries_schema_environment_config_and_numbers() -> None:
    """The JSON has a schema, the environment, the configuration and the report's numbers."""
    config = LoadTestConfig(strategy="drop")
    document = json.loads(json.dumps(json_document(config, [make_run()])))
    assert document["schema"] == SCHEMA
    assert document["environment"]["fapilog_version"] == fapilog.__version__
    for key in ("python", "platform", "cpu_count", "utc_time"):
        assert document["environment"][key]
    assert document["config"]["rate"] == 1000.0
    assert document["config"]["target_rate"] == 10_000
    (run,) = document["runs"]
    assert (run["attempted"], run["enqueued"], run["dropped"], run["sampled_out"]) == (
        50_000,
        49_875,
        125,
        0,
    )
    assert run["avg_enqueue_latency_us"] == pytest.approx(42.0)
    assert run["latency_us"]["all"]["p99_9"] == pytest.approx(42.0, rel=0.01)
    assert run["loop_lag_ms"]["max"] == pytest.approx(1.9)
    assert run["passed"] is True
    assert document["passed"] is True


def test_text_uses_the_glossary_words_only() -> None:
    """The text report and the table say enqueued, total rate and depth peak; none of the old
    words (accepted, high-water mark, a bare "Offered rate"/"Achieved rate") is left."""
    runs = [make_run(strategy="drop", elapsed_s=6.0), make_run(strategy="block")]
    for text in (text_report(runs[0]), comparison_table(runs)):
        assert "accepted" not in text
        assert "high-water" not in text.lower() and "high water" not in text.lower()
        assert "Offered rate" not in text and "Achieved rate" not in text
    assert "BEHIND SCHEDULE: achieved a total rate of 8,333 of 10,000 logs/s offered" in (
        comparison_table(runs)
    )
    assert "could not keep the offered total rate" in text_report(runs[0])


def test_json_has_each_renamed_key_and_its_deprecated_twin() -> None:
    """Every renamed key of a run is present under its new name and, for this release, under
    its old name too with the same value; the run gains no other key."""
    (run,) = json.loads(json.dumps(json_document(LoadTestConfig(), [make_run()])))["runs"]
    assert (run["calls_enqueued"], run["warnings_enqueued"]) == (49_875, 500)
    assert run["offered_total_rate"] == run["achieved_total_rate"] == 10_000
    assert run["queue"]["depth_peak"] == 9_876
    assert run["target"]["total_rate"] == 10_000

    def value(path: str) -> object:
        node: object = run
        for part in path.split("."):
            assert isinstance(node, dict)
            node = node[part]
        return node

    for old, new in DEPRECATED_KEYS.items():
        assert value(old) == value(new), old
    assert set(run) == EXPECTED_RUN_KEYS
    assert set(run["queue"]) == {
        "maxsize",
        "depth_peak",
        "high_water_mark",
        "block_waits",
        "batches",
        "sink_errors",
        "retries",
    }
    assert set(run["target"]) == {"latency_us", "total_rate", "rate", "rate_ratio"}


#: A run's keys in schema fapilog.loadtest/1: the keys before the renames plus the new names.
EXPECTED_RUN_KEYS = {
    "strategy",
    "attempted",
    "enqueued",
    "dropped",
    "sampled_out",
    "delivered",
    "delivered_source",
    "failed",
    "lost",
    "avg_enqueue_latency_us",
    "calls",
    "calls_enqueued",
    "accepted",
    "waited_calls",
    "warnings",
    "warnings_enqueued",
    "warnings_accepted",
    "offered_total_rate",
    "offered_rate",
    "achieved_total_rate",
    "achieved_rate",
    "on_schedule",
    "elapsed_s",
    "max_schedule_lag_ms",
    "latency_us",
    "loop_lag_ms",
    "cpu_us_per_event",
    "cpu_us_per_event_loop_thread",
    "cpu_us_per_event_other_threads",
    "queue",
    "target",
    "payload_bytes",
    "max_bytes",
    "dropped_too_large",
    "peak_rss_mib",
    "rss_growth_mib",
    "passed",
}


def with_rss(run: RunResult, start_kib: int, end_kib: int, too_large: int = 0) -> RunResult:
    return dataclasses.replace(
        run, rss_start_kib=start_kib, rss_end_kib=end_kib, dropped_too_large=too_large
    )


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
