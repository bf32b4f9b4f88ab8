"""nox sessions: tests, lint, the benchmark matrix and its gate, the load test, workflow checks.

    nox -l                          # list sessions
    nox -s tests                    # pytest + the coverage gate on every installed Python
    nox -s tests-3.12 -- tests/unit/test_queue.py --no-cov   # one module, no gate
    nox -s lint                     # pre-commit (ruff, ruff-format), mypy --strict, lint-imports
    nox -s bench-3.12 -- --fast     # one Python; arguments after -- reach bench.load.enqueue
    BENCH_STRATEGIES=drop BENCH_MAXSIZES=1000 BENCH_FAST=1 nox -s bench   # a trimmed matrix
    nox -s bench_compare            # gate .bench/*.json (+ bench/baseline/ when present)
    nox -s bench_peers-3.11         # fapilog ÷ stdlib/structlog/picologging: CPU and latency
    nox -s bench_service            # logging in a uvicorn service under load (-- --long)
    nox -s bench_ab -- main         # same-runner A/B: main against the working tree, interleaved
    nox -s bench_ab -- v0.1.0 HEAD --full   # two revisions, the whole nightly matrix
    nox -s gate_power -- 10         # how often bench_ab flags known slowdowns (and false alarms)
    nox -s docs                     # the manuals under docs/: mkdocs build --strict into site/

The benchmark commands run from the repository root as ``python -m bench.<role>.<module>``
(bench/load drives and measures, bench/judge decides, bench/report formats).

The matrix is the ``Programming Language :: Python :: 3.X`` classifiers of pyproject.toml (the
one place the supported versions are written; tests/unit/test_tooling.py checks that the
workflows' matrices and ``requires-python`` agree with them). A Python of the matrix that is not
installed is skipped with a warning locally, and is an error when ``CI`` is set (GitHub Actions
and ``.ci/run`` set it), so CI never skips one silently.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
BENCH_DIR = ROOT / ".bench"
BASELINE_DIR = ROOT / "bench" / "baseline"


def _supported_pythons() -> list[str]:
    """The ``Programming Language :: Python :: 3.X`` classifiers of pyproject.toml, in order."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        classifiers = tomllib.load(f)["project"]["classifiers"]
    pattern = re.compile(r"Programming Language :: Python :: (3\.\d+)")
    versions = [m[1] for c in classifiers if (m := pattern.fullmatch(c))]
    if not versions:
        raise SystemExit("pyproject.toml has no 'Programming Language :: Python :: 3.X' classifier")
    return versions


PYTHONS = _supported_pythons()
WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))

