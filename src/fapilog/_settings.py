"""``LoggingSettings``: every knob of the pipeline, read from ``FAPILOG_<FIELD>`` or given in code.

Validation happens here, when settings are built, so a bad value is a :class:`ConfigError` at
configure time and never an exception from a log call.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from fapilog._errors import ConfigError
from fapilog._levels import accepted_levels, parse_level

if TYPE_CHECKING:
    from fapilog.sinks import Sink

Overflow = Literal["drop", "block", "sample"]
WorkerKind = Literal["thread", "loop"]

OVERFLOW_STRATEGIES: tuple[str, ...] = ("drop", "block", "sample")
WORKER_KINDS: tuple[str, ...] = ("thread", "loop")
ENV_PREFIX = "FAPILOG_"


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _bad(name: str, value: object, accepted: str) -> ConfigError:
    return ConfigError(f"{env_name(name)} ({name}): {value!r} is not accepted; expected {accepted}")


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    """How the pipeline is built. Each field is also read from ``FAPILOG_<FIELD>``."""

    #: Lowest level that reaches the queue; calls below it cost next to nothing.
    level: str = "INFO"
    #: Sink URIs (``stdout``, ``stderr``, ``memory``, ``null``, ``file:///path?max_bytes=…``)
    #: or sink instances; every event goes to all of them.
    sinks: tuple[str | Sink, ...] = ("stdout",)
    #: Capacity of the in-process queue, in events.
    queue_maxsize: int = 10_000
    #: What a call does when the queue is full: ``drop``, ``block`` or ``sample``.
    queue_overflow: Overflow = "drop"
    #: Events the worker takes, serializes and writes per batch; also the wake-up threshold.
    queue_batch_size: int = 256
    #: Seconds the worker sleeps at most before writing a partial batch.
    queue_flush_interval: float = 0.1
    #: ``block`` only: seconds a call waits for room before the event is dropped (None: forever).
    queue_block_timeout: float | None = 1.0
    #: ``sample`` only: share of sub-WARNING events admitted at or above the high-water mark.
    sampling_rate: float = 0.1
    #: ``sample`` only: fill ratio (of ``queue_maxsize``) where sampling starts.
    queue_high_water: float = 0.8
    #: Where the worker runs: a daemon ``thread`` or a task on the running event ``loop``.
    worker: WorkerKind = "thread"

    def __post_init__(self) -> None:
        number = parse_level(self.level)
        if number is None:
            raise _bad("level", self.level, accepted_levels())
        _check_int("queue_maxsize", self.queue_maxsize, 1)
        _check_choice("queue_overflow", self.queue_overflow, OVERFLOW_STRATEGIES)
        _check_int("queue_batch_size", self.queue_batch_size, 1)
        _check_float("queue_flush_interval", self.queue_flush_interval, 0.0, None, low_open=True)
        if self.queue_block_timeout is not None:
            _check_float("queue_block_timeout", self.queue_block_timeout, 0.0, None)
        _check_float("sampling_rate", self.sampling_rate, 0.0, 1.0)
        _check_float("queue_high_water", self.queue_high_water, 0.0, 1.0, low_open=True)
        _check_choice("worker", self.worker, WORKER_KINDS)
        sinks = self.sinks
        if isinstance(sinks, str | bytes) or not isinstance(sinks, tuple | list):
            raise _bad("sinks", sinks, "a tuple of sink URIs or sink instances")
        if not sinks:
            raise _bad("sinks", sinks, "at least one sink")
        from fapilog.sinks._uri import check_sink

        for sink in sinks:
            check_sink(sink)
        object.__setattr__(self, "sinks", tuple(sinks))

    @property
    def level_number(self) -> int:
        number = parse_level(self.level)
        assert number is not None  # validated in __post_init__
        return number

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LoggingSettings:
        """Settings from ``FAPILOG_*`` variables; unset or empty variables keep the default."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _parse_env(f.name, raw.strip())
        return cls(**values)

    def replace(self, **overrides: Any) -> LoggingSettings:
        """A copy with some fields changed; an unknown field name is a :class:`ConfigError`."""
        known = [f.name for f in fields(self)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown setting {unknown[0]!r}; accepted settings are {', '.join(known)}"
            )
        return dataclasses.replace(self, **overrides)


def _parse_env(name: str, raw: str) -> Any:
    if name == "sinks":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if name in ("queue_maxsize", "queue_batch_size"):
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise _bad(name, raw, "an integer >= 1") from None
    if name == "queue_block_timeout" and raw.lower() in ("none", "inf", "forever"):
        return None
    if name in ("queue_flush_interval", "queue_block_timeout", "sampling_rate", "queue_high_water"):
        try:
            return float(raw)
        except ValueError:
            raise _bad(name, raw, _FLOAT_HINTS[name]) from None
    return raw.lower() if name in ("queue_overflow", "worker") else raw


_FLOAT_HINTS = {
    "queue_flush_interval": "a number of seconds > 0",
    "queue_block_timeout": "a number of seconds >= 0, or 'none' to wait forever",
    "sampling_rate": "a number between 0 and 1",
    "queue_high_water": "a number > 0 and <= 1",
}


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(name, value, f"an integer >= {minimum}")


def _check_float(
    name: str, value: object, low: float, high: float | None, *, low_open: bool = False
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        number = float(value)  # type: ignore[arg-type]
        ok = (number > low if low_open else number >= low) and (high is None or number <= high)
    if not ok:
        raise _bad(name, value, _FLOAT_HINTS[name])


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _bad(name, value, " | ".join(choices))
