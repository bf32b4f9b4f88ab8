"""The command: parse parameters, run each strategy, print, write JSON, choose the exit code."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import fapilog
from fapilog.loadtest._config import PROG, LoadTestConfig, UsageError, parse_config
from fapilog.loadtest._engine import RunResult, run_strategy
from fapilog.loadtest._report import comparison_table, json_document, text_report

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
#: ``--check`` and a strategy missed its target.
EXIT_FAIL = 1
#: A bad parameter (one line on stderr names it and what it accepts).
EXIT_USAGE = 2


def _progress_writer(config: LoadTestConfig, out: TextIO) -> Callable[[str], None] | None:
    # Only for a person watching a terminal, and never over the log lines of the stdout sink.
    if config.sink == "stdout" or not out.isatty():
        return None

    def show(line: str) -> None:
        out.write("\r\x1b[K" + line)
        out.flush()

    return show


async def _run_all(config: LoadTestConfig, out: TextIO) -> list[RunResult]:
    show = _progress_writer(config, out)
    runs = []
    for strategy in config.strategies:
        try:
            runs.append(await run_strategy(config, strategy, progress=show))
        finally:
            if show is not None:
                out.write("\r\x1b[K")
                out.flush()
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load test; returns the exit status (0 ok, 1 ``--check`` failed, 2 bad usage)."""
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        runs = asyncio.run(_run_all(config, sys.stdout))
    except UsageError as exc:  # found only when running, e.g. a file sink that cannot open
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except fapilog.ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    report = comparison_table(runs) if len(runs) > 1 else text_report(runs[0])
    try:
        print(report, flush=True)
    except BrokenPipeError:  # e.g. piped into ``head``: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if config.json is not None:
        document = json_document(config, runs)
        try:
            with open(config.json, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=2)
                stream.write("\n")
        except OSError as exc:
            print(f"{PROG}: error: --json: cannot write {config.json!r}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if config.check and not all(run.passed for run in runs):
        return EXIT_FAIL
    return EXIT_OK
