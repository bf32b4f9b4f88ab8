"""bench/report/tables.py: the judges' Markdown, laid out as GitHub renders it."""

from __future__ import annotations

from bench.report import tables
from tests.bench.judge._reports import ab_report


def test_markdown_with_skipped_counts_keeps_the_tables_apart() -> None:
    """Without valgrind the instruction table holds one 'skipped' row naming why, and the timing
    table still starts its own block."""
    report = ab_report(False, 0.0)
    report.instructions = []
    report.instructions_skipped = "valgrind is not installed"
    lines = tables.ab_markdown(report).splitlines()
    assert "| — | | | | skipped: valgrind is not installed |" in lines
    headers = [i for i, line in enumerate(lines) if line.startswith("| --- ")]
    assert len(headers) == 2 and all(lines[i - 2] == "" for i in headers)
