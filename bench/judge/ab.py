"""Same-runner A/B: benchmark two revisions interleaved on one machine, and gate on the difference.

    python -m bench.judge.ab BASE [HEAD] [--full] [--rounds N] [--out-dir DIR]  # nox -s bench_ab

BASE and HEAD are git revisions of the repository this file lives in; HEAD defaults to the
working tree (uncommitted changes included). Each side is exported (``git archive``, or the
working tree's files) into a temporary directory and installed, non-editable, into its own
virtual environment with pyperf and orjson. The *harness* (``bench/load/enqueue.py`` and
``bench/load/instructions.py``) is the one of the checkout running this script, copied once, so both
sides are measured by the very same code and only the library differs (as ``asv continuous``
does).

Timing: the cells run **interleaved**, one pyperf process at a time: for each round and cell,
side A then side B (the order flips every round, A B B A A B …, so a drift that grows through
the run hits both sides alike), each process 1 warmup + 3 values of 2,000 paced calls appended to
that side's pyperf JSON file; the ``hot[…]`` cells, one process each, time the hot path's own
CPU cost in a tight loop (``bench/load/instructions.py --time``). Instructions: each side's hot-path
probes under cachegrind (``bench/load/instructions.py``). The decision rule is in
:func:`judge_timing` and :func:`judge_instructions`, its figures in the README section "How the
gate decides".

Writes into ``--out-dir`` (default ``.bench/ab/``): ``base.json`` and ``head.json`` (pyperf),
``base-hot.json`` and ``head-hot.json`` (the hot cells' values per round), ``ab.md`` and
``ab.json`` (the comparison); prints the Markdown and appends it to
``$GITHUB_STEP_SUMMARY`` when set. Exit status: 0 pass, 1 a gated cell regressed or the
standard-library target was missed, 2 unusable input (a revision git does not know, a failed
build, valgrind required but missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.judge import EXIT_FAIL, EXIT_PASS, EXIT_UNUSABLE
from bench.judge.verdict import (
    ALPHA,
    INSTRUCTIONS_THRESHOLD,
    SCHEMA,
    STDLIB_CELL,
    STDLIB_SHARE,
    TIME_THRESHOLD,
    TOTAL_RATE,
    Report,
    Unusable,
    judge_instructions,
    judge_target,
    judge_timing,
)
from bench.load import instructions as _instructions
from bench.report.tables import ab_markdown
from fapilog._settings import OVERFLOW_STRATEGIES, WORKER_KINDS

ROOT = Path(__file__).resolve().parents[2]
#: The harness, run by each side's Python from one copy: the matrix, the probes, and the
#: command-line helper the matrix imports from beside it (no other bench module).
HARNESS_FILES = tuple(
    ROOT / "bench" / "load" / name for name in ("enqueue.py", "instructions.py", "_cli.py")
)

# -- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One pyperf benchmark of bench/load/enqueue.py, with the options that select exactly it; or,
    with ``probe`` set, a ``hot[…]`` cell: the CPU time of that probe of bench/load/instructions.py
    minus the empty call's, in one process (the hot path's own cost, by the thread's CPU clock).
    """

    name: str
    options: tuple[str, ...]
    gated: bool
    probe: str = ""


def hot_cell(probe: str) -> Cell:
    return Cell(f"hot[probe={probe},clock=thread_cpu]", (), gated=True, probe=probe)


def enqueue_cell(strategy: str, maxsize: int, worker: str, load: str) -> Cell:
    name = (
        f"enqueue[strategy={strategy},maxsize={maxsize},worker={worker},load={load},"
        f"total_rate={TOTAL_RATE}]"
    )
    options = (
        "--families=enqueue",
        f"--strategies={strategy}",
        f"--maxsizes={maxsize}",
        f"--workers={worker}",
        f"--loads={load}",
        f"--total-rates={TOTAL_RATE}",
    )
    # As bench_compare: block under overload waits for the sink by design, so it is not gated.
    return Cell(name, options, gated=load == "nominal" or strategy != "block")


def throughput_cell(sink: str, json_name: str, worker: str) -> Cell:
    options = (
        "--families=throughput",
        f"--throughput-sinks={sink}",
        f"--throughput-json={json_name}",
        f"--throughput-workers={worker}",
    )
    return Cell(f"throughput[sink={sink},json={json_name},worker={worker}]", options, gated=True)


