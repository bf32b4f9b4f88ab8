"""fapilog's own stderr lines: one prefix, never an exception, and a rate limit that says what
it held back."""

from __future__ import annotations

import sys
import time

import pytest

from fapilog._report import RateLimited, report


def test_report_writes_one_prefixed_line_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """report() writes ``fapilog: <message>`` and a newline to stderr, nothing to stdout."""
    report("sink 'file' failed")
    out, err = capsys.readouterr()
    assert (out, err) == ("", "fapilog: sink 'file' failed\n")


def test_report_without_a_stderr_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """With stderr gone (closed or None, as under pythonw), report() is silent, not an error."""
    monkeypatch.setattr(sys, "stderr", None)
    report("nobody hears this")


def test_rate_limited_holds_lines_back_and_counts_them(capsys: pytest.CaptureFixture[str]) -> None:
    """Within ``every_s`` of a line, later lines are held back (and so is what hold_back()
    counts); the next line after the interval says how many were not reported; ``always``
    lines pass at once."""
    limited = RateLimited("sink 'x'", every_s=0.3)
    limited("failed once")
    limited("failed twice")
    limited.hold_back()
    limited("stalled", always=True)
    assert capsys.readouterr().err == "fapilog: sink 'x' failed once\nfapilog: sink 'x' stalled\n"
    time.sleep(0.35)
    limited("failed again")
    limited("held back again")
    assert capsys.readouterr().err == "fapilog: sink 'x' failed again (2 more not reported)\n"
