"""What a record through the stdlib bridge costs: the caller's share and the whole process's.

    python bench/load/service/bridge_cost.py                       # this checkout, 5 rounds
    python bench/load/service/bridge_cost.py --against ../base/src # interleaved with another tree

Each round runs one fresh subprocess per source tree (alternating, so drift on a noisy machine
hits both alike); each subprocess measures, for the record uvicorn logs most (the access line,
``'%s - "%s %s HTTP/%s" %d'`` with five arguments):

- ``stdlib``: ``logger.info(...)`` into a handler that does nothing: the standard library's own
  cost (level check, ``findCaller``, ``LogRecord`` creation, handler dispatch);
- ``bridge``: ``logger.info(...)`` into ``fapilog.stdlib.FapilogHandler``: fapilog's share is
  ``bridge - stdlib``;
- ``stdlib_lean`` and ``bridge_lean``: the same two with the ``logging`` switches that
  ``capture(lean=True)`` turns off (caller lookup, thread/process/task names), set by hand so
  that any tree can be measured;
- ``native``: ``fapilog.log.info(...)`` with the same five fields, for reference.

``caller_us`` is the calling thread's CPU per record (``time.thread_time``: the worker thread's
CPU is not in it); ``total_us`` is the whole process's CPU per record (``time.process_time``,
all threads) from the first call until ``flush()`` returned: serialization and file writes
included. orjson is used when installed; the sink is a real file in a temporary directory.
Figures are medians over the rounds; the last column is this tree ÷ the other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ARGS = ("127.0.0.1:53422", "GET", "/items/42?full=1", "1.1", 200)
FIELDS = dict(zip(("client", "method", "path", "http_version", "status"), ARGS, strict=True))
VARIANTS = ("stdlib", "bridge", "stdlib_lean", "bridge_lean", "native")
LEAN = {
    "_srcfile": None,
    "logThreads": False,
    "logProcesses": False,
    "logMultiprocessing": False,
    "logAsyncioTasks": False,
}


def _measure(variant: str, count: int, log_dir: str) -> dict[str, float]:
    """One variant in this process: CPU per record on the calling thread and in total."""
    import logging

    import fapilog
    from fapilog.stdlib import FapilogHandler

    path = Path(log_dir) / f"{variant}.log"
    fapilog.configure_logging(
        sinks=[f"file://{path}"], queue_maxsize=count + 10, queue_overflow="block"
    )

    class Nothing(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
            return True

    bridged = variant.startswith("bridge")
    # The name the bridge knows the arguments of: uvicorn's "uvicorn.access" (a tree without
    # that knowledge simply logs fewer fields).
    logger = logging.getLogger("uvicorn.access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [FapilogHandler() if bridged else Nothing()]
    saved = {name: getattr(logging, name) for name in LEAN if hasattr(logging, name)}
    if variant.endswith("_lean"):
        for name in saved:
            setattr(logging, name, LEAN[name])
    fmt = '%s - "%s %s HTTP/%s" %d'
    native = fapilog.get_logger("uvicorn.access")
    info = logger.info
    try:
        thread0, process0 = time.thread_time_ns(), time.process_time_ns()
        if variant == "native":
            for _ in range(count):
                native.info(fmt, **FIELDS)
        else:
            for _ in range(count):
                info(fmt, *ARGS)
        thread1 = time.thread_time_ns()
        fapilog.flush(30)
        process1 = time.process_time_ns()
    finally:
        for name, value in saved.items():
            setattr(logging, name, value)
    final = fapilog.shutdown()
    if (bridged or variant == "native") and final.delivered != count:
        raise SystemExit(f"{variant}: {final.delivered} of {count} delivered")
    return {
        "caller_us": (thread1 - thread0) / count / 1000,
        "total_us": (process1 - process0) / count / 1000,
    }


def _child(count: int) -> None:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _measure("stdlib", count // 10, tmp)  # warm-up: imports, the pipeline's first build
        for variant in VARIANTS:
            results[variant] = _measure(variant, count, tmp)
    print(json.dumps(results))


def _run_tree(src: str, count: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": src}
    env = {k: v for k, v in env.items() if not k.startswith("FAPILOG_")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--count", str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, dict[str, float]] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU per record through the stdlib bridge")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=50_000, help="records per measurement")
    parser.add_argument("--against", help="another tree's src/ to interleave with (e.g. a base)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.count)
        return
    here = str(Path(__file__).resolve().parents[3] / "src")
    trees = {"this": here} | ({"other": args.against} if args.against else {})
    runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
    for round_no in range(args.rounds):
        order = list(trees.items()) if round_no % 2 == 0 else list(reversed(trees.items()))
        for name, src in order:
            runs[name].append(_run_tree(src, args.count))
    print(f"CPU µs per record, median of {args.rounds} interleaved rounds, {args.count:,} each")
    header = f"{'variant':<16} {'metric':<10}" + "".join(f"{n:>10}" for n in trees)
    print(header + ("     ratio" if args.against else ""))
    for variant in VARIANTS:
        for metric in ("caller_us", "total_us"):
            values = [statistics.median(r[variant][metric] for r in runs[n]) for n in trees]
            row = f"{variant:<16} {metric:<10}" + "".join(f"{v:>10.2f}" for v in values)
            if args.against:
                row += f"{values[0] / values[1]:>10.2f}"
            print(row)
    for name in trees:
        share = [r["bridge"]["caller_us"] - r["stdlib"]["caller_us"] for r in runs[name]]
        median = statistics.median(share)
        print(f"fapilog's share of the bridged caller cost ({name}): {median:.2f} µs")


if __name__ == "__main__":
    main()