STDLIB = Cell(
    STDLIB_CELL, ("--families=stdlib", "--maxsizes=1000", f"--total-rates={TOTAL_RATE}"), False
)


def cells_for(full: bool) -> list[Cell]:
    """The trimmed matrix (the plain call + the reference) or the nightly matrix's every cell."""
    if not full:
        return [enqueue_cell("drop", 1000, "thread", "nominal"), hot_cell("info"), STDLIB]
    cells = [
        enqueue_cell(strategy, maxsize, worker, load)
        for load in ("nominal", "overload")
        for strategy in OVERFLOW_STRATEGIES
        for maxsize in (100, 1000, 10000)
        for worker in WORKER_KINDS
    ]
    cells += [
        throughput_cell(sink, json_name, worker)
        for sink in ("memory", "file")
        for json_name in ("orjson", "stdlib")
        for worker in WORKER_KINDS
    ]
    return [*cells, hot_cell("info"), hot_cell("sample"), STDLIB]


def probes_for(full: bool) -> tuple[str, ...]:
    return _instructions.FAPILOG_PROBES if full else ("info",)


# -- building a side ---------------------------------------------------------------------------


@dataclass
class Side:
    """One revision, exported and installed into its own environment."""

    role: str  # "base" or "head"
    rev: str  # what the user asked for
    commit: str  # the full hash (for the working tree: its HEAD commit)
    label: str  # what the table shows
    python: str = ""  # the side's interpreter, once built


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise Unusable(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def resolve(root: Path, role: str, rev: str | None) -> Side:
    if rev is None:  # the working tree, as it is now
        commit = git(root, "rev-parse", "HEAD")
        dirty = bool(git(root, "status", "--porcelain", "--untracked-files=no"))
        label = f"working tree ({commit[:9]}{' + changes' if dirty else ''})"
        return Side(role, "WORKTREE", commit, label)
    if rev.startswith("-"):
        raise Unusable(f"{role} revision {rev!r}: a revision cannot start with '-'")
    try:
        commit = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except Unusable:
        raise Unusable(
            f"{role} revision {rev!r}: git does not know it (fetch it, or use a branch, tag or "
            "commit of this repository; on GitHub check out with fetch-depth: 0)"
        ) from None
    return Side(role, rev, commit, f"{rev} ({commit[:9]})" if rev != commit else commit[:9])


def export(root: Path, side: Side, dest: Path) -> None:
    """The side's files into ``dest``: ``git archive`` of a commit, or the working tree."""
    dest.mkdir(parents=True)
    if side.rev != "WORKTREE":
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", side.commit],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        return
    listed = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = root / name
        if source.is_file():  # a tracked file deleted in the working tree is not there
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def build(side: Side, src: Path, venv: Path, log: Callable[[str], None]) -> None:
    """A fresh venv with the side installed (not editable), pyperf and orjson."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    done = subprocess.run(
        [
            python,
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            str(src),
            "pyperf>=2.7",
            "orjson>=3.9",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise Unusable(f"{side.role} {side.label}: pip install failed:\n{done.stderr[-3000:]}")
    side.python = python
    log(f"built {side.role} = {side.label} in {time.monotonic() - started:.0f} s")


# -- measuring ---------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The caller's environment without FAPILOG_* (explicit settings only) or PYTHONPATH."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("FAPILOG_") and k != "PYTHONPATH"
    }


def hot_file(output: Path) -> Path:
    """Where a side's ``hot[…]`` values go, beside its pyperf file: ``base-hot.json``."""
    return output.with_name(f"{output.stem}-hot.json")


def run_cell(side: Side, harness: Path, cell: Cell, output: Path) -> None:
    """One pyperf process (1 warmup + 3 values) of ``cell`` on ``side``, appended to ``output``;
    for a ``hot[…]`` cell, one ``--time`` process whose own cost (s) is appended to its file."""
    if cell.probe:
        try:
            probe_ns, floor_ns = _instructions.time_own_ns(
                side.python, cell.probe, harness / "instructions.py", clean_env()
            )
        except RuntimeError as exc:
            raise Unusable(f"{side.role}: {cell.name} failed: {exc}") from None
        path = hot_file(output)
        values = json.loads(path.read_text()) if path.exists() else {}
        values.setdefault(cell.name, []).append((probe_ns - floor_ns) / 1e9)
        path.write_text(json.dumps(values, indent=1) + "\n")
        return
    cmd = [
        side.python,
        str(harness / "enqueue.py"),
        *("--processes", "1", "--quiet", "--append", str(output)),
        *cell.options,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), check=False)
    if done.returncode != 0:
        raise Unusable(f"{side.role}: {cell.name} failed:\n{done.stderr[-3000:]}")


