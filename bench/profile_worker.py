"""Where the thread worker's CPU goes, stage by stage, at the end-to-end CPU workload.

    python bench/profile_worker.py [--events 200000] [--rate 0] [--batch-api] [--park-early]
                                   [--cprofile]

Runs the ``cpu`` workload of bench/bench_peers.py (tight loop of ``log.info`` calls, ``block``,
a real file, then shutdown) with the worker's stages timed from the inside: each stage's
**thread CPU** (``time.thread_time_ns``) and wall time (``perf_counter_ns``), and how often it
ran — take, serialize, sink write (join + buffered write), sink flush (the ``write(2)``
syscall), give_back, the ``sleep(0)`` hand-offs between batches and the parks on the wake-up
event. The consumer's ``drain_batch`` is replaced by a timed copy of the same steps, so this
script follows the consumer of commit db5bf9b and must be brought up to date with it.
``--rate N`` paces the calls at N/s from one thread (sleeping until each is due) instead of a
tight loop: the regime of a service that is not saturated, where the worker parks and is woken.
``--park-early`` tries a change to the worker's loop (an experiment for the rewrite, not the
shipped code): after a batch smaller than the wake-up threshold it parks again instead of
yielding with ``sleep(0)`` and draining whatever trickled in meanwhile.
``--batch-api`` serializes with ``Serializer.dumps_batch`` (where it exists) instead of
``dumps`` per record. ``--cprofile`` adds a function-level profile of the worker thread (its
overhead inflates every figure; read it for proportions only).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

try:
    import fapilog
except ImportError:  # a fresh checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import fapilog
from fapilog import _consumer, _worker
from fapilog.sinks import FileSink

STAGES = ("take", "serialize", "write", "flush", "give_back", "sleep0", "park")


class Clock:
    """Per-stage totals: thread CPU ns, wall ns, count (only the worker thread records)."""

    def __init__(self) -> None:
        self.cpu: dict[str, int] = defaultdict(int)
        self.wall: dict[str, int] = defaultdict(int)
        self.count: dict[str, int] = defaultdict(int)
        self.batch_sizes: list[int] = []

    def timed(self, stage: str, func: Any, *args: Any) -> Any:
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        try:
            return func(*args)
        finally:
            self.cpu[stage] += time.thread_time_ns() - c0
            self.wall[stage] += time.perf_counter_ns() - w0
            self.count[stage] += 1


CLOCK = Clock()


class TimedFileSink(FileSink):
    def write(self, lines: Any) -> None:
        CLOCK.timed("write", super().write, lines)

    def flush(self) -> None:
        CLOCK.timed("flush", super().flush)


def timed_drain_batch(self: Any, batch_api: bool = False) -> int:
    """Consumer.drain_batch of db5bf9b, step for step, with the stages timed."""
    if self.running_here():
        return 0
    with self.lock:
        if self.abandoned:
            return 0
        batch = CLOCK.timed("take", self.queue.take, self.batch_size)
        if not batch:
            return 0
        CLOCK.batch_sizes.append(len(batch))
        self.owner = threading.get_ident()
        try:
            serializer = self.serializer
            if batch_api and hasattr(serializer, "dumps_batch"):
                lines = CLOCK.timed("serialize", serializer.dumps_batch, batch)
            else:
                dumps = serializer.dumps
                lines = CLOCK.timed("serialize", lambda: [dumps(r) for r in batch])
            ok = True
            for slot in self.slots:
                ok = self._write(slot, lines) and ok
        finally:
            self.owner = None
            CLOCK.timed("give_back", self.queue.give_back, len(batch))
        with self._count_lock:
            if not self.abandoned:
                if ok:
                    self.delivered += len(lines)
                else:
                    self.failed += len(lines)
                self.batches += 1
        return len(lines)


class _TimedEvent:
    """The worker's wake-up event with ``wait`` timed (a park)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event
        self.set = event.set
        self.clear = event.clear
        self.is_set = event.is_set

    def wait(self, timeout: float | None = None) -> bool:
        result: bool = CLOCK.timed("park", self._event.wait, timeout)
        return result


