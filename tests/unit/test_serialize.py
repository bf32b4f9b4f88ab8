"""Serialization: one valid JSON line per event whatever it holds, with a counted repr fallback."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest

from fapilog._serialize import Serializer

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
