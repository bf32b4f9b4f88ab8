"""The installed log methods (the hot path): what a call returns and counts, level gates, async
twins, hostile input, calls after shutdown, and methods captured before a reconfigure."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fapilog
from fapilog.sinks import MemorySink
from tests.conftest import flushed_records


def test_levels_below_the_threshold_are_not_attempts(sink: MemorySink) -> None:
    """debug() under INFO returns False and is not counted; info+ are enqueued."""
    log = fapilog.log
    assert log.debug("hidden") is False
    results = [log.info("i"), log.warning("w"), log.error("e"), log.critical("c")]
    assert results == [True] * 4
    assert [r["level"] for r in flushed_records(sink)] == ["info", "warning", "error", "critical"]
    assert fapilog.stats().attempted == 4


def test_async_twins_log_the_samerecords(sink: MemorySink) -> None:
    """ainfo/awarning/... and alog behave like their sync twins."""
    log = fapilog.log

    async def main() -> list[bool]:
        return [
            await log.adebug("no"),
            await log.ainfo("i", n=1),
            await log.awarning("w"),
            await log.aerror("e"),
            await log.acritical("c"),
            await log.alog("warning", "via alog"),
        ]

    assert asyncio.run(main()) == [False, True, True, True, True, True]
    events = [(r["level"], r["event"]) for r in flushed_records(sink)]
    assert events == [
        ("info", "i"),
        ("warning", "w"),
        ("error", "e"),
        ("critical", "c"),
        ("warning", "via alog"),
    ]


def test_bad_input_never_raises(sink: MemorySink) -> None:
    """Unserializable, huge and odd values, and a non-string event, are logged, not raised."""

    class Weird:
        def __repr__(self) -> str:
            raise ValueError("nope")

    log = fapilog.log
    assert log.info(12345, obj=object(), weird=Weird(), blob=b"\x00\xff", big="z" * 2_000_000)
    assert log.info(None, nested={1: {2: {3: float("inf")}}})
    assert log.info("set", s={1, 2, 3})
    records = flushed_records(sink)
    assert [r["event"] for r in records] == [12345, None, "set"]
    assert records[0]["weird"] == "<unrepresentable Weird>"
    assert fapilog.stats().serialize_fallbacks >= 3


def test_level_override_and_reconfigure_rebinds_methods() -> None:
    """Reconfiguring the level changes which methods are live, for existing loggers too."""
    sink = MemorySink(keep=10)
    named = fapilog.get_logger("x")
    fapilog.configure_logging(sinks=(sink,), level="ERROR")
    assert named.warning("w") is False
    fapilog.configure_logging(sinks=(sink,), level="DEBUG")
    assert named.debug("d") is True
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["d"]


def test_logging_after_shutdown_is_counted_as_dropped() -> None:
    """After shutdown a call returns False and counts as dropped; the invariant still holds."""
    fapilog.configure_logging(sinks=("null",))
    fapilog.log.info("before")
    first = fapilog.shutdown()
    assert fapilog.log.info("after") is False
    later = fapilog.stats()
    assert later.dropped == first.dropped + 1
    assert later.attempted == later.enqueued + later.dropped + later.sampled_out
    assert later.enqueued == later.delivered + later.failed + later.lost


def test_a_captured_log_method_reaches_the_current_pipeline() -> None:
    """``info = log.info`` captured before a reconfigure (or handed to a library as a callback)
    goes on working: its calls reach the new pipeline, through that pipeline's level gate, and
    are counted there."""
    first = MemorySink()
    fapilog.configure_logging(sinks=(first,))
    info, debug, warning = fapilog.log.info, fapilog.log.debug, fapilog.log.warning
    second = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(second,), level="WARNING")
    assert info("stale info") is False  # below the new pipeline's level: not an attempt
    assert debug("stale debug") is False
    assert warning("stale warning") is True
    assert fapilog.flush(5)
    stats = fapilog.stats()
    assert (stats.attempted, stats.delivered) == (1, 1)
    assert [r["event"] for r in second.records] == ["stale warning"]

    fapilog.configure_logging(sinks=(second,), level="INFO")
    assert info("stale info again") is True
    assert fapilog.flush(5)
    assert second.records[-1]["event"] == "stale info again"


def test_a_method_captured_before_shutdown_reaches_the_next_pipeline() -> None:
    """A method captured before ``shutdown()`` reaches the pipeline configured after it."""
    fapilog.configure_logging(sinks=("memory",))
    info = fapilog.log.info
    fapilog.shutdown()
    sink = MemorySink()
    fapilog.configure_logging(sinks=(sink,))
    assert info("after shutdown and configure") is True
    assert fapilog.flush(5) and sink.count == 1


# --- the plain and the sampled body -------------------------------------------------------
#
# Under ``queue_overflow="sample"`` a sub-WARNING method has its own body (it checks the
# high-water mark before it builds the record); under ``drop`` it is the plain body. Below the
# mark the two must be indistinguishable: same records, same return values, same counts. With
# ``queue_high_water=1.0`` the mark is never reached, and ``sampling_rate=0.0`` would sample
# out every event that reached it, so any sampling shows up as a difference.


class _Held(MemorySink):
    """A memory sink whose writes wait while ``open`` is clear: nothing the worker took is
    given back, so a queue of ``maxsize`` slots admits exactly ``maxsize`` calls."""

    def __init__(self) -> None:
        super().__init__(keep=10_000)
        self.open = threading.Event()

    def write(self, lines: Sequence[bytes]) -> None:
        self.open.wait(30)
        super().write(lines)


class _Interrupt(Exception):
    """Stands in for Ctrl-C or a signal handler that raises inside a log call."""


#: The counts of PipelineStats that do not depend on when the worker woke up.
_EXACT_COUNTS = (
    "attempted",
    "enqueued",
    "dropped",
    "sampled_out",
    "delivered",
    "failed",
    "lost",
    "queue_depth",
    "queue_maxsize",
    "sink_errors",
    "retries",
    "serialize_fallbacks",
    "block_waits",
    "dropped_too_large",
    "truncated_values",
    "sinks",
)

#: (method, event, call fields, bound fields, context fields)
_Call = tuple[str, object, dict[str, Any], dict[str, Any], dict[str, Any]]
_METHODS = ("debug", "info", "warning", "error", "log", "ainfo", "alog")


def _counts(stats: fapilog.PipelineStats) -> dict[str, object]:
    return {name: getattr(stats, name) for name in _EXACT_COUNTS}


def _invoke(logger: fapilog.Logger, method: str, event: object, fields: dict[str, Any]) -> bool:
    if method == "log":
        return logger.log("info", event, **fields)
    if method == "ainfo":
        return asyncio.run(logger.ainfo(event, **fields))
    if method == "alog":
        return asyncio.run(logger.alog(10, event, **fields))
    result: bool = getattr(logger, method)(event, **fields)
    return result


def _interrupt_after_the_slot_is_taken(method: Any) -> Any:
    """A profile function that raises once, right after ``method`` took a slot (the return of
    the one ``deque.pop`` in its body): where an asynchronous exception can land in a call."""
    code = method.__func__.__code__
    armed = [True]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if (
            armed[0]
            and event == "c_return"
            and frame.f_code is code
            and getattr(arg, "__name__", "") == "pop"
        ):
            armed[0] = False
            raise _Interrupt

    return profile


class _Run(NamedTuple):
    returned: list[object]
    records: list[list[tuple[str, Any]]]
    timestamps_in_run: bool
    first: dict[str, object]
    final: dict[str, object]
    late: dict[str, object]


def _run(
    overflow: str, level: str, maxsize: int, calls: Sequence[_Call], interrupt: bool = False
) -> _Run:
    """Make ``calls`` against a held sink (an interrupted call first, if asked) and release it;
    reconfigure and call through a method captured before (it forwards to the new pipeline);
    shut down and call through it again. Returns what every call returned, the records the
    sink got (their keys in order, without the timestamp), whether every timestamp lies within
    the run, the first pipeline's counts, the final counts and the counts after the late call."""
    sink = _Held()
    configuration: dict[str, Any] = {
        "sinks": (sink,),
        "level": level,
        "queue_overflow": overflow,
        "queue_maxsize": maxsize,
        "queue_batch_size": 2,
        "queue_high_water": 1.0,
        "sampling_rate": 0.0,
        "sink_timeout": 60,
    }
    start = _now()
    fapilog.configure_logging(**configuration)
    returned: list[object] = []
    if interrupt:
        sys.setprofile(_interrupt_after_the_slot_is_taken(fapilog.log.info))
        try:
            returned.append(fapilog.log.info("interrupted", n=1))
        except _Interrupt:
            returned.append("interrupted")
        finally:
            sys.setprofile(None)
    for method, event, fields, bound, context in calls:
        logger = fapilog.log.bind(**bound) if bound else fapilog.log
        with fapilog.context(**context):
            returned.append(_invoke(logger, method, event, fields))
    sink.open.set()
    assert fapilog.flush(10)
    first = _counts(fapilog.stats())
    captured = fapilog.log.bind(late=True).info
    fapilog.configure_logging(**configuration)
    returned.append(captured("after reconfigure", n=2))
    final = fapilog.shutdown(10)
    returned += [captured("after shutdown"), fapilog.log.debug("after shutdown")]
    end = _now()
    records = sink.records
    return _Run(
        returned,
        [[(k, v) for k, v in r.items() if k != "timestamp"] for r in records],
        all(start <= r["timestamp"] <= end for r in records),
        first,
        _counts(final),
        _counts(fapilog.stats()),
    )


