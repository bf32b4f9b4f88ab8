"""The package root: ``fapilog.__all__`` is the public API, and ``import fapilog`` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fapilog


def test_public_names_are_exactly_all() -> None:
    """fapilog's __all__ is exactly the documented public API, and each name resolves."""
    assert sorted(fapilog.__all__) == sorted(
        [
            "ConfigError",
            "Logger",
            "LoggingSettings",
            "PipelineStats",
            "SinkStats",
            "__version__",
            "aflush",
            "ashutdown",
            "bind_context",
            "clear_context",
            "configure_logging",
            "context",
            "flush",
            "get_context",
            "get_logger",
            "log",
            "reset_context",
            "shutdown",
            "stats",
            "unbind_context",
        ]
    )
    for name in fapilog.__all__:
        assert getattr(fapilog, name) is not None
    with pytest.raises(AttributeError):
        fapilog.no_such_thing  # noqa: B018


def test_import_is_cheap_and_asyncio_free() -> None:
    """`import fapilog` imports neither asyncio nor the pipeline modules."""
    heavy = ("asyncio", "json", "fapilog._lifecycle", "fapilog._pipeline", "dataclasses")
    code = f"import sys, fapilog; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reimporting_the_package_over_a_live_pipeline_keeps_logging() -> None:
    """importlib.reload(fapilog) puts the auto-configuring methods back over a live pipeline:
    the next call points the Logger at that pipeline again (no RecursionError, no loss)."""
    code = (
        "import importlib, fapilog\n"
        "from fapilog.sinks import MemorySink\n"
        "sink = MemorySink()\n"
        "fapilog.configure_logging(sinks=(sink,))\n"
        "assert fapilog.log.info('a')\n"
        "importlib.reload(fapilog)\n"
        "print(fapilog.log.info('b'), fapilog.flush(5), sink.count)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "2"]
