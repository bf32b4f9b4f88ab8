"""A small HTTP/1.1 load generator for loopback (stdlib and fapilog.loadtest), in its own process.

    python bench/load/service/loadgen.py --url http://127.0.0.1:8000/work --rate 300 --duration 5
    python bench/load/service/loadgen.py --url http://127.0.0.1:8000/work --rate 0 --connections 16

``--rate R`` (R > 0) is open loop: each of the ``--connections`` keep-alive connections sends
on a fixed schedule (R / connections per second each, the load test's
:class:`~fapilog.loadtest.Pacer`) and a request's latency is counted from
the moment it was *due*, so a stalled server shows up as latency instead of silently lowering
the offered rate (no coordinated omission). ``--rate 0`` is closed loop: every connection sends
its next request as soon as the previous response arrived (saturation). Each request is
``GET <url>/<n>``. Prints one JSON line: requests, errors, duration_s, req_per_s and latency
percentiles (nearest-rank, the load test's definition) in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

from fapilog.loadtest import Pacer
from fapilog.loadtest._histogram import percentile


async def _connection(
    host: str,
    port: int,
    path: str,
    pacer: Pacer | None,
    end: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    end_ns = round(end * 1e9)
    n = 0
    try:
        while True:
            if pacer is not None:
                due_ns = pacer.due_ns(pacer.sent)
                if due_ns >= end_ns:
                    return
                await pacer.wait()
                began = due_ns / 1e9  # latency from when the request was due
            else:
                began = time.perf_counter()
                if began >= end:
                    return
            n += 1
            writer.write(f"GET {path}/{n} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
            latencies.append(time.perf_counter() - began)
    except (OSError, asyncio.IncompleteReadError):
        errors[0] += 1
    finally:
        writer.close()


def _percentile(ordered: list[float], p: float) -> float:
    return percentile(ordered, p) if ordered else float("nan")


async def run(url: str, rate: float, connections: int, duration_s: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/")
    latencies: list[float] = []
    errors = [0]
    start_ns = time.perf_counter_ns() + 50_000_000
    start = start_ns / 1e9
    end = start + duration_s

    def pacer(i: int) -> Pacer | None:
        # Connection i starts i / rate after the first: together they send evenly.
        return (
            Pacer(rate / connections, start_ns=start_ns + round(i * 1e9 / rate)) if rate else None
        )

    await asyncio.gather(
        *(
            _connection(host, port, path, pacer(i), end, latencies, errors)
            for i in range(connections)
        )
    )
    elapsed = max(time.perf_counter(), end) - start
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "duration_s": elapsed,
        "req_per_s": len(latencies) / elapsed,
        "p50_us": _percentile(ordered, 50) * 1e6,
        "p99_us": _percentile(ordered, 99) * 1e6,
        "p999_us": _percentile(ordered, 99.9) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s in all; 0 = closed")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    if args.connections < 1 or args.duration <= 0 or args.rate < 0:
        raise SystemExit("--connections >= 1, --duration > 0 and --rate >= 0 are required")
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--url: {args.url!r} is not accepted; loopback only")
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.connections, args.duration))))


if __name__ == "__main__":
    main()