def _now() -> str:
    """Now, as the records write it (RFC 3339 in UTC: text order is time order)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6).filter(
    lambda key: key != "timestamp"
)
_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
)
_FIELDS = st.dictionaries(_KEYS, _VALUES, max_size=3)
_CALLS = st.lists(
    st.tuples(
        st.sampled_from(_METHODS), st.text(max_size=16) | st.integers(), _FIELDS, _FIELDS, _FIELDS
    ),
    max_size=12,
)
_EVERYTHING: list[_Call] = [
    ("info", "with all four", {"call": 1}, {"bound": 2}, {"ctx": 3}),
    ("info", "the same key thrice", {"k": "call"}, {"k": "bound"}, {"k": "context"}),
    ("debug", "debug", {"level": "mine"}, {}, {"ctx": "x"}),
    ("ainfo", 42, {"event": "replaced"}, {"bound": [1, 2]}, {}),
    ("log", "by name", {"f": 1.5}, {}, {}),
    ("warning", "warning", {}, {"b": None}, {"c": True}),
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(level=st.sampled_from(["DEBUG", "INFO"]), maxsize=st.sampled_from([4, 64]), calls=_CALLS)
@example(level="DEBUG", maxsize=64, calls=_EVERYTHING)
@example(level="DEBUG", maxsize=4, calls=_EVERYTHING * 2)
def test_the_sampled_body_below_high_water_behaves_like_the_plain_one(
    level: str, maxsize: int, calls: list[_Call]
) -> None:
    """Below the high-water mark, ``sample`` logs exactly what ``drop`` logs: the same records
    (event, level, context, bound and call fields), the same return values (True while there is
    room, False on a full queue and after shutdown) and the same counts."""
    plain = _run("drop", level, maxsize, calls)
    sampled = _run("sample", level, maxsize, calls)
    assert sampled == plain
    assert plain.timestamps_in_run
    assert plain.first["sampled_out"] == 0
    assert plain.returned.count(True) == plain.first["enqueued"] + plain.final["enqueued"]


@pytest.mark.parametrize("maxsize", [4, 5000], ids=["slots-made", "slots-made-lazily"])
def test_an_interrupted_call_behaves_the_same_in_both_bodies(maxsize: int) -> None:
    """An exception landing right after a call took its slot reaches the caller, gives the
    slot back and counts as dropped, in the sampled body as in the plain one: afterwards the
    full ``queue_maxsize`` fits again, and the next call is refused as full."""
    calls: list[_Call] = [("info", "e", {"i": i}, {}, {}) for i in range(maxsize + 1)]
    plain = _run("drop", "INFO", maxsize, calls, interrupt=True)
    sampled = _run("sample", "INFO", maxsize, calls, interrupt=True)
    assert sampled == plain
    assert plain.returned[: maxsize + 2] == ["interrupted"] + [True] * maxsize + [False]
    assert (plain.first["enqueued"], plain.first["dropped"]) == (maxsize, 2)
    assert len(plain.records) == maxsize + 1  # and the one forwarded after the reconfigure
