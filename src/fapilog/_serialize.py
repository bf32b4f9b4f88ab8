"""Record → one JSON line (``bytes``), done once per event by the worker, never by the caller."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fapilog._queue import Record

_MAX_DEPTH = 32


class Serializer:
    """Turns records into JSON lines; counts every value it had to replace with its ``repr``.

    Uses ``orjson`` when importable (the ``fapilog[fast]`` extra), the standard library's ``json``
    otherwise. Whatever a record holds, ``dumps`` returns a valid JSON line and never raises.
    Only the worker calls it, so the counter needs no lock.
    """

    def __init__(self, use_orjson: bool | None = None) -> None:
        self.fallbacks = 0
        self._second = -1
        self._prefix = ""
        self._dumps = self._pick_backend(use_orjson)

    @property
    def backend(self) -> str:
        return "orjson" if self._dumps.__name__ == "_dumps_orjson" else "json"

    def _pick_backend(self, use_orjson: bool | None) -> Callable[[dict[str, Any]], bytes]:
        if use_orjson is not False:
            try:
                import orjson
            except ImportError:
                if use_orjson:
                    raise
            else:
                option = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
                dumps = orjson.dumps
                default = self._default

                def _dumps_orjson(record: dict[str, Any]) -> bytes:
                    return dumps(record, default=default, option=option)

                return _dumps_orjson
        encode = json.JSONEncoder(
            default=self._default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode

        def _dumps_json(record: dict[str, Any]) -> bytes:
            return (encode(record) + "\n").encode("utf-8", "backslashreplace")

        return _dumps_json

    def _default(self, value: object) -> str:
        self.fallbacks += 1
        try:
            return repr(value)
        except Exception:
            return f"<unrepresentable {type(value).__name__}>"

    def timestamp(self, seconds: float) -> str:
        """RFC 3339 UTC with microseconds; the date part is cached per second."""
        whole = int(seconds)
        micros = int((seconds - whole) * 1_000_000)
        if whole != self._second:
            self._second = whole
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        return f"{self._prefix}.{micros:06d}Z"

    def dumps(self, record: Record) -> bytes:
        """One JSON line for a queued record; never raises."""
        seconds, level, event, context, bound, fields = record
        merged = {"timestamp": self.timestamp(seconds), "level": level, "event": event}
        if context:
            merged.update(context)
        if bound:
            merged.update(bound)
        if fields:
            merged.update(fields)
        try:
            return self._dumps(merged)
        except Exception:
            # Non-string keys the backend refuses, circular references, NaN, huge ints …
            self.fallbacks += 1
        try:
            return _dumps_safe(_sanitize(merged, 0, set()))
        except Exception:  # the last resort: a fixed line that cannot fail
            return _dumps_safe(
                {
                    "timestamp": merged["timestamp"],
                    "level": _safe_str(level),
                    "event": "<unserializable record>",
                }
            )


def _dumps_safe(record: Any) -> bytes:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_safe_repr)
    return (text + "\n").encode("utf-8", "backslashreplace")


def _sanitize(value: Any, depth: int, seen: set[int]) -> Any:
    """A JSON-safe copy: str keys, finite floats, no cycles, ``repr`` for everything else."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        # Past ~4,300 digits int -> str raises (CPython's int_max_str_digits).
        return value if value.bit_length() < 4_000 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= _MAX_DEPTH or id(value) in seen:
        return _safe_repr(value)
    if isinstance(value, dict | list | tuple):
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                return {_safe_str(k): _sanitize(v, depth + 1, seen) for k, v in value.items()}
            return [_sanitize(v, depth + 1, seen) for v in value]
        finally:
            seen.discard(id(value))
    return _safe_repr(value)


def _safe_str(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return _safe_repr(value)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"
