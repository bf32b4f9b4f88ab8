"""RequestContextMiddleware, driven as uvicorn drives an app: one task per request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import fapilog
from fapilog.asgi import MAX_REQUEST_ID_CHARS, RequestContextMiddleware
from fapilog.sinks import MemorySink
from tests.conftest import flushed_records

Message = dict[str, Any]


def _scope(path: str = "/items/1", headers: list[tuple[bytes, bytes]] | None = None) -> Message:
    return {"type": "http", "method": "GET", "path": path, "headers": headers or []}


async def _ok_app(scope: Message, receive: Any, send: Any) -> None:
    fapilog.log.info("handling", where=scope["path"])
    await asyncio.sleep(0.001)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _failing_app(scope: Message, receive: Any, send: Any) -> None:
    fapilog.log.info("about to fail")
    raise RuntimeError("boom")


async def _serve(app: Any, scope: Message) -> list[Message]:
    """What uvicorn's run_asgi does: await the app in this task, log its failure afterwards."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            fapilog.log.info("access", status=message["status"])  # uvicorn's access line
        sent.append(message)

    try:
        await app(scope, receive, send)
    except RuntimeError:
        fapilog.log.error("Exception in ASGI application")
        await send({"type": "http.response.start", "status": 500, "headers": []})
    return sent


def test_request_id_from_header_bound_and_echoed(sink: MemorySink) -> None:
    """An incoming x-request-id is bound with method and path to every record of the request,
    including the server's access line, and echoed in the response headers."""
    app = RequestContextMiddleware(_ok_app)
    sent = asyncio.run(_serve(app, _scope(headers=[(b"x-request-id", b"abc-123")])))
    assert (b"x-request-id", b"abc-123") in sent[0]["headers"]
    handling, access = flushed_records(sink)
    for record in (handling, access):
        assert record["request_id"] == "abc-123"
        assert record["method"] == "GET" and record["path"] == "/items/1"


@pytest.mark.parametrize("incoming", [None, b"", b"has space", b"x" * (MAX_REQUEST_ID_CHARS + 1)])
def test_missing_or_unsafe_ids_are_replaced(sink: MemorySink, incoming: bytes | None) -> None:
    """No header, an empty one, one with spaces or an overlong one: a fresh 32-hex id instead."""
    headers = [] if incoming is None else [(b"x-request-id", incoming)]
    sent = asyncio.run(_serve(RequestContextMiddleware(_ok_app), _scope(headers=headers)))
    (echoed,) = [v for k, v in sent[0]["headers"] if k == b"x-request-id"]
    assert len(echoed) == 32 and int(echoed, 16) >= 0
    assert {r["request_id"] for r in flushed_records(sink)} == {echoed.decode()}


def test_custom_header_untrusted_and_no_response_header(sink: MemorySink) -> None:
    """header= picks the header (any case), trust_incoming=False always generates, and
    response_header=False leaves the response alone; a bad header name is a clear error."""
    app = RequestContextMiddleware(
        _ok_app,
        header="X-Correlation-ID",
        trust_incoming=False,
        response_header=False,
        generate=lambda: "generated",
    )
    sent = asyncio.run(_serve(app, _scope(headers=[(b"x-correlation-id", b"given")])))
    assert sent[0]["headers"] == []
    assert {r["request_id"] for r in flushed_records(sink)} == {"generated"}
    with pytest.raises(ValueError, match=r"header=\.\.\.\): ''"):
        RequestContextMiddleware(_ok_app, header="")


def test_app_set_header_is_not_duplicated(sink: MemorySink) -> None:
    """When the app already sent the header, the middleware does not add a second one."""

    async def app(scope: Message, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"X-Request-ID", b"app")]}
        )
        await send({"type": "http.response.body", "body": b""})

    sent = asyncio.run(_serve(RequestContextMiddleware(app), _scope()))
    assert sent[0]["headers"] == [(b"X-Request-ID", b"app")]


def test_error_records_after_the_app_raised_keep_the_context(sink: MemorySink) -> None:
    """The server's traceback record and its 500 access line, logged after the middleware's
    await returned with an exception, still carry request_id, method and path."""
    app = RequestContextMiddleware(_failing_app)
    asyncio.run(_serve(app, _scope(path="/fail", headers=[(b"x-request-id", b"r-500")])))
    records = flushed_records(sink)
    assert [r["event"] for r in records] == [
        "about to fail",
        "Exception in ASGI application",
        "access",
    ]
    assert all(r["request_id"] == "r-500" and r["path"] == "/fail" for r in records)
    assert records[-1]["status"] == 500


def test_context_restored_after_a_complete_response(sink: MemorySink) -> None:
    """After a normal, complete response the caller's own context comes back unchanged."""

    async def main() -> dict[str, Any]:
        fapilog.bind_context(worker="w1")
        await _serve(RequestContextMiddleware(_ok_app), _scope())
        return dict(fapilog.get_context())

    assert asyncio.run(main()) == {"worker": "w1"}


@pytest.mark.timeout(30)
def test_concurrent_requests_never_share_context(sink: MemorySink) -> None:
    """200 interleaved requests, each a task as under uvicorn: every record carries its own
    request's id and path, never another's."""
    app = RequestContextMiddleware(_ok_app)

    async def main() -> None:
        await asyncio.gather(
            *(
                _serve(app, _scope(path=f"/r/{i}", headers=[(b"x-request-id", f"id-{i}".encode())]))
                for i in range(200)
            )
        )

    asyncio.run(main())
    records = flushed_records(sink)
    assert len(records) == 400
    for record in records:
        assert record["path"] == f"/r/{record['request_id'][3:]}"
        if record["event"] == "handling":
            assert record["where"] == record["path"]


def test_lifespan_and_websocket_scopes(sink: MemorySink) -> None:
    """Lifespan passes through with no context; a WebSocket session gets request_id and path
    (no method), the id in its accept headers, and the context is restored after it."""
    seen: list[dict[str, Any]] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        seen.append(dict(fapilog.get_context()))
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {}

    async def main() -> dict[str, Any]:
        middleware = RequestContextMiddleware(app)
        await middleware({"type": "lifespan"}, receive, send)
        await middleware({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
        return dict(fapilog.get_context())

    assert asyncio.run(main()) == {}
    assert seen[0] == {}
    assert set(seen[1]) == {"request_id", "path"} and seen[1]["path"] == "/ws"
    assert sent[0]["headers"][0][0] == b"x-request-id"