# The benchmark matrix: each axis can be trimmed with an environment variable (comma-separated),
# and anything after `--` is passed to bench.load.enqueue last, so it wins.
BENCH_AXES = {
    "BENCH_STRATEGIES": ("--strategies", "drop,block,sample"),
    "BENCH_MAXSIZES": ("--maxsizes", "100,1000,10000"),
    "BENCH_WORKERS": ("--workers", "thread,loop"),
    "BENCH_LOADS": ("--loads", "nominal,overload"),
    "BENCH_TOTAL_RATES": ("--total-rates", "10000"),  # calls/s of all producers together
    "BENCH_FAMILIES": ("--families", "enqueue,throughput,cpu"),
}
# Old spellings of the axes' variables: still read for this release, with a warning.
DEPRECATED_BENCH_AXES = {"BENCH_RATES": "BENCH_TOTAL_RATES"}

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = "CI" in os.environ
nox.options.sessions = ["lint", "tests"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pytest with the coverage gate (fail_under in pyproject.toml); posargs reach pytest, so
    ``-- tests/unit/test_queue.py --no-cov`` runs one module without the gate."""
    session.install(".[test]")
    session.run("pytest", "--cov=fapilog", "--cov-report=term", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """pre-commit on every file (ruff, ruff-format: .pre-commit-config.yaml), mypy --strict,
    and the import layers ([tool.importlinter] in pyproject.toml: lint-imports)."""
    session.install(".[lint,fast]")  # orjson ships its types; mypy needs them for _serialize
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")
    session.run("mypy", "--strict", "src")
    session.run("lint-imports")


def _bench_output(python: str) -> Path:
    """A new file per run: ``.bench/bench-<python>-<UTC time>.json``; never an existing one."""
    out_dir = Path(os.environ.get("BENCH_OUT_DIR", BENCH_DIR))
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out_dir / f"bench-{python}-{stamp}.json"
    if path.exists():  # two runs in the same second: refuse rather than overwrite
        raise SystemExit(f"{path} already exists; wait a second or set BENCH_OUT_DIR")
    return path


def _bench_axes(environ: Mapping[str, str], warn: Callable[[str], object]) -> list[str]:
    """bench.load.enqueue's options from the BENCH_* variables (a deprecated name warns)."""
    values = dict(environ)
    for old, new in DEPRECATED_BENCH_AXES.items():
        if old in values:
            warn(f"{old} is deprecated and will be removed in the next release; use {new}")
            values.setdefault(new, values[old])
    args = []
    for env, (option, default) in BENCH_AXES.items():
        args += [option, values.get(env, default)]
    return args


@nox.session(python=PYTHONS)
def bench(session: nox.Session) -> None:
    """The pyperf matrix on one Python; writes one pyperf JSON file under .bench/."""
    session.install(".[bench,fast]")
    args = _bench_axes(os.environ, session.warn)
    if os.environ.get("BENCH_FAST", "") not in ("", "0"):
        args.append("--fast")
    output = _bench_output(str(session.python))
    started = time.monotonic()
    session.run(
        "python", "-m", "bench.load.enqueue", "--output", str(output), *args, *session.posargs
    )
    session.log(f"wrote {output} in {time.monotonic() - started:.0f} s")


@nox.session(python=PYTHONS)
def bench_peers(session: nox.Session) -> None:
    """fapilog against stdlib QueueHandler, structlog and picologging, interleaved in one run.

    Writes ``.bench-peers/peers-<python>-<UTC time>.json`` (pyperf) and ``.md`` (the table).
    The peers are installed here only, never as fapilog's dependencies; picologging has no
    wheel for every Python, so it is skipped (with a message) where it does not install.
    Posargs reach bench.load.peers (e.g. ``-- --rounds 5 --events 100000``).
    """
    session.install(".[bench,fast]", "structlog>=24.1")
    try:
        session.install("picologging>=0.9")
    except nox.command.CommandFailed:
        session.warn("picologging does not install on this Python: it is left out of the run")
    # Not under .bench/: bench_compare gates every pyperf file it finds there.
    out_dir = Path(os.environ.get("BENCH_PEERS_OUT_DIR", ROOT / ".bench-peers"))
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    output = out_dir / f"peers-{session.python}-{stamp}.json"
    session.run(
        "python",
        "-m",
        "bench.load.peers",
        "--output",
        str(output),
        "--markdown",
        str(output.with_suffix(".md")),
        *session.posargs,
    )


@nox.session
def bench_compare(session: nox.Session) -> None:
    """The gate: .bench/*.json against the target and bench/baseline/ (posargs replace paths)."""
    session.install(".[bench]")
    args = list(session.posargs)
    out_dir = os.environ.get("BENCH_OUT_DIR")
    if out_dir and not args:
        args = [out_dir, "--out-dir", str(Path(out_dir) / "report")]
    baseline = os.environ.get("BENCH_BASELINE") or (
        str(BASELINE_DIR) if any(BASELINE_DIR.glob("*.json")) else ""
    )
    if baseline and "--baseline" not in args:
        args += ["--baseline", baseline]
    session.run("python", "-m", "bench.judge.compare", *args)


@nox.session
def loadtest(session: nox.Session) -> None:
    """scripts/load_test_log_queue.py with the posargs (e.g. -- --strategy all --duration 5)."""
    session.install(".[fast]")
    session.run("python", "scripts/load_test_log_queue.py", *session.posargs)


@nox.session
def bench_service(session: nox.Session) -> None:
    """Logging in a real ASGI service: uvicorn + Starlette under load on loopback, per logging
    variant (none, stdlib QueueHandler, structlog, fapilog …); posargs reach
    bench.load.service.run (e.g. -- --long, -- --variants none,stdlib,fapilog_drop). Uses wrk
    when it is on PATH (Debian: apt-get install wrk), else bench/load/service/loadgen.py."""
    # The peers and the server are this session's dependencies only, never the library's.
    session.install(".[fast]", "uvicorn>=0.30", "starlette>=0.37", "structlog>=24.1")
    session.run("python", "-m", "bench.load.service.run", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The manuals: mkdocs build --strict (a broken link or anchor fails) into site/.

    Posargs replace ``--site-dir site`` (e.g. ``-- --site-dir /tmp/site``).
    """
    session.install(".[docs]")
    args = session.posargs or ["--site-dir", str(ROOT / "site")]
    session.run("mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), *args)


@nox.session
def workflows(session: nox.Session) -> None:
    """Validate .github/workflows/*.yml offline: zizmor, and GitHub's workflow JSON schema."""
    if not WORKFLOWS:
        session.error("no .github/workflows/*.yml files")
    session.install("zizmor>=1.0", "check-jsonschema>=0.29")
    session.run("zizmor", "--offline", *WORKFLOWS)
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)


@nox.session
def bench_ab(session: nox.Session) -> None:
    """Same-runner A/B of two git revisions (posargs: BASE [HEAD] [--full] …); bench.judge.ab."""
    if not session.posargs:
        session.error("usage: nox -s bench_ab -- BASE [HEAD] [--full] [--rounds N]")
    # pyperf reads the pyperf files, fapilog names the matrix's strategies and workers; each
    # side is measured in a venv of its own.
    session.install("pyperf>=2.7", ".")
    session.run("python", "-m", "bench.judge.ab", *session.posargs)


@nox.session
def gate_power(session: nox.Session) -> None:
    """bench_ab's power on throw-away slowed commits (posargs: N [--slowdowns 10,20,50] …)."""
    if not session.posargs:
        session.error("usage: nox -s gate_power -- N [--slowdowns 10,20,50] [--no-full]")
    session.install("pyperf>=2.7", ".")
    session.run("python", "-m", "bench.judge.gate_power", *session.posargs)
