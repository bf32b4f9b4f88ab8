"""The load test's parameters: flags, ``LOAD_TEST_*`` environment variables, defaults.

Each parameter is a flag and an environment variable; the flag wins, the variable beats the
default. A bad value raises :class:`UsageError` carrying one line that names the flag (and the
variable when the value came from there) and what is accepted; ``main`` prints it and exits 2.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, NoReturn, TypeVar

from fapilog._errors import ConfigError
from fapilog._settings import (
    BOUNDS,
    OVERFLOW_STRATEGIES,
    WORKER_KINDS,
    LoggingSettings,
    Overflow,
    WorkerKind,
    parse_size,
)

__all__ = ["STRATEGIES", "LoadTestConfig", "UsageError", "parse_config"]

#: The overflow strategies, in the order ``--strategy all`` runs them: the settings' own.
STRATEGIES: tuple[Overflow, ...] = OVERFLOW_STRATEGIES
_Choice = TypeVar("_Choice", bound=str)
PROG = "fapilog-loadtest"


class UsageError(Exception):
    """A bad parameter; ``str(error)`` is the one line to show the user."""


@dataclass(frozen=True, slots=True)
class LoadTestConfig:
    """Everything one invocation runs with. Times are in seconds, rates in logs per second."""

    concurrency: int = 10
    rate: float = 1000.0
    duration: float = 5.0
    warmup: float = 1.0
    strategy: Overflow | Literal["all"] = "drop"
    maxsize: int = 10_000
    batch_size: int = 256
    flush_interval: float = 0.1
    block_timeout: float | None = 1.0
    sampling_rate: float = 0.1
    worker: WorkerKind = "thread"
    threads: int = 0
    sink: str = "memory"
    sink_delay: float = 0.0
    json: str | None = None
    target_latency_us: float = 100.0
    target_rate: float | None = None  # a total rate; None: the offered total rate
    check: bool = False
    #: Characters of the ``payload`` field every call carries (0: no such field).
    payload_bytes: int = 0
    #: ``queue_max_bytes`` for the pipeline (default: the library's default).
    max_bytes: int = LoggingSettings().queue_max_bytes

    @property
    def producers(self) -> int:
        """Asyncio tasks plus producer threads, each sending at ``rate``."""
        return self.concurrency + self.threads

    @property
    def offered_total_rate(self) -> float:
        """The total rate the schedule offers: logs per second of all producers together."""
        return self.rate * self.producers

    @property
    def effective_target_rate(self) -> float:
        return self.offered_total_rate if self.target_rate is None else self.target_rate

    @property
    def strategies(self) -> tuple[Overflow, ...]:
        return STRATEGIES if self.strategy == "all" else (self.strategy,)

    def as_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready values, keyed like the flags."""
        values = asdict(self)
        values["target_rate"] = self.effective_target_rate
        return values


# --- value parsers: each returns the value or raises ValueError with what is accepted -------


def _number(low: float, *, inclusive: bool, high: float | None = None) -> Callable[[str], float]:
    if high is not None:
        accepted = f"a number from {low:g} to {high:g}"
    else:
        accepted = f"a number {'>=' if inclusive else '>'} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(accepted) from None
        too_low = value < low if inclusive else value <= low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise ValueError(accepted)
        return value

    return parse


def _integer(low: int) -> Callable[[str], int]:
    accepted = f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(accepted) from None
        if value < low:
            raise ValueError(accepted)
        return value

    return parse


def _choice(*choices: _Choice) -> Callable[[str], _Choice]:
    accepted = "one of " + "|".join(choices)

    def parse(text: str) -> _Choice:
        for choice in choices:
            if text == choice:
                return choice
        raise ValueError(accepted)

    return parse


#: Largest ``--payload-bytes``: one such string per call is built, so keep it sane.
MAX_PAYLOAD_BYTES = 1 << 30


def _size(low: int, high: int, accepted: str) -> Callable[[str], int]:
    """Integer bytes or a size string (``1MB``, ``10MiB``), as ``queue_max_bytes`` reads them."""

    def parse(text: str) -> int:
        try:
            value = parse_size(text)
        except ConfigError:
            raise ValueError(accepted) from None
        if not low <= value <= high:
            raise ValueError(accepted)
        return value

    return parse


_MAX_BYTES_BOUND = BOUNDS["queue_max_bytes"]
_payload_bytes = _size(
    0,
    MAX_PAYLOAD_BYTES,
    "an integer number of characters or a size such as 1MB or 10MiB, from 0 to 1GiB",
)
_max_bytes = _size(
    int(_MAX_BYTES_BOUND.low),
    int(_MAX_BYTES_BOUND.high),
    "an integer number of bytes or a size such as 64MiB or 500MB, from 1KiB to 1TiB",
)


def _block_timeout(text: str) -> float | None:
    if text.lower() == "none":
        return None
    try:
        return _number(0.0, inclusive=False)(text)
    except ValueError:
        raise ValueError("a number > 0 (seconds) or 'none' (wait forever)") from None


def _sink(text: str) -> str:
    if text in ("memory", "null", "stdout") or (text.startswith("file:") and len(text) > 5):
        return text
    raise ValueError("one of memory|null|stdout|file:PATH")


