"""Command-line pieces the load drivers share: a comma-separated list of names, and a renamed flag
that keeps working for a release.

Standard library only: ``quick`` runs without anything installed, and ``bench.judge.ab`` copies
this file beside the harness (``enqueue.py``) it runs against each side's library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any


def comma_list(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse ``type``: a non-empty comma-separated list of names from ``allowed``."""

    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        bad = [item for item in items if item not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a comma-separated list of {', '.join(allowed)}"
            )
        return items

    return parse


class DeprecatedAlias(argparse.Action):
    """The old spelling of a flag: stores into the new one's destination and says so on stderr.

    ``parser.add_argument("--tasks", dest="concurrency", action=DeprecatedAlias,
    new="--concurrency", type=int)``
    """

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: Any) -> None:
        self.new = new
        kwargs.setdefault("help", f"deprecated spelling of {new}")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and will be removed in the "
            f"next release; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)
