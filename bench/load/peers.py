"""fapilog against its peers, interleaved in one run: CPU per event end to end, and enqueue latency.

    python -m bench.load.peers [-o peers.json] [--markdown peers.md] [--rounds 3] …

Two workloads, each through every library that is installed, every library in a fresh
subprocess, the libraries' order rotated each round (so none always runs first or last):

``cpu``
    ``--events`` (200,000) calls in a tight loop on one thread, JSON lines into a real file in a
    temporary directory, then the library's shutdown. The figure is ``time.process_time()`` (every
    thread: the caller's and any writer thread's) from the first call to the end of the shutdown,
    divided by the events: the CPU one event costs the process. fapilog runs with
    ``queue_overflow="block"`` (nothing dropped).
``enqueue``
    ``--concurrency`` (10) asyncio tasks on one loop, together ``--total-rate`` (10,000) calls/s
    on an absolute schedule (the load test's :class:`~fapilog.loadtest.Pacer`) for ``--duration``
    seconds, each call timed with ``time.perf_counter_ns``: the latency the caller pays (mean,
    nearest-rank p99 and p99.9, as the load test's), and the process CPU per event of the window.
    ``--tasks`` and ``--rate`` are the deprecated spellings of ``--concurrency`` and
    ``--total-rate``.

The libraries, each writing the same fields (timestamp, level, event, ``seq``, ``route``,
``status``) as one JSON line per event, with orjson:

- ``fapilog``: the default pipeline (a worker thread) and a ``FileSink``;
- ``stdlib``: ``logging.handlers.QueueHandler`` + ``QueueListener`` (the documented recipe, an
  unbounded ``SimpleQueue``), the fields passed as ``extra``, and a ``FileHandler`` on the
  listener whose formatter writes the JSON line;
- ``structlog``: synchronous, ``add_log_level``, ``TimeStamper(fmt="iso")``, ``JSONRenderer`` with
  orjson, a ``BytesLogger`` on the file (the configuration its docs recommend for speed);
- ``picologging``: its ``QueueHandler`` + ``QueueListener`` and ``FileHandler``. picologging
  ignores ``extra``, and ``QueueHandler.prepare`` drops the arguments, so the fields travel as
  the call's mapping argument and the JSON formatter sits on the ``QueueHandler`` (the caller
  formats, as ``prepare`` does in both libraries).

A peer that is not importable is skipped with a message. The output is one pyperf JSON file (one
benchmark per library and measure, one value per round: ``peers.cpu[lib=…]`` is seconds of CPU
per event, ``peers.enqueue[lib=…]`` the mean enqueue latency in seconds) and a Markdown table of
medians with the ratio fapilog ÷ each peer (below 1: fapilog costs less). ``nox -s bench_peers``
installs the peers in its own virtualenv; they are never dependencies of fapilog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fapilog  # noqa: F401
except ImportError:  # a fresh checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from fapilog.loadtest import Pacer
from fapilog.loadtest._histogram import percentile

try:
    from bench.load._cli import DeprecatedAlias, comma_list
except ImportError:  # run as a script: the children, started by path
    from _cli import DeprecatedAlias, comma_list  # type: ignore[no-redef]

LIBRARIES = ("fapilog", "stdlib", "structlog", "picologging")
WORKLOADS = ("cpu", "enqueue")
#: Exit status of a child whose library cannot be imported: the parent skips that peer.
UNAVAILABLE = 3
EVENT = "bench.event"
ROUTE = "/api/orders"


# -- the libraries, set up the same way (child side) -----------------------------------------


@dataclass
class Setup:
    """One configured library: ``call(event, fields)`` logs one event; ``finish()`` drains all."""

    call: Callable[..., Any]
    style: (
        str  # "kwargs": call(EVENT, **fields); "extra": extra=fields; "args": call(EVENT, fields)
    )
    finish: Callable[[], None]


def _dumps() -> Callable[[Any], bytes]:
    try:
        import orjson
    except ImportError:  # the figures say which backend ran (metadata "json_backend")

        def dumps(obj: Any) -> bytes:
            return json.dumps(obj, separators=(",", ":")).encode()

        return dumps
    return orjson.dumps


def _iso_utc(created: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(created, UTC).isoformat()


def _json_formatter(base: type) -> Any:
    """A formatter class (on the stdlib's or picologging's ``Formatter``) writing JSON lines."""
    dumps = _dumps()

    class JsonFormatter(base):  # type: ignore[misc,valid-type]
        def format(self, record: Any) -> str:
            args = record.args
            if args:
                fields = args if isinstance(args, dict) else args[0]
            else:  # the stdlib: the fields came as ``extra`` attributes
                fields = {"seq": record.seq, "route": record.route, "status": record.status}
            line = {
                "timestamp": _iso_utc(record.created),
                "level": record.levelname.lower(),
                "event": record.msg,
                **fields,
            }
            return dumps(line).decode()

    return JsonFormatter()


def setup_fapilog(path: Path, workload: str) -> Setup:
    import fapilog
    from fapilog.sinks import FileSink

    overrides: dict[str, Any] = {"level": "INFO", "sinks": (FileSink(path),)}
    if workload == "cpu":
        overrides.update(queue_overflow="block", queue_block_timeout=None)
    fapilog.configure_logging(fapilog.LoggingSettings(), **overrides)

    def finish() -> None:
        fapilog.shutdown()

    return Setup(fapilog.log.info, "kwargs", finish)


def _setup_queue_recipe(logging: Any, handlers: Any, path: Path, *, caller_formats: bool) -> Setup:
    import queue

    q: queue.SimpleQueue[Any] = queue.SimpleQueue()
    target = logging.FileHandler(str(path))
    queue_handler = handlers.QueueHandler(q)
    if caller_formats:
        queue_handler.setFormatter(_json_formatter(logging.Formatter))
        target.setFormatter(logging.Formatter("%(message)s"))
    else:
        target.setFormatter(_json_formatter(logging.Formatter))
    listener = handlers.QueueListener(q, target)
    logger = logging.getLogger("bench_peers")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(queue_handler)
    listener.start()

    def finish() -> None:
        listener.stop()
        target.close()

    return Setup(logger.info, "args" if caller_formats else "extra", finish)


def setup_stdlib(path: Path, workload: str) -> Setup:
    import logging
    import logging.handlers

    return _setup_queue_recipe(logging, logging.handlers, path, caller_formats=False)


def setup_picologging(path: Path, workload: str) -> Setup:
    import picologging  # type: ignore[import-not-found,unused-ignore]
    import picologging.handlers  # type: ignore[import-not-found,unused-ignore]

    return _setup_queue_recipe(picologging, picologging.handlers, path, caller_formats=True)


def setup_structlog(path: Path, workload: str) -> Setup:
    import logging

    import structlog

    out = path.open("wb")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=_dumps()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.BytesLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    return Setup(structlog.get_logger().info, "kwargs", out.close)


SETUPS: dict[str, Callable[[Path, str], Setup]] = {
    "fapilog": setup_fapilog,
    "stdlib": setup_stdlib,
    "structlog": setup_structlog,
    "picologging": setup_picologging,
}


# -- the workloads (child side) --------------------------------------------------------------


def run_cpu(setup: Setup, events: int) -> dict[str, float]:
    call, style = setup.call, setup.style
    start = time.process_time()
    wall = time.perf_counter()
    if style == "kwargs":
        for seq in range(events):
            call(EVENT, seq=seq, route=ROUTE, status=200)
    elif style == "extra":
        for seq in range(events):
            call(EVENT, extra={"seq": seq, "route": ROUTE, "status": 200})
    else:
        for seq in range(events):
            call(EVENT, {"seq": seq, "route": ROUTE, "status": 200})
    setup.finish()
    cpu_s = time.process_time() - start
    return {"cpu_s_per_event": cpu_s / events, "wall_s": time.perf_counter() - wall}


async def _paced(setup: Setup, concurrency: int, total_rate: float, duration: float) -> array[int]:
    per_task = max(1, int(total_rate / concurrency * duration))
    rate = total_rate / concurrency  # each task's
    samples = array("q", bytes(8 * concurrency * per_task))  # preallocated: no growth later
    clock = time.perf_counter_ns
    call, style = setup.call, setup.style

    async def producer(task: int) -> None:
        base = task * per_task
        # Spread the tasks over one interval; behind schedule a task sends at once, never drifts.
        pacer = Pacer(rate, start_ns=clock() + round(task * 1e9 / total_rate), clock=clock)
        for seq in range(per_task):
            await pacer.wait()
            if style == "kwargs":
                t0 = clock()
                call(EVENT, seq=seq, route=ROUTE, status=200)
                t1 = clock()
            elif style == "extra":
                t0 = clock()
                call(EVENT, extra={"seq": seq, "route": ROUTE, "status": 200})
                t1 = clock()
            else:
                t0 = clock()
                call(EVENT, {"seq": seq, "route": ROUTE, "status": 200})
                t1 = clock()
            samples[base + seq] = t1 - t0

    await asyncio.gather(*(producer(t) for t in range(concurrency)))
    return samples


def run_enqueue(
    setup: Setup, concurrency: int, total_rate: float, duration: float
) -> dict[str, float]:
    start = time.process_time()
    samples = asyncio.run(_paced(setup, concurrency, total_rate, duration))
    setup.finish()
    cpu_s = time.process_time() - start
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "mean_s": sum(ordered) / n / 1e9,
        "p99_s": percentile(ordered, 99) / 1e9,
        "p99_9_s": percentile(ordered, 99.9) / 1e9,
        "cpu_s_per_event": cpu_s / n,
    }


def child(lib: str, workload: str, args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="fapilog-peers-") as tmp:
        path = Path(tmp) / "app.log"
        try:
            setup = SETUPS[lib](path, workload)
        except ImportError as exc:
            print(f"{lib} is not available: {exc}", file=sys.stderr)
            return UNAVAILABLE
        if workload == "cpu":
            result = run_cpu(setup, args.events)
            calls = args.events
        else:
            result = run_enqueue(setup, args.concurrency, args.total_rate, args.duration)
            calls = args.concurrency * max(
                1, int(args.total_rate / args.concurrency * args.duration)
            )
        with path.open("rb") as fh:
            lines = sum(1 for _ in fh)
    print(json.dumps({**result, "calls": calls, "lines": lines}))
    return 0


# -- the run and its report (parent side) ----------------------------------------------------


@dataclass
class Sample:
    """One child's figures for one library, workload and round."""

    lib: str
    workload: str
    round: int
    values: dict[str, float]