def interleave(
    sides: tuple[Side, Side],
    harness: Path,
    cells: Sequence[Cell],
    rounds: int,
    outputs: dict[str, Path],
    log: Callable[[str], None],
) -> None:
    """Round after round, each cell on A then B (B then A on odd rounds)."""
    for r in range(rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        started = time.monotonic()
        for cell in cells:
            for side in order:
                run_cell(side, harness, cell, outputs[side.role])
        log(
            f"round {r + 1}/{rounds} ({'-'.join(s.role for s in order)}) in "
            f"{time.monotonic() - started:.0f} s"
        )


def per_round_means(path: Path) -> dict[str, list[float]]:
    """Each benchmark's mean per process, in the order the processes ran (one per round)."""
    import pyperf  # type: ignore[import-untyped]

    suite = pyperf.BenchmarkSuite.load(str(path))
    return {
        bench.get_name(): [statistics.fmean(run.values) for run in bench.get_runs() if run.values]
        for bench in suite.get_benchmarks()
    }


def count_instructions(
    sides: tuple[Side, Side], harness: Path, probes: Sequence[str], log: Callable[[str], None]
) -> dict[str, dict[str, float]]:
    """Instructions per call: {probe: {"base": …, "head": …}}, plus the side-free floor.

    The counts do not depend on what else runs, so the Valgrind processes run side by side.
    """
    started = time.monotonic()
    script = harness / "instructions.py"
    jobs = [("floor", sides[0])] + [(probe, side) for probe in probes for side in sides]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(
            pool.map(
                lambda job: _instructions.count_per_call(
                    job[1].python, job[0], script, clean_env()
                ),
                jobs,
            )
        )
    counts: dict[str, dict[str, float]] = {"floor": {side.role: results[0] for side in sides}}
    for (probe, side), value in zip(jobs[1:], results[1:], strict=True):
        counts.setdefault(probe, {})[side.role] = value
    log(f"instruction counts ({', '.join(probes)}) in {time.monotonic() - started:.0f} s")
    return counts


def compare(
    sides: tuple[Side, Side],
    cells: Sequence[Cell],
    outputs: dict[str, Path],
    counts: dict[str, dict[str, float]] | None,
    *,
    matrix: str,
    rounds: int,
    skipped: str = "",
    time_threshold: float = TIME_THRESHOLD,
    instructions_threshold: float = INSTRUCTIONS_THRESHOLD,
) -> Report:
    means = {side.role: per_round_means(outputs[side.role]) for side in sides}
    for side in sides:
        hot = hot_file(outputs[side.role])
        if hot.exists():
            means[side.role].update(json.loads(hot.read_text()))
    alpha = ALPHA / max(1, sum(cell.gated for cell in cells))
    report = Report(
        SCHEMA,
        {"rev": sides[0].rev, "commit": sides[0].commit, "label": sides[0].label},
        {"rev": sides[1].rev, "commit": sides[1].commit, "label": sides[1].label},
        matrix,
        rounds,
        {
            "time_threshold": time_threshold,
            "alpha": alpha,
            "instructions_threshold": instructions_threshold,
            "stdlib_share": STDLIB_SHARE,
        },
        instructions_skipped=skipped,
    )
    for cell in cells:
        report.timing.append(
            judge_timing(
                cell.name,
                cell.gated,
                means["base"].get(cell.name, []),
                means["head"].get(cell.name, []),
                threshold=time_threshold,
                alpha=alpha,
            )
        )
    if counts:
        floor = counts["floor"]["base"]
        for probe, by_side in counts.items():
            if probe != "floor":
                report.instructions.append(
                    judge_instructions(
                        probe, by_side["base"], by_side["head"], floor, instructions_threshold
                    )
                )
    report.target = judge_target(means["head"], list(means.values()))
    return report


# -- the command -------------------------------------------------------------------------------


def prepare(
    root: Path, base_rev: str, head_rev: str | None, work: Path, log: Callable[[str], None]
) -> tuple[Side, Side]:
    """Resolve, export and build both sides (the two builds run side by side)."""
    sides = (resolve(root, "base", base_rev), resolve(root, "head", head_rev))

    def make(side: Side) -> None:
        src = work / f"src-{side.role}"
        export(root, side, src)
        build(side, src, work / f"venv-{side.role}", log)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(make, sides))
    return sides


