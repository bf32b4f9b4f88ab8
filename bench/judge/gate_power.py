"""The gate's power: how often bench_ab flags a known slowdown, and how often unchanged code.

    python -m bench.judge.gate_power N [--slowdowns 10,20,50] [--no-full]   # nox -s gate_power -- N

1. Clones this repository into a temporary directory and, on a detached HEAD there, makes one
   throw-away commit per slowdown: the plain log call's body (``def call`` in
   ``src/fapilog/_methods.py``, ``--inject`` to point elsewhere) starts with ``m`` cheap
   statements (``_pad += 1``). ``m`` is calibrated on this machine so that the call's own cost
   (log call minus an empty call with the same arguments, timed back to back with
   ``bench/load/instructions.py --time``) grows by the asked percentage; the slowdown each commit
   really got is measured again after building it and reported beside the target.
2. Builds one environment per commit, plus two of HEAD (the A/A pair), as bench_ab does.
3. N times: for each slowdown, the trimmed bench_ab measurement and verdict, HEAD against the
   slowed commit; and HEAD against HEAD. The verdict is bench_ab's own (:func:`ab.compare`).
4. Times one real ``bench_ab`` run end to end on the trimmed matrix and (unless ``--no-full``)
   on the full one, builds included.

Writes ``power.md`` and ``power.json`` into ``--out-dir`` (default ``.bench/gate_power``) and
prints the table. Nothing is committed to the repository being measured.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.judge import EXIT_UNUSABLE, ab, canonical_name
from bench.judge import verdict as _verdict
from bench.load import instructions as _instructions
from bench.report.tables import power_markdown

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INJECT = "src/fapilog/_methods.py:call"
CALIBRATION_PROCESSES = 7


# -- the throw-away commits ----------------------------------------------------------------------


def inject(source: str, function: str, statements: int) -> str:
    """``source`` with ``statements`` pad statements at the top of every ``def function(``."""
    lines = source.splitlines(keepends=True)
    header = re.compile(rf"^(\s*)def {re.escape(function)}\(")
    out: list[str] = []
    found = 0
    i = 0
    while i < len(lines):
        match = header.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        # The signature may span lines: the body starts after the line that ends it with ":".
        while not lines[i].rstrip().endswith(":"):
            out.append(lines[i])
            i += 1
        out.append(lines[i])
        i += 1
        body = match.group(1) + "    "
        out.append(f"{body}_pad = 0  # gate_power: a known slowdown, never committed\n")
        out.extend(f"{body}_pad += 1\n" for _ in range(statements))
        found += 1
    if not found:
        raise _verdict.Unusable(f"no 'def {function}(' to slow down: pass --inject FILE:FUNCTION")
    return "".join(out)


def clone(root: Path, dest: Path) -> str:
    """A private clone at the same HEAD commit (detached); returns that commit."""
    commit = ab.git(root, "rev-parse", "HEAD")
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(root), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", commit], check=True)
    return commit


def slowed_commit(repo: Path, target: str, statements: int, percent: int) -> str:
    """Commit the slowed hot path in the private clone; return the new commit."""
    path_text, function = target.rsplit(":", 1)
    path = repo / path_text
    base = ab.git(repo, "rev-parse", "HEAD")
    subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", "--detach", base], check=True)
    path.write_text(inject(path.read_text(encoding="utf-8"), function, statements), "utf-8")
    subprocess.run(
        [
            "git",
            *("-C", str(repo), "-c", "user.name=gate_power", "-c", "user.email=gate@power.invalid"),
            *("commit", "--quiet", "--no-verify", "-am"),
            f"gate_power: +{percent}% on the plain log call ({statements} pad statements)",
        ],
        check=True,
    )
    commit = ab.git(repo, "rev-parse", "HEAD")
    subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", "--detach", base], check=True)
    return commit


def build_all(
    sides: Sequence[tuple[ab.Side, str]], repo: Path, work: Path, log: Callable[[str], None]
) -> None:
    """Export and build each side into its own venv, two at a time."""

    def make(item: tuple[ab.Side, str]) -> None:
        side, key = item
        ab.export(repo, side, work / f"src-{key}")
        ab.build(side, work / f"src-{key}", work / f"venv-{key}", log)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(make, sides))


# -- calibration (tight loops, in the environments themselves) ---------------------------------


_PAD_TIMER = """
import time
def f0(logger, event, /, **fields):
    return True
def fm(logger, event, /, **fields):
    _pad = 0
{pads}    return True
best = {{}}
for _ in range(7):
    for name, f in (("f0", f0), ("fm", fm)):
        start = time.thread_time_ns()
        for i in range(20000):
            f(None, "request", i=i)
        best[name] = min(best.get(name, 1e18), (time.thread_time_ns() - start) / 20000)
print((best["fm"] - best["f0"]) / {m})
"""


def pad_ns(python: str, m: int = 200) -> float:
    """Nanoseconds one pad statement costs, in a function shaped like the log call."""
    code = _PAD_TIMER.format(pads="".join("    _pad += 1\n" for _ in range(m)), m=m)
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def own_cost_ns(pythons: Sequence[str], harness: Path) -> dict[str, float]:
    """The log call's own cost (info − floor, one process) per interpreter: the median of
    several processes, the environments interleaved so that the machine's drift hits them
    alike."""
    own: dict[str, list[float]] = {p: [] for p in pythons}
    for _ in range(CALIBRATION_PROCESSES):
        for python in pythons:
            info_ns, floor_ns = _instructions.time_own_ns(
                python, "info", harness / "instructions.py"
            )
            own[python].append(info_ns - floor_ns)
    return {p: statistics.median(values) for p, values in own.items()}


# -- the experiment ------------------------------------------------------------------------------


@dataclass
class Variant:
    name: str  # "+10%", "unchanged"
    percent: int  # asked slowdown (0 for the A/A pair)
    statements: int
    commit: str
    side: ab.Side
    measured_slowdown: float = 0.0  # of the own cost, tight loop, after building
    flagged: list[bool] = field(default_factory=list)
    by_time: int = 0  # the paced plain cell (wall-clock latency)
    by_hot: int = 0  # the hot[…] cell (the call's own CPU time)
    by_instructions: int = 0
    instruction_change: float | None = None
    time_ratios: list[float] = field(default_factory=list)
    time_p: list[float | None] = field(default_factory=list)
    hot_ratios: list[float] = field(default_factory=list)
    hot_p: list[float | None] = field(default_factory=list)


def run_power(
    n: int,
    slowdowns: Sequence[int],
    target: str,
    out_dir: Path,
    full_wall: bool,
    log: Callable[[str], None],
) -> dict[str, object]:
    root = ROOT
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fapilog-power-") as tmp:
        work = Path(tmp)
        harness = ab.copy_harness(work)
        repo = work / "repo"
        head_commit = clone(root, repo)
        head = ab.resolve(repo, "base", head_commit)
        head.label = f"HEAD ({head_commit[:9]})"
        twin = ab.resolve(repo, "head", head_commit)
        twin.label = f"HEAD again ({head_commit[:9]})"
        build_all([(head, "head"), (twin, "twin")], repo, work, log)

        own = own_cost_ns([head.python], harness)[head.python]
        per_pad = statistics.median(pad_ns(head.python) for _ in range(3))
        log(f"calibration: own cost {own:.0f} ns per call, {per_pad:.2f} ns per pad statement")

        variants = [Variant("unchanged", 0, 0, head_commit, twin)]
        for percent in slowdowns:
            statements = max(1, round(percent / 100 * own / per_pad))
            commit = slowed_commit(repo, target, statements, percent)
            side = ab.resolve(repo, "head", commit)
            side.label = f"HEAD +{percent}% ({commit[:9]})"
            variants.append(Variant(f"+{percent}%", percent, statements, commit, side))
        build_all([(v.side, str(v.percent)) for v in variants[1:]], repo, work, log)

        measured = own_cost_ns([head.python, *(v.side.python for v in variants)], harness)
        for v in variants:
            v.measured_slowdown = (measured[v.side.python] - measured[head.python]) / own
            log(f"{v.name}: {v.statements} statements, measured {v.measured_slowdown:+.1%}")
        calibration = {
            "head": head_commit,
            "own_cost_ns": own,
            "pad_statement_ns": per_pad,
            "variants": {
                run_key(v.name): {"statements": v.statements, "measured": v.measured_slowdown}
                for v in variants
            },
        }
        (out_dir / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")

        cells = ab.cells_for(full=False)
        probes = ab.probes_for(full=False)
        rounds = 6
        ab_walls: list[float] = []
        for rep in range(n):
            for v in variants:
                one = time.monotonic()
                sides = (head, v.side)
                run_dir = out_dir / "runs" / f"{rep + 1}-{run_key(v.name)}"
                run_dir.mkdir(parents=True, exist_ok=True)
                outputs, counts, skipped = ab.measure(
                    sides,
                    harness,
                    cells,
                    probes,
                    rounds,
                    run_dir,
                    instructions="auto",
                    log=lambda _m: None,
                )
                report = ab.compare(
                    sides,
                    cells,
                    outputs,
                    counts,
                    matrix="trimmed",
                    rounds=rounds,
                    skipped=skipped,
                )
                ab_walls.append(time.monotonic() - one)
                report.wall_s = ab_walls[-1]
                ab.write_report(report, run_dir)
                flagged = not report.passed
                v.flagged.append(flagged)
                v.by_time += any(
                    t.regressed and t.cell == _verdict.PLAIN_CELL for t in report.timing
                )
                v.by_hot += any(t.regressed and t.cell.startswith("hot[") for t in report.timing)
                v.by_instructions += any(i.regressed for i in report.instructions)
                if report.instructions:
                    v.instruction_change = report.instructions[0].change
                plain = next(t for t in report.timing if t.cell == _verdict.PLAIN_CELL)
                hot = next(t for t in report.timing if t.cell.startswith("hot["))
                v.time_ratios.append(plain.ratio)
                v.time_p.append(plain.p_slower)
                v.hot_ratios.append(hot.ratio)
                v.hot_p.append(hot.p_slower)
                log(
                    f"repetition {rep + 1}/{n} {v.name}: {'FLAGGED' if flagged else 'pass'} "
                    f"(paced {plain.ratio:.3f}, hot {hot.ratio:.3f}, instructions "
                    f"{'—' if v.instruction_change is None else f'{v.instruction_change:+.1%}'})"
                )
    walls = {"trimmed_measure_s": statistics.median(ab_walls) if ab_walls else 0.0}
    walls["trimmed_bench_ab_s"] = time_bench_ab([], log)
    if full_wall:
        walls["full_bench_ab_s"] = time_bench_ab(["--full"], log)
    return {
        "schema": "fapilog.gate_power/1",
        "n": n,
        "head": head_commit,
        "own_cost_ns": own,
        "pad_statement_ns": per_pad,
        "rule": {
            "time_threshold": _verdict.TIME_THRESHOLD,
            "alpha": _verdict.ALPHA,
            "instructions_threshold": _verdict.INSTRUCTIONS_THRESHOLD,
        },
        "variants": [
            {k: v for k, v in asdict(var).items() if k != "side"} | {"label": var.side.label}
            for var in variants
        ],
        "wall_s": walls,
        "total_s": time.monotonic() - started,
    }


def run_key(name: str) -> str:
    """A variant's directory suffix: "+10%" → "10", "unchanged" stays."""
    return name.strip("+%")


def summarize(out_dir: Path) -> str:
    """The flag counts from the per-run ab.json files under ``out_dir/runs`` (also those of a
    run that was stopped early, or written before the ``total_rate`` rename), with the
    calibration when it was written."""
    calibration_path = out_dir / "calibration.json"
    calibration = json.loads(calibration_path.read_text()) if calibration_path.exists() else {}
    rows: dict[str, list[dict[str, object]]] = {}
    for path in sorted((out_dir / "runs").glob("*/ab.json")):
        rows.setdefault(path.parent.name.split("-", 1)[1], []).append(json.loads(path.read_text()))
    lines = [
        f"**Gate power** (from {out_dir}/runs): flag counts per variant",
        "",
        "| variant | pad statements | own CPU time (calibration) | instructions | flagged | "
        "by paced time | by hot CPU time | by instructions | paced head/base | hot head/base |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]

    def spread(ratios: list[float]) -> str:
        return f"{statistics.fmean(ratios):.3f} ({min(ratios):.3f} – {max(ratios):.3f})"

    order = sorted(rows, key=lambda k: -1 if k == "unchanged" else int(k))
    for key in order:
        runs = rows[key]
        cal = calibration.get("variants", {}).get(key, {})
        timing = [
            {canonical_name(t["cell"]): t for t in r["timing"]}  # type: ignore[attr-defined]
            for r in runs
        ]
        paced = [t[_verdict.PLAIN_CELL] for t in timing]
        hot = [next(v for k, v in t.items() if k.startswith("hot[")) for t in timing]
        instr = [r["instructions"][0] for r in runs if r["instructions"]]  # type: ignore[index]
        name = "unchanged" if key == "unchanged" else f"+{key}%"
        lines.append(
            f"| {name} | {cal.get('statements', '?')} | "
            f"{format(cal['measured'], '+.1%') if 'measured' in cal else '?'} | "
            f"{format(instr[-1]['change'], '+.1%') if instr else '—'} | "
            f"{sum(r['verdict'] == 'FAIL' for r in runs)}/{len(runs)} | "
            f"{sum(t['regressed'] for t in paced)} | {sum(t['regressed'] for t in hot)} | "
            f"{sum(i['regressed'] for i in instr)} | {spread([t['ratio'] for t in paced])} | "
            f"{spread([t['ratio'] for t in hot])} |"
        )
    return "\n".join(lines) + "\n"


def time_bench_ab(extra: list[str], log: Callable[[str], None]) -> float:
    """One real `bench_ab HEAD` (working tree vs HEAD), end to end, builds included."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fapilog-power-wall-") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.judge.ab", "HEAD", "--out-dir", out, *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    wall = time.monotonic() - started
    log(f"bench_ab HEAD {' '.join(extra)}: exit {done.returncode} in {wall:.0f} s")
    return wall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gate_power", description=__doc__.splitlines()[0])
    parser.add_argument(
        "n", type=int, nargs="?", help="repetitions per variant (10 for the README figure)"
    )
    parser.add_argument("--slowdowns", default="10,20,50", help="percentages, comma-separated")
    parser.add_argument("--inject", default=DEFAULT_INJECT, help="FILE:FUNCTION to slow down")
    parser.add_argument("--out-dir", type=Path, default=Path(".bench/gate_power"))
    parser.add_argument("--no-full", action="store_true", help="skip timing a full bench_ab")
    parser.add_argument(
        "--summarize", action="store_true", help="only tabulate --out-dir's runs (no N needed)"
    )
    args = parser.parse_args(argv)
    if args.summarize:
        print(summarize(args.out_dir))
        return 0
    try:
        slowdowns = [int(s) for s in args.slowdowns.split(",") if s.strip()]
    except ValueError:
        slowdowns = []
    if args.n is None or args.n < 1 or not slowdowns or any(s < 1 for s in slowdowns):
        parser.error("N must be >= 1 and --slowdowns comma-separated integers >= 1")

    def log(message: str) -> None:
        print(f"gate_power: {message}", file=sys.stderr, flush=True)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_power(args.n, slowdowns, args.inject, args.out_dir, not args.no_full, log)
    except _verdict.Unusable as exc:
        print(f"gate_power: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    text = power_markdown(result) + "\n" + summarize(args.out_dir)
    (args.out_dir / "power.md").write_text(text, encoding="utf-8")
    (args.out_dir / "power.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
