"""Instructions per log call, counted by Valgrind's cachegrind: the gate's deterministic opinion.

Timing on a shared two-core machine moves by 5–25 % between runs; the number of instructions a
log call executes does not move at all when the code does not change. Each *probe* here is a
small program that makes ``calls`` log calls back to back through one path of the public API::

    python bench/load/instructions.py PROBE CALLS        # the probe itself (stdlib + fapilog only)

:func:`count_per_call` runs a probe under ``valgrind --tool=cachegrind`` twice, with
:data:`CALLS_SHORT` and :data:`CALLS_LONG` calls, and divides the difference of the two totals
by the difference of the call counts. Interpreter start-up, imports and ``configure_logging``
are identical in both runs and cancel out, so what is left is the cost of one call.

What a probe measures is the caller's side only, by construction: the pipeline uses
``worker="loop"`` and the calls are made synchronously inside the running loop, so the worker
task cannot run (and no thread competes) until the process ends with ``os._exit``, before any
drain. The garbage collector is off while calling: its passes depend on the heap's history, not
on the call. The queue is large enough that every call is accepted (the plain path).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

#: The probes, each one path of a log call (``floor`` and ``stdlib`` do not touch fapilog).
PROBES = {
    "floor": "an empty function with the log call's signature: what the probe loop costs",
    "info": "log.info(event, **fields) under drop with room: the plain log call",
    "sample": "log.info under sample, below the high-water mark: the sampling check, then append",
    "ainfo_block": "await log.ainfo(...) under block with room: the awaitable call that admits",
    "stdlib": "logging.Logger.info through QueueHandler into a queue.Queue (listener not started)",
}
#: Probes that exercise fapilog and so differ between two revisions.
FAPILOG_PROBES = ("info", "sample", "ainfo_block")
# Two lengths of run: the difference must dwarf start-up jitter (there is none under Valgrind
# for the same binary) while a run stays near 1 s of simulated time.
CALLS_SHORT = 2_000
CALLS_LONG = 12_000
#: ``--time``: the fastest of this many blocks (each block: CALLS calls, then as many empty ones).
TIME_BLOCKS = 5
#: Calls per block of bench_ab's hot[…] cell: ~15 ms of CPU per block on a slow core.
TIME_CALLS = 20_000
FIELDS = {"method": "GET", "path": "/api/items", "status": 200, "user": "u-1234"}
_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


class ValgrindMissing(RuntimeError):
    """Valgrind is not installed: the instruction counts cannot be taken."""


# -- the probes (run in the measured revision's environment) -------------------------------------


def _floor(event: object, /, **fields: object) -> bool:
    return True


def _run_probe(name: str, calls: int, blocks: int = 0) -> None:
    """Make ``calls`` calls; with ``blocks`` > 0, time that many runs of ``calls`` instead, each
    followed by as many calls of the empty function, and print the fastest run's nanoseconds
    per call of each: ``PROBE_NS FLOOR_NS`` (bench_ab's ``hot[…]`` cell and gate_power's
    calibration take the difference, the call's own cost).

    The clock is the thread's CPU time: on a shared machine the wall clock also counts the time
    the process waited for a core, which is most of the noise and none of the call's cost.
    """
    import asyncio
    import gc
    import time

    def loop(method: Callable[..., object], **extra: object) -> None:
        clock = time.thread_time_ns
        best = {"probe": math.inf, "floor": math.inf}
        steps = (("probe", method), ("floor", _floor)) if blocks else (("probe", method),)
        for _ in range(max(blocks, 1)):
            for key, function in steps:
                gc.disable()
                start = clock()
                if extra and key == "probe":  # the standard library's convention: extra=
                    for i in range(calls):
                        function("request", extra={"i": i, **FIELDS})
                else:
                    for i in range(calls):
                        function("request", i=i, **FIELDS)
                best[key] = min(best[key], clock() - start)
                gc.enable()
        if blocks:
            print(f"{best['probe'] / calls:.3f} {best['floor'] / calls:.3f}")

    if name == "floor":
        loop(_floor)
    elif name == "stdlib":
        import logging
        import logging.handlers
        import queue

        logger = logging.getLogger("fapilog.bench.stdlib")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.handlers.QueueHandler(queue.Queue()))
        loop(logger.info, extra=True)
    else:
        import fapilog
        from fapilog.sinks import NullSink

        strategy = {"info": "drop", "sample": "sample", "ainfo_block": "block"}[name]

        async def main() -> None:
            fapilog.configure_logging(
                fapilog.LoggingSettings(),
                level="INFO",
                sinks=(NullSink(),),
                worker="loop",
                queue_overflow=strategy,
                # Room for every call, and far below the sampling high-water mark.
                queue_maxsize=4 * calls * max(blocks, 1) + 1_000,
            )
            if name == "ainfo_block":
                ainfo = fapilog.log.ainfo
                gc.disable()
                for i in range(calls):
                    await ainfo("request", i=i, **FIELDS)
                gc.enable()
            else:
                loop(fapilog.log.info)
            sys.stdout.flush()
            os._exit(0)  # no drain: the worker's cost is not the caller's

        asyncio.run(main())


# -- the driver (run by bench/judge/ab.py) ---------------------------------------------------------


def valgrind_path() -> str:
    path = shutil.which("valgrind")
    if path is None:
        raise ValgrindMissing(
            "valgrind is not installed (Debian/Ubuntu: apt-get install -y valgrind); "
            "the instruction counts are skipped"
        )
    return path


def parse_i_refs(text: str) -> int:
    """The ``I refs`` total from cachegrind's summary on stderr."""
    match = _I_REFS.search(text)
    if match is None:
        raise RuntimeError(f"no 'I refs' line in cachegrind's output:\n{text[-2000:]}")
    return int(match.group(1).replace(",", ""))


def count_total(
    python: str,
    probe: str,
    calls: int,
    script: Path | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    """Instructions of one whole probe process under cachegrind (``script``: this file's copy;
    ``environ``: the environment, default this process's)."""
    with tempfile.TemporaryDirectory(prefix="fapilog-cg-") as tmp:
        cmd = [
            valgrind_path(),
            "--tool=cachegrind",
            "--cache-sim=no",
            "--branch-sim=no",
            f"--cachegrind-out-file={Path(tmp) / 'cg.out'}",
            python,
            "-X",
            "frozen_modules=on",
            str(script or Path(__file__).resolve()),
            probe,
            str(calls),
        ]
        # A fixed hash seed and no user site: the same bytes run the same way every time.
        env = {**(os.environ if environ is None else environ)}
        env.update(PYTHONHASHSEED="0", PYTHONNOUSERSITE="1")
        env = {k: v for k, v in env.items() if not k.startswith("FAPILOG_")}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"probe {probe} failed under valgrind:\n{done.stderr[-2000:]}")
    return parse_i_refs(done.stderr)


def count_per_call(
    python: str, probe: str, script: Path | None = None, environ: dict[str, str] | None = None
) -> float:
    """Instructions of one call of ``probe``: the difference of a long and a short run."""
    short = count_total(python, probe, CALLS_SHORT, script, environ)
    long = count_total(python, probe, CALLS_LONG, script, environ)
    return (long - short) / (CALLS_LONG - CALLS_SHORT)


def time_own_ns(
    python: str, probe: str, script: Path | None = None, environ: dict[str, str] | None = None
) -> tuple[float, float]:
    """One process of ``--time``: (the probe's ns per call, the empty function's ns per call)."""
    done = subprocess.run(
        [python, str(script or Path(__file__).resolve()), "--time", probe, str(TIME_CALLS)],
        capture_output=True,
        text=True,
        env={
            k: v
            for k, v in (os.environ if environ is None else environ).items()
            if not k.startswith("FAPILOG_")
        },
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"--time {probe} failed:\n{done.stderr[-2000:]}")
    probe_ns, floor_ns = (float(x) for x in done.stdout.split()[-2:])
    return probe_ns, floor_ns


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    blocks = 0
    if args[:1] == ["--time"]:
        blocks, args = TIME_BLOCKS, args[1:]
    if len(args) != 2 or args[0] not in PROBES or not args[1].isdigit():
        print(
            f"usage: _instructions.py [--time] PROBE CALLS (PROBE one of {', '.join(PROBES)})",
            file=sys.stderr,
        )
        return 2
    if blocks and args[0] == "ainfo_block":
        print("--time supports the synchronous probes only", file=sys.stderr)
        return 2
    _run_probe(args[0], int(args[1]), blocks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
