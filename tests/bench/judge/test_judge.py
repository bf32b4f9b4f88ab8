"""bench/judge/__init__.py: benchmark names read in today's words."""

from __future__ import annotations

import pytest

from bench.judge import canonical_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "enqueue[strategy=drop,maxsize=1000,worker=thread,load=nominal,rate=10000]",
            "enqueue[strategy=drop,maxsize=1000,worker=thread,load=nominal,total_rate=10000]",
        ),
        (
            "stdlib[handler=QueueHandler,maxsize=1000,load=nominal,rate=10000]",
            "stdlib[handler=QueueHandler,maxsize=1000,load=nominal,total_rate=10000]",
        ),
        ("x[rate=1]", "x[total_rate=1]"),
    ],
)
def test_old_rate_parameter_reads_as_total_rate(name: str, expected: str) -> None:
    """A cell parameter `rate=` (files written before the rename) becomes `total_rate=`."""
    assert canonical_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "enqueue[strategy=drop,maxsize=1000,worker=thread,load=nominal,total_rate=10000]",
        "throughput[sink=memory,json=orjson,worker=thread]",
        "peers.enqueue[lib=fapilog]",
        "hot[probe=info,clock=thread_cpu]",
        "achieved_rate=5",  # not a parameter of a cell: left alone
        "enqueue[sampling_rate=0.1,total_rate=10]",
    ],
)
def test_todays_names_and_other_parameters_are_unchanged(name: str) -> None:
    """Names already in today's words, and parameters merely ending in `rate`, stay as they are."""
    assert canonical_name(name) == name
