"""ASGI integration: a request-context middleware, pure ASGI (no framework import).

    from fapilog.asgi import RequestContextMiddleware

    app = RequestContextMiddleware(app)                  # any ASGI app
    app.add_middleware(RequestContextMiddleware)         # Starlette / FastAPI

Every record logged while a request is handled carries ``request_id``, ``method`` and ``path``:
the application's own records, and the server's records about that request too — uvicorn's
access line (logged while the response starts) and, when the application raises, uvicorn's
``Exception in ASGI application`` traceback and its 500 access line, both logged *after* the
application has returned control.

How the context reaches those last two: uvicorn runs each request in its own task and awaits the
application in that task, so a context variable set by the middleware stays visible to uvicorn's
code after the ``await``, unless the middleware resets it. So the middleware resets it only when
the application returned normally with a complete response (nothing about the request is logged
after that); when it raised or left the response unfinished, the context stays bound for the
rest of that request's task, where the server reports the failure. Each request's task starts
from its own copy of the context, so concurrent requests never see each other's fields.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fapilog._context import CONTEXT

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: An incoming request id longer than this, or with characters outside visible ASCII, is
#: replaced by a generated one (it ends up in every log line and in the response header).
MAX_REQUEST_ID_CHARS = 128


def new_request_id() -> str:
    """32 random hex digits (the shape of a UUID4's hex, without its version bits)."""
    return os.urandom(16).hex()


def _valid(value: bytes) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID_CHARS and all(0x21 <= b <= 0x7E for b in value)


class RequestContextMiddleware:
    """Bind ``request_id``, ``method`` and ``path`` for the whole of each HTTP or WebSocket
    request, and send the request id back in the response header.

    ``header``: the request header holding an incoming id (any case; default ``x-request-id``),
    also used for the response header. An incoming id is kept when it is 1 to
    :data:`MAX_REQUEST_ID_CHARS` visible ASCII characters, else one is generated
    (``generate``, default :func:`new_request_id`). ``trust_incoming=False`` always generates.
    ``response_header=False`` leaves the response headers alone. Lifespan and other scopes pass
    through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        header: str = "x-request-id",
        trust_incoming: bool = True,
        response_header: bool = True,
        generate: Callable[[], str] = new_request_id,
    ) -> None:
        if not isinstance(header, str) or not header.strip() or not header.isascii():
            raise ValueError(
                f"RequestContextMiddleware(header=...): {header!r} is not accepted; "
                "expected a non-empty ASCII header name such as 'x-request-id'"
            )
        self.app = app
        self.header = header.strip().lower()
        self._header_bytes = self.header.encode("ascii")
        self.trust_incoming = trust_incoming
        self.response_header = response_header
        self.generate = generate

    def _request_id(self, scope: Scope) -> str:
        if self.trust_incoming:
            name = self._header_bytes
            for key, value in scope.get("headers", ()):
                if key == name:
                    if _valid(value):
                        return str(value.decode("ascii"))
                    break
        return self.generate()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        fields = {"request_id": request_id, "path": scope.get("path", "")}
        if kind == "http":
            fields["method"] = scope.get("method", "")
        token = CONTEXT.set({**CONTEXT.get(), **fields})
        complete = False
        header = self._header_bytes
        add_header = self.response_header
        id_bytes = request_id.encode("ascii", "replace")

        async def send_with_id(message: Message) -> None:
            nonlocal complete
            kind = message["type"]
            if kind == "http.response.body":
                if not message.get("more_body", False):
                    complete = True
            elif add_header and (kind == "http.response.start" or kind == "websocket.accept"):
                headers = list(message.get("headers", ()))
                if all(key.lower() != header for key, _ in headers):
                    headers.append((header, id_bytes))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Normal end with a complete response (or a WebSocket session over): the server logs
        # nothing more about this request, so the caller's context comes back. On an exception
        # (above) or an unfinished response the context stays for the server's error records.
        if complete or kind == "websocket":
            try:
                CONTEXT.reset(token)
            except ValueError:  # pragma: no cover - the app switched contexts under us
                pass
