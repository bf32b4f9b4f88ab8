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
from typing import TYPE_CHECKING, Any, Literal, get_args

from fapilog._errors import ConfigError
from fapilog._levels import accepted_levels, parse_level

if TYPE_CHECKING:
    from fapilog.sinks import Sink

Overflow = Literal["drop", "block", "sample"]
WorkerKind = Literal["thread", "loop"]

OVERFLOW_STRATEGIES: tuple[Overflow, ...] = get_args(Overflow)
WORKER_KINDS: tuple[WorkerKind, ...] = get_args(WorkerKind)
ENV_PREFIX = "FAPILOG_"


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _bad(name: str, value: object, accepted: str) -> ConfigError:
    return ConfigError(f"{env_name(name)} ({name}): {value!r} is not accepted; expected {accepted}")


@dataclass(frozen=True, slots=True)
class _Bound:
    """The accepted range of a numeric setting. Every number has both ends: a value past them
    either costs memory before any event exists or breaks a timer (a 1e10 s wait, a 1e-9 s
    busy loop), so it is refused at configure time instead."""

    kind: type
    low: float
    high: float
    low_open: bool = False
    unit: str = ""

    def describe(self) -> str:
        def text(x: float) -> str:
            return f"{int(x):_}" if self.kind is int else f"{x:g}"

        low = f"> {text(self.low)}" if self.low_open else f">= {text(self.low)}"
        what = "an integer" if self.kind is int else f"a number{self.unit}"
        return f"{what} {low} and <= {text(self.high)}"


#: Bounds of the numeric settings (the README's settings table gives the same ranges).
BOUNDS: dict[str, _Bound] = {
    # 10 million events: far beyond any sane backlog, and tokens are made only as it fills.
    "queue_maxsize": _Bound(int, 1, 10_000_000),
    "queue_batch_size": _Bound(int, 1, 100_000),
    # Below 1 ms the worker would wake a thousand times a second for nothing; above a minute
    # a quiet service's lines would sit unwritten for too long.
    "queue_flush_interval": _Bound(float, 0.001, 60.0, unit=" of seconds"),
    "queue_block_timeout": _Bound(float, 0.0, 3600.0, unit=" of seconds"),
    "sampling_rate": _Bound(float, 0.0, 1.0),
    "queue_high_water": _Bound(float, 0.0, 1.0, low_open=True),
    "sink_timeout": _Bound(float, 0.01, 3600.0, unit=" of seconds"),
    # 1 KiB … 1 TiB: below 1 KiB no large event could ever be admitted.
    "queue_max_bytes": _Bound(int, 1024, 1 << 40),
    # 16 characters keep a value recognisable; past a billion the limit means nothing.
    "max_field_chars": _Bound(int, 16, 1_000_000_000),
    "shutdown_timeout": _Bound(float, 0.0, 3600.0, unit=" of seconds"),
}


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
    #: ``sample`` only: share of sub-WARNING events enqueued at or above the high water.
    sampling_rate: float = 0.1
    #: ``sample`` only: the high water, the fill ratio (of ``queue_maxsize``) from which
    #: sub-WARNING events are sampled. Not the peak depth: that is ``PipelineStats``'s
    #: ``queue_depth_peak``.
    queue_high_water: float = 0.8
    #: Where the worker runs: a daemon ``thread`` or a task on the running event ``loop``.
    worker: WorkerKind = "thread"
    #: Seconds after which a sink whose write has not returned is stalled: skipped (its share
    #: counted failed) until the write returns, so the other sinks go on.
    sink_timeout: float = 5.0
    #: Seconds the drain may take at exit, on a ``shutdown_signals`` signal and on reconfigure.
    shutdown_timeout: float = 5.0
    #: Signal names (``SIGTERM``, ``SIGINT``, …) on which fapilog drains, then hands the signal
    #: on to the handler that was there before (or exits as the default would).
    shutdown_signals: tuple[str, ...] = ()
    #: Approximate budget, in bytes, of the large events (estimated size ≥ 1 KiB) queued or in a
    #: sink's hands; beyond it the overflow strategy applies. An integer or a size such as
    #: ``64MiB`` or ``500MB``. The default, 64 MiB, never binds for ordinary events (those are
    #: bounded by ``queue_maxsize``) and keeps a burst of 1 MB payloads from costing gigabytes.
    queue_max_bytes: int = 64 * 1024 * 1024
    #: Truncate string values longer than this many characters (in the worker), with a visible
    #: marker; ``None`` (the default) keeps them whole.
    max_field_chars: int | None = None

    def __post_init__(self) -> None:
        number = parse_level(self.level)
        if number is None:
            raise _bad("level", self.level, accepted_levels())
        if isinstance(self.queue_max_bytes, str):
            object.__setattr__(self, "queue_max_bytes", parse_size(self.queue_max_bytes))
        for name in BOUNDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            _check_number(name, value)
        _check_choice("queue_overflow", self.queue_overflow, OVERFLOW_STRATEGIES)
        _check_choice("worker", self.worker, WORKER_KINDS)
        object.__setattr__(self, "shutdown_signals", _check_signals(self.shutdown_signals))
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


