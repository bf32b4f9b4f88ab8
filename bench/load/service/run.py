"""``nox -s bench_service``: does logging degrade a real ASGI service?

    python -m bench.load.service.run               # the default: 2 rounds × 2 s per load (~2 min)
    python -m bench.load.service.run --long        # 4 rounds × 10 s per load
    python -m bench.load.service.run --variants none,stdlib,fapilog_drop --rounds 3 --json out.json

For each round and each logging variant (see ``bench/load/service/app.py``; the order rotates from
round to round so that drift on a shared machine hits every variant alike) the runner starts the
app under uvicorn (one process, h11, asyncio loop) on 127.0.0.1, warms it up, then offers two
loads over loopback:

- ``rate``: a fixed, moderate rate (``--rate``, open loop, ``loadgen.py``): latency at normal
  load;
- ``saturation``: as fast as the server answers (``wrk`` when it is on PATH, else
  ``loadgen.py --rate 0``): peak throughput.

Measured per load: requests/s, latency p50/p99/p99.9, the server process's CPU per request
(``/proc/<pid>/stat``, all its threads), log lines emitted (the app's own count) against written
(lines in the log file after the server stopped, or fapilog's ``delivered`` for the slow sink),
and fapilog's ``dropped``. Reported as medians over the rounds, with ratios to ``none`` and to
``stdlib`` taken within each round. The load generator shares the machine's cores with the
server: compare ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APP = HERE / "app.py"
LOADGEN = HERE / "loadgen.py"
try:
    from bench.load.service.app import LINES_PER_REQUEST, VARIANTS
except ImportError:  # run as a script
    from app import LINES_PER_REQUEST, VARIANTS  # type: ignore[no-redef]

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "JSON {\\"requests\\":%d,\\"duration_s\\":%f,\\"errors\\":%d,"
    .. "\\"p50_us\\":%d,\\"p99_us\\":%d,\\"p999_us\\":%d}\\n",
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _pinned(cpu: int | None) -> Any:
    """A ``preexec_fn`` pinning the child to one CPU (None: no pinning)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


#: --pin: the server on the first CPU, the load generator on the second, so that the scheduler
#: cannot put both on one core while the other idles (wrk wakes the server on its own core).
PIN = {"server": None, "load": None}