def _path(text: str) -> str:
    if not text:
        raise ValueError("a file path")
    return text


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("one of 1|0|true|false|yes|no|on|off")


@dataclass(frozen=True, slots=True)
class _Param:
    field: str
    flag: str
    metavar: str
    parse: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "LOAD_TEST_" + self.field.upper()


_POSITIVE = _number(0.0, inclusive=False)
_NON_NEGATIVE = _number(0.0, inclusive=True)
_PARAMS = (
    _Param("concurrency", "--concurrency", "N", _integer(1), "asyncio producer tasks"),
    _Param("rate", "--rate", "LOGS_PER_S", _POSITIVE, "logs/s per producer (task or thread)"),
    _Param("duration", "--duration", "SECONDS", _POSITIVE, "length of the measured window"),
    _Param("warmup", "--warmup", "SECONDS", _NON_NEGATIVE, "same load first, not measured"),
    _Param(
        "strategy",
        "--strategy",
        "drop|block|sample|all",
        _choice(*STRATEGIES, "all"),
        "overflow strategy; all runs each in turn and prints one table",
    ),
    _Param("maxsize", "--maxsize", "N", _integer(1), "queue capacity in events"),
    _Param("batch_size", "--batch-size", "N", _integer(1), "events the worker writes per batch"),
    _Param(
        "flush_interval",
        "--flush-interval",
        "SECONDS",
        _POSITIVE,
        "longest the worker sleeps before writing a partial batch",
    ),
    _Param(
        "block_timeout",
        "--block-timeout",
        "SECONDS|none",
        _block_timeout,
        "block: longest a call waits for room before its event is dropped",
    ),
    _Param(
        "sampling_rate",
        "--sampling-rate",
        "0..1",
        _number(0.0, inclusive=True, high=1.0),
        "sample: share of sub-WARNING events enqueued at or above the high water",
    ),
    _Param(
        "worker",
        "--worker",
        "|".join(WORKER_KINDS),
        _choice(*WORKER_KINDS),
        "where the worker runs",
    ),
    _Param("threads", "--threads", "N", _integer(0), "producer threads on top of the tasks"),
    _Param("sink", "--sink", "memory|null|stdout|file:PATH", _sink, "where events go"),
    _Param(
        "sink_delay",
        "--sink-delay",
        "SECONDS",
        _NON_NEGATIVE,
        "memory sink: sleep per batch, a slow downstream that creates back-pressure",
    ),
    _Param(
        "payload_bytes",
        "--payload-bytes",
        "N",
        _payload_bytes,
        "every call carries a field 'payload' of N characters, a fresh string per call "
        "(0: no payload)",
    ),
    _Param(
        "max_bytes",
        "--max-bytes",
        "SIZE",
        _max_bytes,
        "queue_max_bytes: byte budget for large queued events (bytes, or e.g. 64MiB, 500MB)",
    ),
    _Param("json", "--json", "PATH", _path, "also write every number as one JSON document"),
    _Param(
        "target_latency_us",
        "--target-latency-us",
        "MICROSECONDS",
        _POSITIVE,
        "PASS needs the average enqueue latency below this",
    ),
    _Param(
        "target_rate",
        "--target-rate",
        "LOGS_PER_S",
        _POSITIVE,
        "PASS needs an achieved total rate of at least 95%% of this total rate (default: the "
        "offered total rate)",
    ),
    _Param("check", "--check", "", _boolean, "exit 1 when the result is FAIL"),
)


def _default_text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 is left to ``main``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description=(
            "Load-test fapilog's logging queue: paced producers, per-call enqueue latency, "
            "drops, delivery, event-loop lag. Each flag also reads LOAD_TEST_<NAME>; "
            "the flag wins."
        ),
        epilog="Exit status: 0 done, 1 a result was FAIL under --check, 2 a bad parameter.",
    )
    for param in _PARAMS:
        default = _default_text(getattr(LoadTestConfig(), param.field))
        if param.field == "check":
            parser.add_argument(
                param.flag,
                action="store_const",
                const="1",
                default=None,
                help=f"{param.help} [env {param.env}=1]",
            )
            continue
        if param.field in ("json", "target_rate"):
            default = "unset"
        elif param.field == "max_bytes":
            default = f"the library's, {int(default) / 2**20:g}MiB"
        parser.add_argument(
            param.flag,
            metavar=param.metavar,
            default=None,
            help=f"{param.help} [env {param.env}, default {default}]",
        )
    return parser


def parse_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> LoadTestConfig:
    """Resolve every parameter from ``argv`` (flags), then ``environ``, then the defaults."""
    env = os.environ if environ is None else environ
    namespace = _build_parser().parse_args(argv)
    values: dict[str, Any] = {}
    for param in _PARAMS:
        text = getattr(namespace, param.field)
        source = param.flag
        if text is None:
            text = env.get(param.env)
            source = f"{param.env} ({param.flag})"
        if text is None:
            continue
        try:
            values[param.field] = param.parse(text)
        except ValueError as exc:
            raise UsageError(f"{PROG}: error: {source}: expected {exc}, got {text!r}") from None
    config = LoadTestConfig(**values)
    if config.sink_delay > 0 and config.sink != "memory":
        raise UsageError(f"{PROG}: error: --sink-delay: applies only to --sink memory")
    return config
