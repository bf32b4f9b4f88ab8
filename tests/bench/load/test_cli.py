"""bench/load/_cli.py: a renamed flag keeps working for a release, and says so."""

from __future__ import annotations

import argparse

import pytest
from bench.load._cli import DeprecatedAlias


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--tasks", dest="concurrency", type=int, action=DeprecatedAlias, new="--concurrency"
    )
    return parser


def test_old_flag_sets_the_new_destination_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """`--tasks 3` sets `concurrency` to 3 (converted by the flag's type) and prints one line on
    stderr naming the old flag and its replacement."""
    args = _parser().parse_args(["--tasks", "3"])
    assert args.concurrency == 3
    assert capsys.readouterr().err == (
        "tool: warning: --tasks is deprecated and will be removed in the next release; "
        "use --concurrency\n"
    )


def test_new_flag_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    """The new spelling, or no flag at all, prints no warning."""
    assert _parser().parse_args(["--concurrency", "4"]).concurrency == 4
    assert _parser().parse_args([]).concurrency == 10
    assert capsys.readouterr().err == ""


def test_old_flag_with_a_bad_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """The old spelling still validates its value: a usage error (exit 2) naming the flag."""
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--tasks", "many"])
    assert exc.value.code == 2
    assert "--tasks" in capsys.readouterr().err
