"""Sink URIs, as used by ``FAPILOG_SINKS`` and the ``sinks`` setting."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fapilog._errors import ConfigError
from fapilog.sinks._base import Sink, sink_name
from fapilog.sinks._file import FileSink
from fapilog.sinks._memory import MemorySink, NullSink
from fapilog.sinks._stream import StderrSink, StdoutSink

ACCEPTED = (
    "stdout, stderr, null, memory[?keep=N&delay=S], "
    "file:///path/app.log[?max_bytes=N&backup_count=N], or a Sink instance"
)
_PARAMS: dict[str, dict[str, type]] = {
    "file": {"max_bytes": int, "backup_count": int},
    "memory": {"keep": int, "delay": float},
    "stdout": {},
    "stderr": {},
    "null": {},
}


def _bad(value: object, why: str = "") -> ConfigError:
    detail = f" ({why})" if why else ""
    return ConfigError(
        f"FAPILOG_SINKS (sinks): {value!r} is not accepted{detail}; expected {ACCEPTED}"
    )


def _parse(uri: str) -> tuple[str, str, dict[str, Any]]:
    """Split a sink URI into (kind, path, typed parameters), validating all of it."""
    parts = urlsplit(uri.strip())
    kind = (parts.scheme or parts.path).lower()
    path = ""
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _bad(uri, "a file URI takes a local path: file:///abs/path or file:rel/path")
        path = unquote(parts.path)
        if not path:
            raise _bad(uri, "the file URI has no path")
    elif parts.scheme or parts.netloc:
        raise _bad(uri, f"unknown sink {parts.scheme!r}")
    if kind not in _PARAMS:
        raise _bad(uri, f"unknown sink {kind!r}")
    params: dict[str, Any] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        convert = _PARAMS[kind].get(key)
        if convert is None:
            allowed = ", ".join(_PARAMS[kind]) or "none"
            raise _bad(uri, f"unknown parameter {key!r} for {kind}; its parameters: {allowed}")
        try:
            number = convert(values[-1])
        except ValueError:
            raise _bad(uri, f"{key}={values[-1]!r} is not a number") from None
        if not number >= 0 or number == float("inf"):
            raise _bad(uri, f"{key} must be a finite number >= 0")
        params[key] = number
    return kind, path, params


def check_sink(sink: object) -> str:
    """Validate a ``sinks`` entry without opening anything; return its name."""
    if isinstance(sink, str):
        return _parse(sink)[0]
    if isinstance(sink, Sink):
        return sink_name(sink)
    raise _bad(sink, "not a URI and has no write/flush/close methods")


def sink_from_uri(uri: str) -> Sink:
    """Build the sink a URI names; a bad URI or an unopenable file is a :class:`ConfigError`."""
    kind, path, params = _parse(uri)
    if kind == "stdout":
        return StdoutSink()
    if kind == "stderr":
        return StderrSink()
    if kind == "null":
        return NullSink()
    if kind == "memory":
        return MemorySink(**params)
    try:
        return FileSink(path, **params)
    except OSError as exc:
        raise _bad(uri, f"cannot open the file: {exc.strerror or exc}") from None
