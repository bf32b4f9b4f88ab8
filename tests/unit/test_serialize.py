"""Serialization: one valid JSON line per event whatever it holds, with a counted repr fallback."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fapilog
from fapilog import LoggingSettings
from fapilog._serialize import Serializer
from fapilog.sinks import MemorySink

BACKENDS = [False] + ([True] if importlib.util.find_spec("orjson") else [])


def _line(serializer: Serializer, **fields: Any) -> dict[str, Any]:
    raw = serializer.dumps((1_700_000_000.123456, "info", "e", {}, {}, fields))
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_timestamp_is_rfc3339_utc_with_microseconds(use_orjson: bool) -> None:
    """The float timestamp becomes YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC."""
    record = _line(Serializer(use_orjson))
    assert record["timestamp"] == "2023-11-14T22:13:20.123456Z"
    assert list(record)[:3] == ["timestamp", "level", "event"]


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_unserializable_values_become_repr_and_are_counted(use_orjson: bool) -> None:
    """Objects JSON cannot hold are written as repr() and counted as fallbacks."""
    serializer = Serializer(use_orjson)

    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    record = _line(serializer, thing=Thing(), nested={"deep": [Thing()]})
    assert record["thing"] == "<Thing>"
    assert record["nested"] == {"deep": ["<Thing>"]}
    assert serializer.fallbacks == 2


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_hostile_values_still_give_valid_json(use_orjson: bool) -> None:
    """Non-string keys, NaN, cycles, huge ints, a repr that raises, huge strings: valid JSON."""
    serializer = Serializer(use_orjson)
    cycle: list[Any] = []
    cycle.append(cycle)

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    record = _line(
        serializer,
        keys={(1, 2): "tuple key", 3: "int key"},
        nan=float("nan"),
        cycle=cycle,
        big=10**40,
        broken=Broken(),
        huge="x" * 1_000_000,
    )
    assert record["big"] in (10**40, str(10**40))
    assert record["broken"] == "<unrepresentable Broken>"
    assert len(record["huge"]) == 1_000_000
    assert "(1, 2)" in record["keys"]
    assert serializer.fallbacks >= 1


def test_context_bound_and_call_fields_merge_in_order() -> None:
    """Call fields override bound fields, which override context fields."""
    serializer = Serializer(False)
    raw = serializer.dumps((0.0, "info", "e", {"a": 1, "b": 1}, {"b": 2, "c": 2}, {"c": 3}))
    assert json.loads(raw) == {
        "timestamp": "1970-01-01T00:00:00.000000Z",
        "level": "info",
        "event": "e",
        "a": 1,
        "b": 2,
        "c": 3,
    }


def test_non_string_event_is_serialized() -> None:
    """An event that is not a string is still written (as JSON, or its repr)."""
    record = json.loads(Serializer(False).dumps((0.0, "info", {"k": object()}, {}, {}, {})))
    assert re.match(r"<object object at 0x[0-9a-f]+>", record["event"]["k"])


# -- exact bytes, the batch API and the timestamp cache --------------------------------------

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
_FIELDS = {"seq": 1, "route": "/api/orders", "status": 200}


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_exact_bytes_of_a_plain_record(use_orjson: bool) -> None:
    """The wire format byte for byte: compact JSON, fixed field order, one trailing newline."""
    raw = Serializer(use_orjson).dumps((T0 + 0.123456, "info", "req", {}, {}, _FIELDS))
    assert raw == (
        b'{"timestamp":"2023-11-14T22:13:20.123456Z","level":"info","event":"req",'
        b'"seq":1,"route":"/api/orders","status":200}\n'
    )


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_later_keys_replace_earlier_ones_in_their_place(use_orjson: bool) -> None:
    """Context, then bound, then call fields: a later key replaces the value, not the position;
    a field named level or timestamp replaces the built-in one where it stands."""
    record = (T0, "info", "e", {"a": 1, "b": 1, "level": "ctx"}, {"b": 2, "c": 2}, {"c": 3})
    fields_ts = (T0, "info", "e", {}, {"x": 1}, {"timestamp": "mine", "x": 2})
    serializer = Serializer(use_orjson)
    assert serializer.dumps(record) == (
        b'{"timestamp":"2023-11-14T22:13:20.000000Z","level":"ctx","event":"e","a":1,"b":2,"c":3}\n'
    )
    assert serializer.dumps(fields_ts) == b'{"timestamp":"mine","level":"info","event":"e","x":2}\n'


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_non_ascii_and_non_string_keys(use_orjson: bool) -> None:
    """Non-ASCII text is written as UTF-8 (not escaped); int/None/bool keys become JSON
    strings on both backends; a tuple key sends the record through the counted fallback."""
    serializer = Serializer(use_orjson)
    raw = serializer.dumps((T0, "info", "é", {}, {}, {1: "a", None: "b", False: "ü"}))
    assert (
        raw
        == (
            '{"timestamp":"2023-11-14T22:13:20.000000Z","level":"info","event":"é",'
            '"1":"a","null":"b","false":"ü"}\n'
        ).encode()
    )
    assert serializer.fallbacks == 0
    raw = serializer.dumps((T0, "info", "e", {}, {}, {(1, 2): "t"}))
    assert (
        raw
        == b'{"timestamp":"2023-11-14T22:13:20.000000Z","level":"info","event":"e","(1, 2)":"t"}\n'
    )
    assert serializer.fallbacks == 1


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (T0, "2023-11-14T22:13:20.000000Z"),
        (T0 + 0.999999, "2023-11-14T22:13:20.999999Z"),
        # The nearest double to x.9999996 is x.99999952…: truncated, never rounded up into
        # the next second, never seven digits.
        (1_700_000_000.9999996, "2023-11-14T22:13:20.999999Z"),
        (1_700_000_000.9999999, "2023-11-14T22:13:21.000000Z"),  # this double *is* x+1.0
        (T0 + 1.0, "2023-11-14T22:13:21.000000Z"),
        (0.0, "1970-01-01T00:00:00.000000Z"),
        (0.9999999999999999, "1970-01-01T00:00:00.999999Z"),
        (1e-7, "1970-01-01T00:00:00.000000Z"),
        (-0.5, "1969-12-31T23:59:59.500000Z"),
        (4_102_444_800.25, "2100-01-01T00:00:00.250000Z"),
    ],
)
def test_timestamp_edges(seconds: float, expected: str) -> None:
    """Second boundaries, the last microsecond, tiny and negative times: RFC 3339, truncated."""
    serializer = Serializer(False)
    assert serializer.timestamp(seconds) == expected
    line = json.loads(serializer.dumps((seconds, "info", "e", {}, {}, {})))
    assert line["timestamp"] == expected


def _reference_timestamp(seconds: float) -> str:
    """The documented format, written the obvious way (no cache): the microseconds of the
    fraction, truncated."""
    whole = math.floor(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


@given(st.lists(st.floats(min_value=0, max_value=2**33, allow_nan=False), max_size=50))
def test_timestamp_cache_never_leaks_between_seconds(times: list[float]) -> None:
    """Whatever order the times come in (back and forth across seconds), each timestamp is
    what the uncached formula gives: the per-second cache is invisible."""
    serializer = Serializer(False)
    for seconds in times:
        assert serializer.timestamp(seconds) == _reference_timestamp(seconds)
    records = [(s, "info", "e", {}, {}, {}) for s in times]
    stamps = [json.loads(line)["timestamp"] for line in Serializer(False).dumps_batch(records)]
    assert stamps == [_reference_timestamp(s) for s in times]


class _Unmergeable:
    """A field mapping whose keys() raises: the record must still be written."""

    def keys(self) -> Any:
        raise RuntimeError("no keys")

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __repr__(self) -> str:
        return "<Unmergeable>"


def _mixed_records() -> list[Any]:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    cycle: list[Any] = []
    cycle.append(cycle)
    return [
        (T0 + 0.5, "info", "plain", {}, {}, _FIELDS),
        (T0 + 0.75, "warning", "ctx", {"request_id": "r-1"}, {"logger": "api"}, {"n": 2}),
        (T0 + 1.1, "info", "thing", {}, {}, {"thing": Thing()}),
        (T0 + 1.2, "info", "cycle", {}, {}, {"cycle": cycle}),
        (T0 + 1.3, "info", "tuple key", {}, {}, {(1, 2): "t"}),
        (math.nan, "info", "bad clock", {}, {}, {}),
        (T0 + 0.25, "error", "back in time", {"a": 1}, {}, {"nan": math.nan}),
        (T0 + 2.0, "info", "unmergeable", _Unmergeable(), {}, {"ok": True}),
        (T0 + 2.5, "info", "after", {}, {}, {"big": 10**40}),
    ]


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_dumps_batch_is_dumps_per_record(use_orjson: bool) -> None:
    """dumps_batch gives one line per record, in order, byte for byte what dumps gives, with
    the same fallback count: hostile records fall back alone, the rest are untouched."""
    records = _mixed_records()
    one, batch = Serializer(use_orjson), Serializer(use_orjson)
    expected = [one.dumps(record) for record in records]
    lines = batch.dumps_batch(records)
    assert lines == expected
    assert batch.fallbacks == one.fallbacks >= 5  # thing, cycle, tuple key, unmergeable, +1
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    parsed = [json.loads(line) for line in lines]
    assert [p["event"] for p in parsed] == [r[2] for r in records]
    assert parsed[0] == {
        "timestamp": "2023-11-14T22:13:20.500000Z",
        "level": "info",
        "event": "plain",
        **_FIELDS,
    }
    assert parsed[1]["request_id"] == "r-1" and parsed[1]["logger"] == "api"
    assert parsed[5]["timestamp"] == "nan"
    assert parsed[6]["timestamp"] == "2023-11-14T22:13:20.250000Z"
    assert parsed[7]["ok"] is True and parsed[7]["timestamp"] == "2023-11-14T22:13:22.000000Z"
    assert parsed[7]["<unmergeable _Unmergeable>"] == "<Unmergeable>"
    assert Serializer(use_orjson).dumps_batch([]) == []


@pytest.mark.parametrize("use_orjson", BACKENDS)
def test_a_cycle_is_one_counted_fallback(use_orjson: bool) -> None:
    """A self-referencing value costs exactly one fallback on either backend, and the line
    stays valid JSON with the rest of the record intact."""
    serializer = Serializer(use_orjson)
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    line = json.loads(serializer.dumps((T0, "info", "e", {}, {}, {"c": cycle, "n": 1})))
    assert line["n"] == 1 and line["event"] == "e"
    assert serializer.fallbacks == 1


def test_backend_names() -> None:
    """``backend`` says which encoder runs: "json" when orjson is refused or missing."""
    assert Serializer(False).backend == "json"
    if importlib.util.find_spec("orjson"):
        assert Serializer(True).backend == "orjson"
        assert Serializer().backend == "orjson"


@pytest.mark.timeout(120)
def test_max_field_chars_cuts_long_strings_with_a_visible_marker() -> None:
    """With ``max_field_chars``, every top-level string value longer than the limit (the event
    included) is cut in the worker, marked with how much was left out, and counted; shorter
    values and other types are untouched."""
    sink = MemorySink(keep=5)
    fapilog.configure_logging(sinks=(sink,), max_field_chars=100)
    fapilog.log.info("e" * 150, body="b" * 10_000, short="ok", n=12345)
    assert fapilog.flush(5)
    (record,) = sink.records
    assert record["event"] == "e" * 100 + "…[+50 chars]"
    assert record["body"] == "b" * 100 + "…[+9900 chars]"
    assert (record["short"], record["n"]) == ("ok", 12345)
    assert fapilog.stats().truncated_values == 2


@pytest.mark.timeout(120)
def test_max_field_chars_is_off_by_default() -> None:
    """By default nothing is cut: a 300,000-character value is written whole."""
    sink = MemorySink(keep=1)
    fapilog.configure_logging(sinks=(sink,))
    fapilog.log.info("e", body="z" * 300_000)
    assert fapilog.flush(5)
    assert len(sink.records[0]["body"]) == 300_000
    assert LoggingSettings.from_env({"FAPILOG_MAX_FIELD_CHARS": "none"}).max_field_chars is None
