"""A plain asyncio worker (no web framework): jobs from a queue, each logged with its context.

    python examples/asyncio_worker.py --jobs 20 --concurrency 4
    FAPILOG_SINKS=file:///tmp/worker.log python examples/asyncio_worker.py

The pipeline's worker runs as a task on this program's own event loop (``worker="loop"``),
configured inside ``main()`` because that needs the running loop. Each job's records carry its
``job_id`` through ``async with fapilog.context(...)``, and ``await log.ainfo(...)`` waits for room
without blocking the loop when the queue is full under ``block``. The program ends with
``await fapilog.ashutdown()``, which drains everything and returns the final counts.
"""

from __future__ import annotations

import argparse
import asyncio
import random

import fapilog

log = fapilog.get_logger("worker")


async def handle(job_id: int) -> None:
    async with fapilog.context(job_id=job_id):
        await log.ainfo("job started")
        await asyncio.sleep(random.uniform(0.0, 0.01))  # the job's real work
        if job_id % 7 == 6:
            try:
                raise ValueError(f"job {job_id} has bad input")
            except ValueError:
                log.exception("job failed")
                return
        await log.ainfo("job done", result=job_id * 2)


async def consume(jobs: asyncio.Queue[int]) -> None:
    while True:
        job_id = await jobs.get()
        try:
            await handle(job_id)
        finally:
            jobs.task_done()


async def main(job_count: int, concurrency: int) -> int:
    fapilog.configure_logging(worker="loop")
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for job_id in range(job_count):
        jobs.put_nowait(job_id)
    consumers = [asyncio.create_task(consume(jobs)) for _ in range(concurrency)]
    await jobs.join()
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    await log.ainfo("all jobs processed", jobs=job_count)
    final = await fapilog.ashutdown()
    return 0 if final.dropped == final.lost == final.failed == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A plain asyncio worker logging with fapilog.")
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.jobs, args.concurrency)))
