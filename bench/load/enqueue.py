"""The pyperf benchmark matrix: enqueue latency per cell, and end-to-end throughput.

    python -m bench.load.enqueue -o out.json [--fast] [--strategies drop,block] [--maxsizes 1000] …

Three families of benchmarks, one pyperf benchmark per matrix cell:

``enqueue[strategy=…,maxsize=…,worker=…,load=…,total_rate=…]``
    Log calls issued at ``total_rate`` calls/s (all producers together) on an absolute schedule
    by ``fapilog.loadtest``'s :func:`~fapilog.loadtest.paced_window` (the load test's own
    engine); the time returned to pyperf is the sum of the per-call enqueue latencies, so
    pyperf's value is the **mean enqueue latency per call**. ``load=nominal`` uses a fast memory
    sink; ``load=overload`` fills the queue first and uses a memory sink that takes
    ``2 × batch / total_rate`` seconds per batch (at most half the offered rate), so the queue
    stays full and the strategies really differ.
``throughput[sink=…,json=…,worker=…]``
    Unpaced end-to-end cost per event: log calls back to back, then a flush until every event
    is in the sink (record → JSON → sink, the final drain included), with ``block`` so nothing
    is dropped. ``json=stdlib`` hides orjson from fapilog for that cell.
``cpu[sink=…,json=…,worker=…]``
    The same unpaced workload, measured in **process CPU** instead of wall-clock time:
    ``time.process_time()`` (every thread: the callers' and the worker's) from the first call to
    the end of ``shutdown()`` (final drain, flush and close included), so pyperf's value is the
    **CPU seconds one event costs the process**, end to end. In CPython the worker's CPU is the
    service's CPU (same GIL, same cores), which a wall-clock figure on an idle second core hides.
    These cells take the throughput axes (``--throughput-sinks/-json/-workers``).
``stdlib[handler=QueueHandler,maxsize=…,load=nominal,total_rate=…]`` (``--families stdlib``, not
in the default matrix)
    The reference pair: the same paced workload (same producers, schedule, event and fields)
    through the standard library's ``logging.handlers.QueueHandler`` into a bounded
    ``queue.Queue`` drained by a ``QueueListener`` whose handler writes one JSON line per record
    into memory. Its value is the mean latency per call, like an ``enqueue`` cell's, so the ratio
    of the two is measured on one machine in one run (``bench/judge/ab.py`` gates on it).

Every benchmark's metadata names its cell (strategy, maxsize, worker, load, total_rate, …), the
fapilog version and whether orjson is installed; after the run, the parent adds what the windows
measured: ``delivered_share`` (events of the measured window that reached the sink),
``enqueued_share`` (calls admitted onto the queue; ``accepted_share``, the same figure under its
old name, is deprecated), ``achieved_rate`` and ``waited_share``. Each worker process runs one cell
and starts a fresh pipeline per value, so nothing carries over between values.

Files written before the rename name the total rate ``rate`` (cell parameter and metadata key);
``bench.judge.compare`` reads them as ``total_rate``. This file is the harness ``bench.judge.ab``
copies and runs against another revision's library: it imports only the standard library,
pyperf, fapilog (names that revision has too) and ``_cli`` beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import json
import logging
import logging.handlers
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf  # type: ignore[import-untyped]

import fapilog
from fapilog import LoggingSettings
from fapilog._settings import OVERFLOW_STRATEGIES, WORKER_KINDS
from fapilog.loadtest import Pacer, paced_window
from fapilog.sinks import FileSink, MemorySink, Sink

try:
    from bench.load._cli import DeprecatedAlias, comma_list
except ImportError:  # run as a script: by pyperf's workers, or from bench.judge.ab's copy
    from _cli import DeprecatedAlias, comma_list  # type: ignore[no-redef]

# One value is one paced window of this many calls (0.2 s at 10,000 calls/s): long enough for
# thousands of calls per value, short enough that 36 cells fit the CI budget.
CALLS_PER_VALUE = 2_000
# pyperf's own default is 20 processes; 8 × (1 warmup + 3 values) = 24 values per cell keeps
# the 95 % CI tight while the full matrix stays within ~15 minutes per Python on 2 cores.
PROCESSES = 8
VALUES = 3
# A throughput value logs loops × this many events (20,000 by default, ~0.1 s).
THROUGHPUT_EVENTS_PER_LOOP = 10
# Producer tasks per window, as the load test's default.
CONCURRENCY = 10
BATCH_SIZE = LoggingSettings().queue_batch_size
SHUTDOWN_TIMEOUT_S = 60.0

STRATEGIES: tuple[str, ...] = OVERFLOW_STRATEGIES
WORKERS: tuple[str, ...] = WORKER_KINDS
LOADS = ("nominal", "overload")
SINKS = ("memory", "file")
JSONS = ("orjson", "stdlib")
FAMILIES = ("enqueue", "throughput", "cpu")
#: Families run only when asked for (``--families stdlib``): references, not fapilog cells.
REFERENCE_FAMILIES = ("stdlib",)
ORJSON_INSTALLED = importlib.util.find_spec("orjson") is not None


@dataclass(frozen=True)
class EnqueueCell:
    strategy: str
    maxsize: int
    worker: str
    load: str
    total_rate: int

    @property
    def name(self) -> str:
        return (
            f"enqueue[strategy={self.strategy},maxsize={self.maxsize},worker={self.worker},"
            f"load={self.load},total_rate={self.total_rate}]"
        )

    @property
    def sink_delay_s(self) -> float:
        """Seconds the overload sink sleeps per batch: it delivers at most half the rate."""
        return 2.0 * BATCH_SIZE / self.total_rate if self.load == "overload" else 0.0

    @property
    def blocking(self) -> bool:
        """``block`` cells use the awaitable calls, which wait without blocking the loop."""
        return self.strategy == "block"

    def metadata(self, concurrency: int) -> dict[str, Any]:
        return {
            **_common_metadata(),
            "strategy": self.strategy,
            "maxsize": self.maxsize,
            "worker": self.worker,
            "load": self.load,
            "total_rate": self.total_rate,
            "sink": "memory",
            "sink_delay_s": self.sink_delay_s,
            "concurrency": concurrency,
            "log_api": "ainfo" if self.blocking else "info",
            "json_backend": "orjson" if ORJSON_INSTALLED else "stdlib",
        }


@dataclass(frozen=True)
class ThroughputCell:
    sink: str
    json: str
    worker: str

    @property
    def name(self) -> str:
        return f"throughput[sink={self.sink},json={self.json},worker={self.worker}]"

    def metadata(self) -> dict[str, Any]:
        return {
            **_common_metadata(),
            "strategy": "block",
            "maxsize": LoggingSettings().queue_maxsize,
            "worker": self.worker,
            "sink": self.sink,
            "json_backend": self.json,
            "events_per_loop": THROUGHPUT_EVENTS_PER_LOOP,
        }


@dataclass(frozen=True)
class CpuCell(ThroughputCell):
    """The throughput workload, measured in process CPU instead of wall-clock time."""

    @property
    def name(self) -> str:
        return f"cpu[sink={self.sink},json={self.json},worker={self.worker}]"

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "clock": "time.process_time (all threads), calls + shutdown",
        }


@dataclass(frozen=True)
class StdlibCell:
    """The standard library's QueueHandler/QueueListener on an ``enqueue`` cell's workload."""

    maxsize: int
    total_rate: int

    @property
    def name(self) -> str:
        return (
            f"stdlib[handler=QueueHandler,maxsize={self.maxsize},load=nominal,"
            f"total_rate={self.total_rate}]"
        )

    def metadata(self, concurrency: int) -> dict[str, Any]:
        return {
            **_common_metadata(),
            "handler": "logging.handlers.QueueHandler",
            "maxsize": self.maxsize,
            "load": "nominal",
            "total_rate": self.total_rate,
            "concurrency": concurrency,
            "log_api": "logging.Logger.info",
        }


Cell = EnqueueCell | ThroughputCell | CpuCell | StdlibCell


def _common_metadata() -> dict[str, Any]:
    return {
        "fapilog_version": fapilog.__version__,
        "orjson": "installed" if ORJSON_INSTALLED else "missing",
    }


# -- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one value's window did, beyond its latency (written to the stats side channel)."""

    calls: int
    enqueued: int
    delivered: int
    waited: int
    elapsed_s: float