class Server:
    def __init__(self, variant: str, log_file: Path, slow_delay: float) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_")}
        env.update(
            BENCH_LOGGING=variant, BENCH_LOG_FILE=str(log_file), BENCH_SLOW_DELAY=str(slow_delay)
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_pinned(PIN["server"]),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                _get_json(self.url + "/_stats")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{variant}: the server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _load(
    url: str, rate: float, connections: int, duration: float, use_wrk: bool
) -> dict[str, Any]:
    if use_wrk and rate == 0:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT)
        try:
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{connections}",
                    f"-d{duration:g}s",
                    "-s",
                    script.name,
                    url + "/work/1",
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=duration + 60,
                preexec_fn=_pinned(PIN["load"]),
            ).stdout
        finally:
            os.unlink(script.name)
        line = next(line for line in out.splitlines() if line.startswith("JSON "))
        result: dict[str, Any] = json.loads(line[5:])
        result["req_per_s"] = result["requests"] / result["duration_s"]
        return result
    out = subprocess.run(
        [
            sys.executable,
            str(LOADGEN),
            "--url",
            url + "/work",
            "--rate",
            str(rate),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
        preexec_fn=_pinned(PIN["load"]),
    ).stdout
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def _measure_variant(variant: str, args: argparse.Namespace, use_wrk: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        log_file = Path(tmp) / "service.log"
        server = Server(variant, log_file, args.slow_delay)
        try:
            _load(server.url, 0, 4, args.warmup, use_wrk=False)
            time.sleep(0.3)
            for load, rate, connections in (
                ("rate", args.rate, args.rate_connections),
                ("saturation", 0.0, args.connections),
            ):
                before = _get_json(server.url + "/_stats")
                cpu0 = _cpu_s(server.proc.pid)
                figures = _load(server.url, rate, connections, args.duration, use_wrk)
                cpu1 = _cpu_s(server.proc.pid)
                time.sleep(0.3)  # let the worker catch up before the counts are read
                after = _get_json(server.url + "/_stats")
                figures["cpu_us_per_req"] = (cpu1 - cpu0) / max(1, figures["requests"]) * 1e6
                figures["emitted"] = after["calls"] - before["calls"]
                if "fapilog" in after:
                    figures["dropped"] = after["fapilog"]["dropped"] - before["fapilog"]["dropped"]
                results[load] = figures
        finally:
            server.stop()
        lines = log_file.read_text().count("\n") if log_file.exists() else None
        if variant.startswith("fapilog_slow"):
            lines = after["fapilog"]["delivered"]  # the slow sink keeps no file
        results["written_total"] = lines
        results["emitted_total"] = after["calls"]
    return results


def _table(runs: list[dict[str, dict[str, Any]]], variants: list[str], load: str) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    def ratio(variant: str, other: str, key: str) -> str:
        if other not in variants:
            return "—"
        values = [r[variant][load][key] / r[other][load][key] for r in runs]
        return f"{med(values):.2f}"

    rows = [
        f"| variant | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | req/s ÷ none | "
        f"req/s ÷ stdlib | CPU ÷ none | CPU ÷ stdlib | dropped ({load}) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant in variants:
        cells = [r[variant][load] for r in runs]
        dropped = [c["dropped"] for c in cells if "dropped" in c]
        rows.append(
            f"| {variant} | {med([c['req_per_s'] for c in cells]):,.0f} "
            f"| {med([c['p50_us'] for c in cells]) / 1000:.2f} "
            f"| {med([c['p99_us'] for c in cells]) / 1000:.2f} "
            f"| {med([c['p999_us'] for c in cells]) / 1000:.2f} "
            f"| {med([c['cpu_us_per_req'] for c in cells]):,.0f} "
            f"| {ratio(variant, 'none', 'req_per_s')} | {ratio(variant, 'stdlib', 'req_per_s')} "
            f"| {ratio(variant, 'none', 'cpu_us_per_req')} "
            f"| {ratio(variant, 'stdlib', 'cpu_us_per_req')} "
            f"| {'—' if not dropped else f'{med(dropped):,.0f}'} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="fapilog's service benchmark (see docstring)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per load")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=300.0, help="the fixed moderate rate")
    parser.add_argument("--rate-connections", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16, help="at saturation")
    parser.add_argument("--slow-delay", type=float, default=0.05, help="slow sink s/batch")
    parser.add_argument("--no-wrk", action="store_true", help="use loadgen.py at saturation")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server and the load generator"
    )
    parser.add_argument("--long", action="store_true", help="4 rounds × 10 s per load")
    parser.add_argument("--json", type=Path, help="write every figure of every round here")
    args = parser.parse_args()
    if args.long:
        args.rounds, args.duration = max(args.rounds, 4), max(args.duration, 10.0)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise SystemExit(
            f"--variants: {unknown or variants!r} not accepted; choose from {VARIANTS}"
        )
    if args.rounds < 1 or args.duration <= 0 or args.rate <= 0:
        raise SystemExit("--rounds >= 1, --duration > 0 and --rate > 0 are required")
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) >= 2:
        PIN["server"], PIN["load"] = cpus[0], cpus[1]
    generator = "wrk (Debian)" if use_wrk else "bench/load/service/loadgen.py (closed loop)"
    print(
        f"bench_service: {len(variants)} variants × {args.rounds} rounds × 2 loads of "
        f"{args.duration:g} s; {LINES_PER_REQUEST} log lines per request; saturation by "
        f"{generator} with {args.connections} connections; rate {args.rate:g} req/s open loop; "
        f"server on CPU {PIN['server']}, load on CPU {PIN['load']}",
        flush=True,
    )
    runs: list[dict[str, dict[str, Any]]] = []
    started = time.monotonic()
    for round_no in range(args.rounds):
        shift = round_no % len(variants)
        order = variants[shift:] + variants[:shift]
        runs.append({})
        for variant in order:
            runs[-1][variant] = _measure_variant(variant, args, use_wrk)
            sat = runs[-1][variant]["saturation"]
            print(
                f"  round {round_no + 1} {variant:<20} saturation {sat['req_per_s']:8,.0f} req/s"
                f"  rate p99 {runs[-1][variant]['rate']['p99_us'] / 1000:7.2f} ms",
                flush=True,
            )
    for load, title in (("rate", f"fixed rate, {args.rate:g} req/s"), ("saturation", "saturation")):
        print(f"\n### {title} (medians of {args.rounds} rounds)\n")
        print(_table(runs, variants, load))
    print(
        "\n### log calls vs lines written (the last round's whole server run; `written` counts"
        " uvicorn's own lines too where they are logged; for the slow sink, fapilog's"
        " `delivered` at the last reading, before the exit drain)\n"
    )
    print("| variant | log calls | written |\n| --- | ---: | ---: |")
    for variant in variants:
        last = runs[-1][variant]
        written = "—" if last["written_total"] is None else f"{last['written_total']:,}"
        print(f"| {variant} | {last['emitted_total']:,} | {written} |")
    print(f"\n({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs})
        )


if __name__ == "__main__":
    main()