def rotated(libs: Sequence[str], round_no: int) -> list[str]:
    """The libraries in the order of this round: round r starts with the r-th library."""
    if not libs:
        return []
    shift = round_no % len(libs)
    return [*libs[shift:], *libs[:shift]]


def medians(samples: Sequence[Sample]) -> dict[tuple[str, str], dict[str, float]]:
    """Median over rounds of each figure, per (library, workload)."""
    grouped: dict[tuple[str, str], list[dict[str, float]]] = {}
    for sample in samples:
        grouped.setdefault((sample.lib, sample.workload), []).append(sample.values)
    return {
        key: {name: statistics.median(v[name] for v in values) for name in values[0]}
        for key, values in grouped.items()
    }


#: The table's columns: (workload, figure, heading).
COLUMNS = (
    ("cpu", "cpu_s_per_event", "CPU/event, end to end"),
    ("enqueue", "mean_s", "enqueue mean"),
    ("enqueue", "p99_s", "enqueue p99"),
    ("enqueue", "cpu_s_per_event", "CPU/event at 10k/s"),
)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """fapilog ÷ peer (below 1: fapilog costs less); None when either side is missing or 0."""
    if ours is None or theirs is None or theirs <= 0:
        return None
    return ours / theirs


def markdown_table(
    figures: dict[tuple[str, str], dict[str, float]], libs: Sequence[str], reference: str
) -> str:
    """Medians in µs per library, each peer's cell followed by the ratio reference ÷ peer."""
    head = "| library | " + " | ".join(title for _, _, title in COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(COLUMNS) + 1)]
    for lib in libs:
        cells = []
        for workload, figure, _ in COLUMNS:
            value = figures.get((lib, workload), {}).get(figure)
            if value is None:
                cells.append("n/a")
                continue
            text = f"{value * 1e6:.2f} µs"
            if lib != reference:
                mine = figures.get((reference, workload), {}).get(figure)
                r = ratio(mine, value)
                text += f" ({r:.2f})" if r is not None else ""
            cells.append(text)
        lines.append(f"| {lib} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pyperf_suite(samples: Sequence[Sample], metadata: dict[str, Any]) -> Any:
    """One pyperf benchmark per (workload, library), one value per round, in seconds."""
    import pyperf  # type: ignore[import-untyped]

    figure = {"cpu": "cpu_s_per_event", "enqueue": "mean_s"}
    benchmarks = []
    keys = sorted({(s.workload, s.lib) for s in samples})
    for workload, lib in keys:
        name = f"peers.{workload}[lib={lib}]"
        runs = []
        for s in samples:
            if (s.workload, s.lib) != (workload, lib):
                continue
            run_meta = {
                **metadata,
                "name": name,
                "unit": "second",
                "library": lib,
                "workload": workload,
                "round": s.round,
                **{f"peer_{k}": v for k, v in s.values.items()},
            }
            runs.append(pyperf.Run([s.values[figure[workload]]], metadata=run_meta))
        benchmarks.append(pyperf.Benchmark(runs))
    return pyperf.BenchmarkSuite(benchmarks)


def _child_command(lib: str, workload: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        lib,
        workload,
        "--events",
        str(args.events),
        "--concurrency",
        str(args.concurrency),
        "--total-rate",
        str(args.total_rate),
        "--duration",
        str(args.duration),
    ]


def parent(args: argparse.Namespace) -> int:
    libs = list(args.libs)
    unavailable: dict[str, str] = {}
    samples: list[Sample] = []
    for round_no in range(args.rounds):
        for workload in args.workloads:
            for lib in rotated(libs, round_no):
                if lib in unavailable:
                    continue
                proc = subprocess.run(
                    _child_command(lib, workload, args),
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "PYTHONHASHSEED": "0"},
                )
                if proc.returncode == UNAVAILABLE:
                    unavailable[lib] = proc.stderr.strip()
                    print(f"skipped: {unavailable[lib]}")
                    continue
                if proc.returncode != 0:
                    print(proc.stdout + proc.stderr, file=sys.stderr)
                    raise SystemExit(f"{lib}/{workload} failed (exit {proc.returncode})")
                values = json.loads(proc.stdout.strip().splitlines()[-1])
                if values["lines"] != values["calls"]:
                    raise SystemExit(
                        f"{lib}/{workload}: {values['lines']} lines for {values['calls']} calls"
                    )
                samples.append(Sample(lib, workload, round_no, values))
                shown = values["cpu_s_per_event"] * 1e6
                print(f"round {round_no + 1} {workload:<8}{lib:<12}{shown:8.2f} µs CPU/event")
    available = [lib for lib in libs if lib not in unavailable]
    figures = medians(samples)
    table = markdown_table(figures, available, "fapilog")
    header = (
        f"Medians of {args.rounds} interleaved rounds, {time.strftime('%Y-%m-%d', time.gmtime())}, "
        f"Python {platform.python_version()}: `cpu` = {args.events:,} calls then shutdown, "
        f"process CPU ÷ events; `enqueue` = {args.concurrency} tasks, together "
        f"{args.total_rate:,.0f} calls/s for {args.duration:g} s. "
        "In brackets: fapilog ÷ that library (below 1: fapilog costs less)."
    )
    for lib, why in unavailable.items():
        header += f"\n\n{lib}: not measured ({why})."
    report = header + "\n\n" + table
    print()
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report, encoding="utf-8")
    if args.output:
        import fapilog

        metadata = {
            "fapilog_version": fapilog.__version__,
            "events": args.events,
            "concurrency": args.concurrency,
            "total_rate": args.total_rate,
            "duration_s": args.duration,
        }
        pyperf_suite(samples, metadata).dump(args.output, replace=args.replace)
        print(f"wrote {args.output}")
    return 0


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number > 0")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help="pyperf JSON file to write")
    parser.add_argument("--replace", action="store_true", help="overwrite --output if it exists")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    parser.add_argument("--rounds", type=_positive(int), default=3)
    parser.add_argument("--libs", type=comma_list(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--workloads", type=comma_list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--events", type=_positive(int), default=200_000, help="cpu workload")
    parser.add_argument(
        "--concurrency", type=_positive(int), default=10, help="enqueue workload: producer tasks"
    )
    parser.add_argument(
        "--total-rate",
        type=_positive(float),
        default=10_000.0,
        help="enqueue workload: calls/s of all tasks together",
    )
    parser.add_argument(
        "--tasks",
        dest="concurrency",
        type=_positive(int),
        action=DeprecatedAlias,
        new="--concurrency",
    )
    parser.add_argument(
        "--rate",
        dest="total_rate",
        type=_positive(float),
        action=DeprecatedAlias,
        new="--total-rate",
    )
    parser.add_argument("--duration", type=_positive(float), default=3.0, help="seconds")
    parser.add_argument("--child", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        lib, workload = args.child
        return child(lib, workload, args)
    if "fapilog" not in args.libs:
        parser.error("--libs: fapilog must be one of them (the ratios are fapilog ÷ peer)")
    if args.output and Path(args.output).exists() and not args.replace:
        parser.error(f"--output {args.output} already exists (use --replace to overwrite)")
    return parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
