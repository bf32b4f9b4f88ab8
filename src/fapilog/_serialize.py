"""Record → one JSON line (``bytes``), done once per event by the worker, never by the caller."""

from __future__ import annotations

import json
import json.encoder
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fapilog._queue import Record

#: ``encode(obj, default, option) -> bytes``: one JSON document, no newline.
_Encode = Callable[[Any, Callable[[Any], Any], int], bytes]

_MAX_DEPTH = 32
#: Appended by copying (``line + b"\n"``) rather than with orjson's OPT_APPEND_NEWLINE, on
#: purpose: orjson returns a buffer over-allocated with malloc and shrunk in place, and a batch of
#: those kept alive until the sink has written them fragments the heap; glibc then trims and
#: regrows it every batch (page faults). The copy is exact-size and small enough for pymalloc,
#: and orjson's buffer is freed at once and reused by the next record: about 1.2 µs less per
#: record on the reference machine for a ~40-byte copy (``python -m bench.load.serialize_cost``).
_NEWLINE = b"\n"
#: prefix ("2026-11-29T12:00:00.") + microseconds. ``%d`` truncates the float itself, which is
#: cheaper than ``int()`` + an f-string (measured); ``(seconds - start)`` is exact in binary, so
#: the digits are the fraction's microseconds, truncated (never rounded into the next second).
_STAMP = "%s%06dZ"