def copy_harness(work: Path) -> Path:
    harness = work / "harness"
    harness.mkdir()
    for source in HARNESS_FILES:
        shutil.copy2(source, harness / source.name)
    return harness


def measure(
    sides: tuple[Side, Side],
    harness: Path,
    cells: Sequence[Cell],
    probes: Sequence[str],
    rounds: int,
    out_dir: Path,
    *,
    instructions: str,
    log: Callable[[str], None],
) -> tuple[dict[str, Path], dict[str, dict[str, float]] | None, str]:
    """Timing rounds, then instruction counts; returns the pyperf files, counts, skip reason."""
    outputs = {side.role: out_dir / f"{side.role}.json" for side in sides}
    for path in outputs.values():
        path.unlink(missing_ok=True)
        hot_file(path).unlink(missing_ok=True)
    interleave(sides, harness, cells, rounds, outputs, log)
    counts = None
    skipped = ""
    if instructions == "off":
        skipped = "--instructions off"
    else:
        try:
            counts = count_instructions(sides, harness, probes, log)
        except _instructions.ValgrindMissing as exc:
            if instructions == "require":
                raise Unusable(str(exc)) from None
            skipped = str(exc)
            log(f"WARNING: {exc}")
    return outputs, counts, skipped


def write_report(report: Report, out_dir: Path) -> str:
    text = ab_markdown(report)
    (out_dir / "ab.md").write_text(text, encoding="utf-8")
    (out_dir / "ab.json").write_text(
        json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 2")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_ab", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("base", help="the base revision (branch, tag or commit)")
    parser.add_argument("head", nargs="?", help="the head revision (default: the working tree)")
    parser.add_argument(
        "--full", action="store_true", help="the whole nightly matrix (default: trimmed)"
    )
    parser.add_argument(
        "--rounds",
        type=_positive,
        help="interleaved rounds, one process per side and cell each (default 6 trimmed, 3 full)",
    )
    parser.add_argument("--out-dir", type=Path, default=Path(".bench/ab"))
    parser.add_argument(
        "--instructions",
        choices=("auto", "require", "off"),
        default="auto",
        help="cachegrind counts: auto skips them with a warning when valgrind is missing",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"bench_ab: {message}", file=sys.stderr, flush=True)

    root = ROOT
    rounds = args.rounds or (3 if args.full else 6)
    cells = cells_for(args.full)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        if args.instructions != "off":
            try:
                _instructions.valgrind_path()
            except _instructions.ValgrindMissing as exc:  # fail before the long part
                if args.instructions == "require":
                    raise Unusable(str(exc)) from None
        with tempfile.TemporaryDirectory(prefix="fapilog-ab-") as tmp:
            work = Path(tmp)
            harness = copy_harness(work)
            sides = prepare(root, args.base, args.head, work, log)
            outputs, counts, skipped = measure(
                sides,
                harness,
                cells,
                probes_for(args.full),
                rounds,
                args.out_dir,
                instructions=args.instructions,
                log=log,
            )
            report = compare(
                sides,
                cells,
                outputs,
                counts,
                matrix="full" if args.full else "trimmed",
                rounds=rounds,
                skipped=skipped,
            )
    except Unusable as exc:
        print(f"bench_ab: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    report.wall_s = time.monotonic() - started
    print(write_report(report, args.out_dir))
    log(f"wrote base.json, head.json (+ -hot.json), ab.md, ab.json into {args.out_dir}")
    return EXIT_PASS if report.passed else EXIT_FAIL


if __name__ == "__main__":
    raise SystemExit(main())