def _configure(sink: Sink, **overrides: Any) -> None:
    # Explicit settings: FAPILOG_* variables of the caller's environment must not leak in.
    fapilog.configure_logging(LoggingSettings(), level="INFO", sinks=(sink,), **overrides)


async def _enqueue_window(calls: int, cell: EnqueueCell, concurrency: int) -> tuple[int, Outcome]:
    # Configured inside the running loop: worker=loop needs it, worker=thread does not mind.
    sink = MemorySink(delay=cell.sink_delay_s)
    _configure(sink, queue_maxsize=cell.maxsize, queue_overflow=cell.strategy, worker=cell.worker)
    prefilled = 0
    if cell.load == "overload":
        # Start the window with the queue as full as the strategy lets it get, as it is after
        # a while of overload; otherwise a big queue would absorb the whole short window.
        info = fapilog.log.info
        prefilled = sum(info("bench.prefill", seq=seq) for seq in range(cell.maxsize))
    window = await paced_window(calls, cell.total_rate, concurrency, blocking=cell.blocking)
    sink.delay = 0.0  # the measured window is over: drain the rest at full speed
    stats = await fapilog.ashutdown(timeout=SHUTDOWN_TIMEOUT_S)
    # PacedWindow says `calls_enqueued` since the load test speaks the glossary, `accepted`
    # before: the harness also runs against older revisions (bench.judge.ab).
    enqueued = getattr(window, "calls_enqueued", None)
    if enqueued is None:
        enqueued = window.accepted
    outcome = Outcome(
        calls=window.calls,
        enqueued=enqueued,
        delivered=min(max(stats.delivered - prefilled, 0), enqueued),
        waited=window.waited_calls,
        elapsed_s=window.elapsed_s,
    )
    return window.total_latency_ns, outcome