class Serializer:
    """Turns records into JSON lines; counts every value it had to replace with its ``repr``.

    Uses ``orjson`` when importable (the ``fapilog[fast]`` extra), the standard library's ``json``
    otherwise. Whatever a record holds, ``dumps`` and ``dumps_batch`` return valid JSON lines and
    never raise. Only the consumer calls them (one at a time), so the counter needs no lock.

    A line is ``timestamp``, ``level``, ``event``, then the context, bound and call fields in
    that order; a later key replaces an earlier one in the earlier one's position (a field named
    ``level`` replaces the level). The timestamp is RFC 3339 UTC with microseconds, truncated
    (never rounded up into the next second): ``2026-11-29T12:00:00.123456Z``.
    """

    def __init__(self, use_orjson: bool | None = None, max_field_chars: int | None = None) -> None:
        self.fallbacks = 0
        #: ``max_field_chars``: top-level string values longer than this are cut (None: never).
        self.max_field_chars = max_field_chars
        #: Values cut to ``max_field_chars``.
        self.truncated = 0
        # The second the cached prefix belongs to, as [start, end) floats: one comparison pair
        # per record instead of int() + strftime; a new prefix costs ~2 µs once per second.
        self._start = math.inf
        self._end = -math.inf
        self._prefix = ""
        self.backend, self._encode, self._option = self._pick_backend(use_orjson)

    def _pick_backend(self, use_orjson: bool | None) -> tuple[str, _Encode, int]:
        """The backend's ``encode(obj, default, option) -> bytes`` (no newline), and its option.

        orjson's own function is used as is and called with positional arguments: a wrapper or
        a ``functools.partial`` with keywords costs more per record than orjson's encoding.
        """
        if use_orjson is not False:
            try:
                import orjson
            except ImportError:
                if use_orjson:
                    raise
            else:
                return "orjson", orjson.dumps, orjson.OPT_NON_STR_KEYS
        encode = json.JSONEncoder(
            default=self._default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode
        make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
        if make_encoder is not None:
            # What JSONEncoder.encode builds on every call, built once (about 1 µs a record).
            # No circular-reference markers: a cycle ends in RecursionError, which takes the
            # same fallback as the ValueError the markers would raise.
            chunks = make_encoder(
                None, self._default, json.encoder.encode_basestring, None, ":", ",",
                False, False, False,
            )  # fmt: skip
            join = "".join

            def _encode_json(record: object, default: object, option: int) -> bytes:
                return join(chunks(record, 0)).encode("utf-8", "backslashreplace")

        else:  # pragma: no cover - an interpreter built without the _json accelerator

            def _encode_json(record: object, default: object, option: int) -> bytes:
                return encode(record).encode("utf-8", "backslashreplace")

        return "json", _encode_json, 0

    def _dumps(self, merged: dict[Any, Any]) -> bytes:
        return self._encode(merged, self._default, self._option) + _NEWLINE

    def _default(self, value: object) -> str:
        self.fallbacks += 1
        try:
            return repr(value)
        except Exception:
            return f"<unrepresentable {type(value).__name__}>"

    def _new_second(self, seconds: float) -> None:
        whole = math.floor(seconds)  # floor, not int(): a time before 1970 stays well-formed
        self._start = float(whole)
        self._end = self._start + 1.0
        self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))

    def timestamp(self, seconds: float) -> str:
        """RFC 3339 UTC with microseconds (truncated); the date part is cached per second."""
        if not self._start <= seconds < self._end:
            self._new_second(seconds)
        return _STAMP % (self._prefix, (seconds - self._start) * 1_000_000)

    def dumps(self, record: Record) -> bytes:
        """One JSON line for a queued record; never raises."""
        seconds, level, event, context, bound, fields = record
        merged = None
        try:
            if not self._start <= seconds < self._end:
                self._new_second(seconds)
            merged = {
                "timestamp": _STAMP % (self._prefix, (seconds - self._start) * 1_000_000),
                "level": level,
                "event": event,
                **context,
                **bound,
                **fields,
            }
            if self.max_field_chars is not None:
                self._truncate(merged, self.max_field_chars)
            return self._encode(merged, self._default, self._option) + _NEWLINE
        except Exception:
            return self._dumps_hard(record, merged)

    def _truncate(self, merged: dict[Any, Any], limit: int) -> None:
        """Cut every top-level string value longer than ``limit`` characters, marking the cut
        with the number of characters left out: ``"abc…[+1234 chars]"``."""
        for key, value in merged.items():
            if value.__class__ is str and len(value) > limit:
                merged[key] = f"{value[:limit]}…[+{len(value) - limit} chars]"
                self.truncated += 1

    def dumps_batch(self, records: Iterable[Record]) -> list[bytes]:
        """One JSON line per record, in order: ``[dumps(r) for r in records]``, cheaper.

        The contract for the consumer: the result has exactly one ``bytes`` per record (same
        order, each ending in ``\\n``), byte for byte what :meth:`dumps` gives; it never raises
        (a record that fails the fast path goes through the same fallback as :meth:`dumps`, and
        only that record); ``fallbacks`` counts the replaced values as :meth:`dumps` does. The
        records are not kept or mutated; ``records`` (any iterable) is iterated once.
        """
        lines: list[bytes] = []
        append = lines.append
        encode, default, option = self._encode, self._default, self._option
        newline = _NEWLINE
        start, end, prefix = self._start, self._end, self._prefix
        limit = self.max_field_chars
        for record in records:
            seconds, level, event, context, bound, fields = record
            merged = None
            try:
                if not start <= seconds < end:
                    self._new_second(seconds)
                    start, end, prefix = self._start, self._end, self._prefix
                merged = {
                    "timestamp": _STAMP % (prefix, (seconds - start) * 1_000_000),
                    "level": level,
                    "event": event,
                    **context,
                    **bound,
                    **fields,
                }
                if limit is not None:
                    self._truncate(merged, limit)
                append(encode(merged, default, option) + newline)
            except Exception:
                append(self._dumps_hard(record, merged))
        return lines

    def _dumps_hard(self, record: Record, merged: dict[Any, Any] | None) -> bytes:
        """The slow path: ``merged`` is the dict the backend refused, or None when the fast
        path failed before it (a bad timestamp or a field mapping that would not merge)."""
        seconds, level, event, context, bound, fields = record
        if merged is None:
            try:
                stamp = self.timestamp(seconds)
            except Exception:  # not a finite number of seconds: keep what it was
                stamp = _safe_repr(seconds)
            merged = {"timestamp": stamp, "level": level, "event": event}
            for extra in (context, bound, fields):
                try:
                    merged.update(extra)
                except Exception:
                    self.fallbacks += 1
                    merged[f"<unmergeable {type(extra).__name__}>"] = _safe_repr(extra)
            try:
                return self._dumps(merged)
            except Exception:
                pass
        # Non-string keys the backend refuses, circular references, NaN, huge ints …
        self.fallbacks += 1
        try:
            return _dumps_safe(_sanitize(merged, 0, set()))
        except Exception:  # the last resort: a fixed line that cannot fail
            return _dumps_safe(
                {
                    "timestamp": _safe_str(merged["timestamp"]),
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