def park_early_run(self: Any) -> None:
    """ThreadWorker._run of db5bf9b, except that a partial batch ends the drain (--park-early)."""
    consumer = self.consumer
    queue = consumer.queue
    items = queue.items
    wake_at = queue.wake_at
    drain = consumer.drain_batch
    while not consumer.abandoned:
        if not self._stopping and len(items) < wake_at:
            queue.wake_pending = False
            queue.parked = True
            if len(items) < wake_at:
                self._event.wait(self.flush_interval_s)
            queue.parked = False
            self._event.clear()
        while drain() >= wake_at:
            _worker.time.sleep(0)
        if self._stopping and not items:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=0.0, help="calls/s; 0: a tight loop")
    parser.add_argument("--batch-api", action="store_true")
    parser.add_argument("--park-early", action="store_true")
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()

    _consumer.Consumer.drain_batch = (  # type: ignore[method-assign]
        lambda self: timed_drain_batch(self, args.batch_api)
    )
    # sleep(0) between batches: the worker module's ``time`` replaced by a timed stand-in.
    real_sleep = time.sleep
    _worker.time = types.SimpleNamespace(  # type: ignore[assignment]
        sleep=lambda s: CLOCK.timed("sleep0" if s == 0 else "sleep", real_sleep, s),
        monotonic=time.monotonic,
    )
    worker_cpu: dict[str, int] = {}
    real_run = park_early_run if args.park_early else _worker.ThreadWorker._run
    profiler = cProfile.Profile() if args.cprofile else None

    def run(self: Any) -> None:
        self._event = _TimedEvent(self._event)
        start = time.thread_time_ns()
        try:
            if profiler is not None:
                profiler.runcall(real_run, self)
            else:
                real_run(self)
        finally:
            worker_cpu["ns"] = time.thread_time_ns() - start

    _worker.ThreadWorker._run = run  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory(prefix="fapilog-profile-") as tmp:
        fapilog.configure_logging(
            fapilog.LoggingSettings(),
            level="INFO",
            sinks=(TimedFileSink(Path(tmp) / "app.log"),),
            queue_overflow="block",
            queue_block_timeout=None,
        )
        info = fapilog.log.info
        start_cpu, start_main = time.process_time_ns(), time.thread_time_ns()
        if args.rate > 0:
            interval, due = 1.0 / args.rate, time.perf_counter()
            for seq in range(args.events):
                due += interval
                while (wait := due - time.perf_counter()) > 0:
                    real_sleep(wait)
                info("bench.event", seq=seq, route="/api/orders", status=200)
        else:
            for seq in range(args.events):
                info("bench.event", seq=seq, route="/api/orders", status=200)
        caller_ns = time.thread_time_ns() - start_main
        stats = fapilog.shutdown()
        total_ns = time.process_time_ns() - start_cpu

    n = args.events
    assert stats.delivered == n, stats
    sizes = CLOCK.batch_sizes
    print(f"fapilog {fapilog.__version__}, Python {sys.version.split()[0]}, {n:,} events")
    pacing = f"paced at {args.rate:,.0f}/s" if args.rate > 0 else "tight loop"
    print(f"{pacing}: process CPU/event {total_ns / n / 1000:.2f} µs = caller (main thread) ")
    print(
        f"  {caller_ns / n / 1000:.2f} µs + worker thread {worker_cpu['ns'] / n / 1000:.2f} µs "
        f"+ rest (shutdown on the main thread, other threads) "
        f"{(total_ns - caller_ns - worker_cpu['ns']) / n / 1000:.2f} µs"
    )
    full_share = sum(1 for s in sizes if s == max(sizes)) / max(1, len(sizes))
    print(
        f"batches {len(sizes):,}, mean size {sum(sizes) / max(1, len(sizes)):.1f}, "
        f"full ({max(sizes, default=0)}) {full_share:.0%}"
    )
    print(f"{'stage':<10}{'calls':>9}{'CPU µs/event':>14}{'wall µs/event':>15}{'CPU µs/call':>13}")
    for stage in STAGES:
        count = CLOCK.count.get(stage, 0)
        cpu, wall = CLOCK.cpu.get(stage, 0), CLOCK.wall.get(stage, 0)
        per_call = cpu / count / 1000 if count else 0.0
        cpu_us, wall_us = cpu / n / 1000, wall / n / 1000
        print(f"{stage:<10}{count:>9,}{cpu_us:>14.3f}{wall_us:>15.3f}{per_call:>13.2f}")
    staged = sum(CLOCK.cpu.values())
    print(f"{'unstaged':<10}{'':>9}{(worker_cpu['ns'] - staged) / n / 1000:>14.3f}")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())


if __name__ == "__main__":
    main()