@contextlib.contextmanager
def _orjson_hidden(hide: bool) -> Iterator[None]:
    """While active, ``import orjson`` raises ImportError (fapilog falls back to ``json``)."""
    if not hide:
        yield
        return
    missing = object()
    saved = sys.modules.get("orjson", missing)
    sys.modules["orjson"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if saved is missing:
            del sys.modules["orjson"]
        else:
            sys.modules["orjson"] = saved  # type: ignore[assignment]


async def _throughput_run(events: int, cell: ThroughputCell, log_dir: str) -> tuple[float, Outcome]:
    sink: Sink = MemorySink() if cell.sink == "memory" else FileSink(Path(log_dir) / "bench.log")
    with _orjson_hidden(cell.json == "stdlib"):
        _configure(sink, queue_overflow="block", queue_block_timeout=None, worker=cell.worker)
    info = fapilog.log.info
    start = time.perf_counter()
    enqueued = sum(
        info("bench.event", seq=seq, route="/api/orders", status=200) for seq in range(events)
    )
    await fapilog.aflush(timeout=None)
    elapsed = time.perf_counter() - start
    stats = await fapilog.ashutdown(timeout=SHUTDOWN_TIMEOUT_S)
    return elapsed, Outcome(events, enqueued, stats.delivered, stats.block_waits, elapsed)


async def _cpu_run(events: int, cell: CpuCell, log_dir: str) -> tuple[float, Outcome]:
    sink: Sink = MemorySink() if cell.sink == "memory" else FileSink(Path(log_dir) / "bench.log")
    with _orjson_hidden(cell.json == "stdlib"):
        _configure(sink, queue_overflow="block", queue_block_timeout=None, worker=cell.worker)
    info = fapilog.log.info
    start_cpu = time.process_time()
    start = time.perf_counter()
    enqueued = sum(
        info("bench.event", seq=seq, route="/api/orders", status=200) for seq in range(events)
    )
    stats = await fapilog.ashutdown(timeout=SHUTDOWN_TIMEOUT_S)
    cpu_s = time.process_time() - start_cpu
    elapsed = time.perf_counter() - start
    return cpu_s, Outcome(events, enqueued, stats.delivered, stats.block_waits, elapsed)


def time_enqueue(loops: int, cell: EnqueueCell, concurrency: int, stats_dir: str | None) -> float:
    """pyperf time function: the summed enqueue latency of ``loops`` paced calls, in seconds."""
    total_ns, outcome = asyncio.run(_enqueue_window(loops, cell, concurrency))
    _record(stats_dir, cell, outcome)
    return total_ns / 1e9


def time_throughput(loops: int, cell: ThroughputCell, stats_dir: str | None) -> float:
    """pyperf time function: seconds from the first of ``loops × 10`` calls to the last delivery."""
    with tempfile.TemporaryDirectory(prefix="fapilog-bench-") as log_dir:
        events = loops * THROUGHPUT_EVENTS_PER_LOOP
        elapsed, outcome = asyncio.run(_throughput_run(events, cell, log_dir))
    _record(stats_dir, cell, outcome)
    return elapsed


def time_cpu(loops: int, cell: CpuCell, stats_dir: str | None) -> float:
    """pyperf time function: process CPU seconds of ``loops × 10`` calls and the shutdown."""
    with tempfile.TemporaryDirectory(prefix="fapilog-bench-") as log_dir:
        events = loops * THROUGHPUT_EVENTS_PER_LOOP
        cpu_s, outcome = asyncio.run(_cpu_run(events, cell, log_dir))
    _record(stats_dir, cell, outcome)
    return cpu_s


# -- the standard library's reference pair ----------------------------------------------------


class _JsonLinesInMemory(logging.Handler):
    """The listener's handler: one JSON line per record into memory, like a MemorySink."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in record.__dict__.items() if k in _STDLIB_FIELDS}
        json.dumps(
            {
                "timestamp": record.created,
                "level": record.levelname.lower(),
                "event": record.getMessage(),
                **fields,
            }
        )
        self.count += 1


_STDLIB_FIELDS = frozenset({"producer", "seq", "route", "status"})


async def _stdlib_window(calls: int, cell: StdlibCell, concurrency: int) -> tuple[int, Outcome]:
    """The paced window of ``fapilog.loadtest.paced_window``, through ``QueueHandler``.

    Same shape on purpose: ``concurrency`` tasks, each on its own absolute schedule (staggered),
    one call in 100 a WARNING, the same event and fields, each call timed alone. The schedule is
    the load test's :class:`~fapilog.loadtest.Pacer` (one pacer for every paced benchmark); only
    the calls are timed, never the pacing, so the reference's figure is the standard library's.
    """
    records: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=cell.maxsize)
    target = _JsonLinesInMemory()
    listener = logging.handlers.QueueListener(records, target)
    logger = logging.getLogger(f"fapilog.bench.stdlib.{id(records)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.handlers.QueueHandler(records)
    logger.addHandler(handler)
    clock = time.perf_counter_ns
    shares = [
        calls // concurrency + (1 if p < calls % concurrency else 0) for p in range(concurrency)
    ]
    total_ns = 0
    enqueued = 0

    async def producer(p: int, n: int, start_ns: int) -> None:
        nonlocal total_ns, enqueued
        pacer = Pacer(cell.total_rate / concurrency, start_ns=start_ns, clock=clock)
        for seq in range(n):
            await pacer.wait()
            call = logger.warning if (seq + p) % 100 == 0 else logger.info
            fields = {"producer": p, "seq": seq, "route": "/api/orders", "status": 200}
            start = clock()
            call("loadtest.request", extra=fields)
            total_ns += clock() - start
            enqueued += 1

    listener.start()
    began = clock()
    try:
        await asyncio.gather(
            *(
                producer(p, shares[p], began + round(p * 1e9 / cell.total_rate))
                for p in range(concurrency)
            )
        )
        elapsed_s = (clock() - began) / 1e9
    finally:
        listener.stop()  # drains what is queued, then joins the listener thread
        logger.removeHandler(handler)
    return total_ns, Outcome(calls, enqueued, target.count, 0, elapsed_s)


def time_stdlib(loops: int, cell: StdlibCell, concurrency: int, stats_dir: str | None) -> float:
    """pyperf time function: the summed latency of ``loops`` paced QueueHandler calls."""
    total_ns, outcome = asyncio.run(_stdlib_window(loops, cell, concurrency))
    _record(stats_dir, cell, outcome)
    return total_ns / 1e9


# -- the side channel: worker processes tell the parent what their windows delivered --------


def _stats_file(stats_dir: str, cell: Cell) -> Path:
    return Path(stats_dir) / (hashlib.sha256(cell.name.encode()).hexdigest()[:20] + ".jsonl")


def _record(stats_dir: str | None, cell: Cell, outcome: Outcome) -> None:
    if stats_dir is None:
        return
    with _stats_file(stats_dir, cell).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(outcome.__dict__) + "\n")


def measured_metadata(stats_dir: str, cell: Cell) -> dict[str, float]:
    """Totals over every window the workers ran for ``cell`` (warmups included)."""
    path = _stats_file(stats_dir, cell)
    if not path.exists():
        return {}
    outcomes = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    calls = sum(o["calls"] for o in outcomes)
    elapsed = sum(o["elapsed_s"] for o in outcomes)
    if not calls:
        return {}
    metadata = {
        "delivered_share": round(sum(o["delivered"] for o in outcomes) / calls, 6),
        "enqueued_share": round(sum(o["enqueued"] for o in outcomes) / calls, 6),
        "waited_share": round(sum(o["waited"] for o in outcomes) / calls, 6),
    }
    metadata["accepted_share"] = metadata["enqueued_share"]  # deprecated name, for this release
    if elapsed > 0:
        metadata["achieved_rate"] = round(calls / elapsed, 1)
    return metadata


def _add_measured_metadata(filename: str, extra: dict[str, dict[str, float]]) -> None:
    suite = pyperf.BenchmarkSuite.load(filename)
    for bench in suite.get_benchmarks():
        if extra.get(bench.get_name()):
            bench.update_metadata(extra[bench.get_name()])
    suite.dump(filename, replace=True)


# -- the matrix ------------------------------------------------------------------------------


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers >= 1")
    return values


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fapilog matrix (comma-separated lists)")
    group.add_argument(
        "--families", type=comma_list(FAMILIES + REFERENCE_FAMILIES), default=list(FAMILIES)
    )
    group.add_argument("--strategies", type=comma_list(STRATEGIES), default=list(STRATEGIES))
    group.add_argument("--maxsizes", type=_positive_ints, default=[100, 1000, 10000])
    group.add_argument("--workers", type=comma_list(WORKERS), default=list(WORKERS))
    group.add_argument("--loads", type=comma_list(LOADS), default=list(LOADS))
    group.add_argument(
        "--total-rates",
        type=_positive_ints,
        default=[10_000],
        help="calls/s of all producers together",
    )
    group.add_argument(
        "--rates",
        dest="total_rates",
        type=_positive_ints,
        action=DeprecatedAlias,
        new="--total-rates",
    )
    group.add_argument("--concurrency", type=int, default=CONCURRENCY, help="producer tasks")
    group.add_argument("--throughput-sinks", type=comma_list(SINKS), default=list(SINKS))
    group.add_argument("--throughput-json", type=comma_list(JSONS), default=list(JSONS))
    group.add_argument("--throughput-workers", type=comma_list(WORKERS), default=list(WORKERS))
    group.add_argument("--stats-dir", help=argparse.SUPPRESS)


def pass_options_to_worker(cmd: list[str], args: argparse.Namespace) -> None:
    """pyperf ``add_cmdline_args``: workers must build the very same matrix (same indices)."""
    for option, value in (
        ("--families", args.families),
        ("--strategies", args.strategies),
        ("--maxsizes", args.maxsizes),
        ("--workers", args.workers),
        ("--loads", args.loads),
        ("--total-rates", args.total_rates),
        ("--throughput-sinks", args.throughput_sinks),
        ("--throughput-json", args.throughput_json),
        ("--throughput-workers", args.throughput_workers),
    ):
        cmd.extend([option, ",".join(str(v) for v in value)])
    cmd.extend(["--concurrency", str(args.concurrency)])
    if args.stats_dir:
        cmd.extend(["--stats-dir", args.stats_dir])


def matrix(args: argparse.Namespace) -> list[Cell]:
    """Every cell the options ask for, in a fixed order (workers find their cell by index)."""
    cells: list[Cell] = []
    if "enqueue" in args.families:
        cells += [
            EnqueueCell(strategy, maxsize, worker, load, total_rate)
            for total_rate in args.total_rates
            for load in args.loads
            for strategy in args.strategies
            for maxsize in args.maxsizes
            for worker in args.workers
        ]
    if "throughput" in args.families:
        cells += [
            ThroughputCell(sink, json_name, worker)
            for sink in args.throughput_sinks
            for json_name in args.throughput_json
            for worker in args.throughput_workers
            if json_name != "orjson" or ORJSON_INSTALLED
        ]
    if "cpu" in args.families:
        cells += [
            CpuCell(sink, json_name, worker)
            for sink in args.throughput_sinks
            for json_name in args.throughput_json
            for worker in args.throughput_workers
            if json_name != "orjson" or ORJSON_INSTALLED
        ]
    if "stdlib" in args.families:
        cells += [
            StdlibCell(maxsize, total_rate)
            for total_rate in args.total_rates
            for maxsize in args.maxsizes
        ]
    return cells


def main() -> None:
    runner = pyperf.Runner(
        processes=PROCESSES,
        values=VALUES,
        warmups=1,
        loops=CALLS_PER_VALUE,
        add_cmdline_args=pass_options_to_worker,
    )
    add_options(runner.argparser)
    args = runner.parse_args()
    own_stats_dir = not args.worker and args.stats_dir is None
    if own_stats_dir:
        args.stats_dir = tempfile.mkdtemp(prefix="fapilog-bench-stats-")
    if not args.worker and "orjson" in args.throughput_json and not ORJSON_INSTALLED:
        print("orjson is not installed: the throughput/cpu[json=orjson] cells are skipped")
    extra: dict[str, dict[str, float]] = {}
    try:
        for cell in matrix(args):
            if isinstance(cell, EnqueueCell):
                bench = runner.bench_time_func(
                    cell.name,
                    time_enqueue,
                    cell,
                    args.concurrency,
                    args.stats_dir,
                    metadata=cell.metadata(args.concurrency),
                )
            elif isinstance(cell, CpuCell):
                bench = runner.bench_time_func(
                    cell.name,
                    time_cpu,
                    cell,
                    args.stats_dir,
                    inner_loops=THROUGHPUT_EVENTS_PER_LOOP,
                    metadata=cell.metadata(),
                )
            elif isinstance(cell, StdlibCell):
                bench = runner.bench_time_func(
                    cell.name,
                    time_stdlib,
                    cell,
                    args.concurrency,
                    args.stats_dir,
                    metadata=cell.metadata(args.concurrency),
                )
            else:
                bench = runner.bench_time_func(
                    cell.name,
                    time_throughput,
                    cell,
                    args.stats_dir,
                    inner_loops=THROUGHPUT_EVENTS_PER_LOOP,
                    metadata=cell.metadata(),
                )
            if bench is not None and not args.worker:
                extra[cell.name] = measured_metadata(args.stats_dir, cell)
        if not args.worker:
            for filename in (args.output, args.append):
                if filename:
                    _add_measured_metadata(filename, extra)
    finally:
        if own_stats_dir:
            shutil.rmtree(args.stats_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
