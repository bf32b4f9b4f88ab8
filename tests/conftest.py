"""Shared fixtures: every test starts with no pipeline, no FAPILOG_* variables and no context."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

import fapilog
from fapilog import _lifecycle
from fapilog.sinks import MemorySink


@pytest.fixture(autouse=True)
def fresh_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("FAPILOG_"):
            monkeypatch.delenv(name)
    fapilog.clear_context()
    _lifecycle.reset(timeout=5)
    yield
    _lifecycle.reset(timeout=5)
    fapilog.clear_context()


@pytest.fixture
def sink() -> MemorySink:
    """A pipeline at INFO into a memory sink that keeps the last 1,000 lines."""
    memory = MemorySink(keep=1000)
    fapilog.configure_logging(sinks=(memory,), level="INFO")
    return memory


def flushed_records(sink: MemorySink) -> list[dict[str, object]]:
    """What ``sink`` holds once everything logged so far is written."""
    assert fapilog.flush(5)
    return sink.records


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Start ``count`` threads running ``target(index)`` together; re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
