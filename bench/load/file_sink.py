"""File sink throughput, with rotation: one process, and several processes sharing one path.

    python -m bench.load.file_sink [--events 200000] [--processes 1] [--max-bytes N]
        [--backup-count N]
                              [--sink-only --batch 256]

Each process logs ``--events`` events back to back through the real pipeline
(``configure_logging(sinks=("file:///…?max_bytes=…&backup_count=…",), queue_overflow="block")``)
and shuts down; the time from the first call to the end of the drain gives events/s (of the
slowest process), and the CPU time of the processes (all threads) gives µs per event, the steadier
figure on a shared machine. Then the
lines across the file and its backups are counted (``lines_found``), so a run that loses or
repeats lines says so (with a ``--backup-count`` large enough to keep them all).
``--sink-only`` times ``FileSink.write`` alone with ready-made batches of
``--batch`` lines (the sink's own cost per batch, without the queue and the serializer).
Standard library only; prints one JSON object. Compare two checkouts by running this script
alternately with ``PYTHONPATH`` pointing at each ``src``: the machine is noisy, so interleave.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import fapilog
except ImportError:  # a fresh checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    import fapilog
from fapilog.sinks import FileSink

LINE_FIELDS = {"method": "GET", "path": "/api/items", "status": 200, "user": "u-1234"}


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _pipeline(
    path: str, events: int, max_bytes: int, backup_count: int, index: int
) -> tuple[float, float]:
    fapilog.configure_logging(
        sinks=(f"file://{path}?max_bytes={max_bytes}&backup_count={backup_count}",),
        queue_overflow="block",
        queue_block_timeout=None,
    )
    start, cpu = time.perf_counter(), _cpu_s()
    for i in range(events):
        fapilog.log.info("request", p=index, i=i, **LINE_FIELDS)
    fapilog.shutdown(timeout=120)
    return time.perf_counter() - start, _cpu_s() - cpu


def _sink_only(
    path: str, events: int, max_bytes: int, backup_count: int, batch: int
) -> tuple[float, float]:
    sink = FileSink(path, max_bytes=max_bytes, backup_count=backup_count)
    line = json.dumps({"level": "INFO", "event": "request", **LINE_FIELDS}).encode() + b"\n"
    lines = [line] * batch
    start, cpu = time.perf_counter(), _cpu_s()
    for _ in range(events // batch):
        sink.write(lines)
        sink.flush()
    sink.close()
    return time.perf_counter() - start, _cpu_s() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per process")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256, help="lines per batch (--sink-only)")
    parser.add_argument("--max-bytes", type=int, default=1_000_000)
    parser.add_argument(
        "--backup-count", type=int, default=5, help="large enough to keep every line: count them"
    )
    parser.add_argument("--sink-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "app.log")
        if args.sink_only:
            timings = [_sink_only(path, args.events, args.max_bytes, args.backup_count, args.batch)]
            total = args.events // args.batch * args.batch
        else:
            with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
                jobs = [
                    (path, args.events, args.max_bytes, args.backup_count, k)
                    for k in range(args.processes)
                ]
                timings = pool.starmap(_pipeline, jobs)
            total = args.events * args.processes
        files = [p for p in Path(tmp).iterdir() if not p.name.endswith(".lock")]
        found = sum(p.read_bytes().count(b"\n") for p in files)
        report: dict[str, Any] = {
            "fapilog": os.path.dirname(fapilog.__file__),
            "mode": "sink-only" if args.sink_only else "pipeline",
            "processes": args.processes,
            "batch": args.batch if args.sink_only else None,
            "events": total,
            "events_per_s": round(total / max(wall for wall, _ in timings)),
            "cpu_us_per_event": round(sum(cpu for _, cpu in timings) / total * 1e6, 3),
            "lines_found": found,
            "files": len(files),
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