#: Numeric settings that may be None: ``queue_block_timeout`` (wait forever), ``max_field_chars``
#: (no limit).
_OPTIONAL = ("queue_block_timeout", "max_field_chars")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(raw: str) -> int:
    """``"64MiB"`` → 67108864, ``"500MB"`` → 500000000, ``"1_000_000"`` → 1000000."""
    text = raw.strip().lower().replace("_", "").replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if unit not in _SIZE_UNITS or not math.isfinite(value) or value < 0:
        raise _bad("queue_max_bytes", raw, _hint("queue_max_bytes"))
    return int(value * _SIZE_UNITS[unit])


def _parse_env(name: str, raw: str) -> Any:
    if name in ("sinks", "shutdown_signals"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if name == "queue_block_timeout" and raw.lower() in ("none", "inf", "forever"):
        return None
    if name == "max_field_chars" and raw.lower() in ("none", "off", "0"):
        return None
    if name == "queue_max_bytes":
        return parse_size(raw)
    bound = BOUNDS.get(name)
    if bound is not None:
        try:
            return int(raw.replace("_", "")) if bound.kind is int else float(raw)
        except ValueError:
            raise _bad(name, raw, _hint(name)) from None
    return raw.lower() if name in ("queue_overflow", "worker") else raw


def _hint(name: str) -> str:
    hint = BOUNDS[name].describe()
    if name == "queue_block_timeout":
        return hint + ", or 'none' to wait forever"
    if name == "max_field_chars":
        return hint + ", or 'none' for no limit"
    if name == "queue_max_bytes":
        return hint + " bytes, or a size such as 64MiB or 500MB"
    return hint


def _check_number(name: str, value: object) -> None:
    bound = BOUNDS[name]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if bound.kind is int:
        ok = ok and isinstance(value, int)
    if ok:
        # Compared as they are: float() of a huge int would raise OverflowError.
        number: float = value  # type: ignore[assignment]
        ok = (
            (isinstance(number, int) or math.isfinite(number))
            and (number > bound.low if bound.low_open else number >= bound.low)
            and number <= bound.high
        )
    if not ok:
        raise _bad(name, value, _hint(name))


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _bad(name, value, " | ".join(choices))


#: Signals that cannot be caught, or whose default action does not end the process.
_NOT_ENDING = frozenset(
    (
        "SIGKILL",
        "SIGSTOP",
        "SIGCHLD",
        "SIGCONT",
        "SIGURG",
        "SIGWINCH",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
    )
)


def _check_signals(value: object) -> tuple[str, ...]:
    """Signal names, normalised to ``SIGTERM`` form. Only signals whose default action ends the
    process make sense here (SIGKILL and SIGSTOP cannot be caught at all)."""
    import signal

    accepted = "names of signals that end a process, such as SIGTERM,SIGINT,SIGHUP,SIGQUIT"
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list):
        raise _bad("shutdown_signals", value, "a tuple of " + accepted)
    names = []
    for item in value:
        name = item.strip().upper() if isinstance(item, str) else ""
        if name and not name.startswith("SIG"):
            name = "SIG" + name
        member = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if member is None or name in _NOT_ENDING:
            raise _bad("shutdown_signals", item, accepted)
        if name not in names:
            names.append(name)
    return tuple(names)
