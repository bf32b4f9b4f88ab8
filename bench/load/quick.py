"""Quick enqueue benchmark: fapilog against the standard library's QueueHandler, same run.

10 asyncio tasks × 1,000 logs/s for 5 s on an absolute schedule (the default workload), each call
timed with ``time.perf_counter_ns``. First through fapilog (default settings, a ``MemorySink``),
then through ``logging.handlers.QueueHandler``/``QueueListener`` with a handler that does the
same downstream work (JSON line into memory), then an empty function with the same arguments
(the floor: what a Python call and the timer cost on this machine). Prints mean/p50/p99/p99.9/max
per call (nearest-rank percentiles, as the load test's), what was delivered, and the ratio of the
means. Standard library only, from the repository root::

    python -m bench.load.quick [--concurrency 10] [--rate 1000] [--duration 5] [--json out.json]

``--rate`` is per producer task; ``--tasks`` is the deprecated spelling of ``--concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import logging.handlers
import platform
import queue
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import fapilog
except ImportError:  # a fresh checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    import fapilog
from fapilog.loadtest import Pacer
from fapilog.loadtest._histogram import percentile
from fapilog.sinks import MemorySink

try:
    from bench.load._cli import DeprecatedAlias
except ImportError:  # run as a script (python bench/load/quick.py)
    from _cli import DeprecatedAlias  # type: ignore[no-redef]

FIELDS = {"method": "GET", "path": "/api/items", "status": 200, "user": "u-1234"}


async def _paced(
    method: Callable[..., object], concurrency: int, rate: float, duration: float, *, stdlib: bool
) -> array[int]:
    """Run ``concurrency`` tasks at ``rate`` calls/s each; return every call's latency in ns.

    The timed region is the log call itself, fields included, written out for each library's
    calling convention (no wrapper function in between).
    """
    per_task = int(rate * duration)
    samples = array(
        "q", bytes(8 * concurrency * per_task)
    )  # preallocated: no growth while measuring
    clock = time.perf_counter_ns

    async def producer(task: int) -> None:
        base = task * per_task
        pacer = Pacer(rate, clock=clock)  # behind schedule it sends at once: never drifts
        for i in range(per_task):
            await pacer.wait()
            if stdlib:
                t0 = clock()
                method("request", extra={"i": i, **FIELDS})
                t1 = clock()
            else:
                t0 = clock()
                method("request", i=i, **FIELDS)
                t1 = clock()
            samples[base + i] = t1 - t0

    await asyncio.gather(*(producer(t) for t in range(concurrency)))
    return samples


def _summary(samples: array[int]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)

    def pct(p: float) -> float:
        return percentile(ordered, p) / 1000

    return {
        "calls": n,
        "mean_us": sum(ordered) / n / 1000,
        "p50_us": pct(50),
        "p99_us": pct(99),
        "p99_9_us": pct(99.9),
        "max_us": ordered[-1] / 1000,
    }


def run_fapilog(concurrency: int, rate: float, duration: float) -> dict[str, Any]:
    sink = MemorySink()

    async def main() -> array[int]:
        fapilog.configure_logging(sinks=(sink,))
        return await _paced(fapilog.log.info, concurrency, rate, duration, stdlib=False)

    samples = asyncio.run(main())
    final = fapilog.shutdown()
    return {
        **_summary(samples),
        "enqueued": final.enqueued,
        "delivered": sink.count,
        "dropped": final.dropped,
    }


class _JsonMemoryHandler(logging.Handler):
    """The listener side: one JSON line per record into memory, like fapilog's MemorySink."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        json.dumps(
            {
                "timestamp": record.created,
                "level": record.levelname.lower(),
                "event": record.getMessage(),
                "i": getattr(record, "i", None),
                **FIELDS,
            }
        )
        self.count += 1


def run_stdlib(concurrency: int, rate: float, duration: float) -> dict[str, Any]:
    q: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=10_000)
    target = _JsonMemoryHandler()
    listener = logging.handlers.QueueListener(q, target)
    logger = logging.getLogger("quick_enqueue.stdlib")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.handlers.QueueHandler(q)
    logger.addHandler(handler)
    listener.start()
    try:
        samples = asyncio.run(_paced(logger.info, concurrency, rate, duration, stdlib=True))
    finally:
        listener.stop()
        logger.removeHandler(handler)
    return {**_summary(samples), "enqueued": len(samples), "delivered": target.count, "dropped": 0}


def _floor(event: object, /, **fields: object) -> bool:
    """An empty function with the log call's signature: what the harness itself costs."""
    return True


def run_floor(concurrency: int, rate: float, duration: float) -> dict[str, Any]:
    samples = asyncio.run(_paced(_floor, concurrency, rate, duration, stdlib=False))
    return {**_summary(samples), "enqueued": 0, "delivered": 0, "dropped": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=10, help="producer tasks")
    parser.add_argument(
        "--tasks", dest="concurrency", type=int, action=DeprecatedAlias, new="--concurrency"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="logs/s per task")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per library")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    results = {
        "fapilog": run_fapilog(args.concurrency, args.rate, args.duration),
        "stdlib": run_stdlib(args.concurrency, args.rate, args.duration),
        "floor": run_floor(args.concurrency, args.rate, args.duration),
    }
    ratio = results["stdlib"]["mean_us"] / results["fapilog"]["mean_us"]
    print(
        f"workload: {args.concurrency} tasks × {args.rate:,.0f} logs/s × {args.duration:g} s "
        f"(Python {platform.python_version()}, fapilog {fapilog.__version__})"
    )
    print(
        f"{'':<9}{'calls':>8}{'mean µs':>9}{'p50':>8}{'p99':>8}{'p99.9':>8}{'max':>9}"
        f"{'delivered':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:<9}{r['calls']:>8,}{r['mean_us']:>9.2f}{r['p50_us']:>8.2f}{r['p99_us']:>8.2f}"
            f"{r['p99_9_us']:>8.2f}{r['max_us']:>9.1f}{r['delivered']:>11,}"
        )
    print(f"fapilog mean is 1/{ratio:.1f} of the standard library's QueueHandler mean")
    print("(floor: an empty function with the same arguments, timed the same way)")
    if args.json:
        args.json.write_text(
            json.dumps({"schema": "fapilog.quick_enqueue/1", "ratio": ratio, **results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
