"""The context API: bind_context tokens, reset_context, and ``with fapilog.context(...)``."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

import fapilog
from fapilog.sinks import MemorySink
from tests.conftest import flushed_records


def test_bind_context_returns_a_token_that_reset_context_restores() -> None:
    """reset_context(token) puts back exactly the context before the bind that made the token."""
    fapilog.bind_context(a=1)
    token = fapilog.bind_context(b=2, a=9)
    assert dict(fapilog.get_context()) == {"a": 9, "b": 2}
    fapilog.reset_context(token)
    assert dict(fapilog.get_context()) == {"a": 1}


def test_reset_context_twice_or_elsewhere_is_a_clear_error() -> None:
    """A used token, or one from another context, raises ValueError naming reset_context."""
    token = fapilog.bind_context(a=1)
    fapilog.reset_context(token)
    with pytest.raises(ValueError, match="reset_context"):
        fapilog.reset_context(token)
    other = contextvars.copy_context().run(fapilog.bind_context, b=2)
    with pytest.raises(ValueError, match="reset_context"):
        fapilog.reset_context(other)


def test_context_block_adds_fields_and_restores_on_exception() -> None:
    """Inside `with fapilog.context(...)` the fields are bound; after it, even on an
    exception, the previous context is back; nested blocks restore in order."""
    fapilog.bind_context(outer=True)
    seen: list[dict[str, object]] = []

    def body() -> None:
        with fapilog.context(user="u1") as view:
            seen.append(dict(view))
            with fapilog.context(user="u2", step=2):
                seen.append(dict(fapilog.get_context()))
            seen.append(dict(fapilog.get_context()))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        body()
    assert seen == [
        {"outer": True, "user": "u1"},
        {"outer": True, "user": "u2", "step": 2},
        {"outer": True, "user": "u1"},
    ]
    assert dict(fapilog.get_context()) == {"outer": True}


def test_context_block_is_reentrant_and_async() -> None:
    """The same context object can be entered twice (nested) and used with `async with`."""
    block = fapilog.context(k="v")
    with block, block:
        assert fapilog.get_context()["k"] == "v"
    assert "k" not in fapilog.get_context()

    async def main() -> dict[str, object]:
        async with fapilog.context(task="t"):
            inside = dict(fapilog.get_context())
        assert "task" not in fapilog.get_context()
        return inside

    assert asyncio.run(main()) == {"task": "t"}


def test_context_fields_reachrecords() -> None:
    """A record logged inside the block carries its fields; one logged after it does not."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=[sink])
    with fapilog.context(request_id="r1"):
        fapilog.log.info("inside")
    fapilog.log.info("after")
    assert fapilog.flush(5)
    inside, after = sink.records
    assert inside["request_id"] == "r1"
    assert "request_id" not in after


def test_context_is_merged_and_isolated_per_task(sink: MemorySink) -> None:
    """bind_context fields reach records from that task only; unbind/clear remove them."""

    async def worker(name: str) -> None:
        fapilog.bind_context(request=name)
        await asyncio.sleep(0)
        fapilog.log.info("in task")

    async def main() -> None:
        await asyncio.gather(worker("a"), worker("b"))

    asyncio.run(main())
    fapilog.bind_context(a=1, b=2)
    assert dict(fapilog.get_context()) == {"a": 1, "b": 2}
    fapilog.unbind_context("a", "missing")
    fapilog.log.info("after unbind")
    fapilog.clear_context()
    fapilog.log.info("after clear")
    records = flushed_records(sink)
    assert sorted(r["request"] for r in records[:2]) == ["a", "b"]
    assert records[2]["b"] == 2 and "a" not in records[2]
    assert "b" not in records[3]
