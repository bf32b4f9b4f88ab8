"""A Starlette service that logs through fapilog: request context, uvicorn's lines, final stats.

    pip install 'fapilog[fast]' starlette uvicorn
    python examples/asgi_app.py --port 8000                 # JSON lines on stdout
    FAPILOG_SINKS=file:///tmp/app.log FAPILOG_WORKER=loop python examples/asgi_app.py
    uvicorn asgi_app:app --app-dir examples                 # the uvicorn CLI works too

    curl -H 'x-request-id: abc' localhost:8000/items/1      # one line, request_id "abc"
    curl localhost:8000/fail                                # traceback + 500, same request_id

Settings come from the ``FAPILOG_*`` environment variables. What each step is for:

- The pipeline is configured at import, with the thread worker, before uvicorn logs anything,
  so its first lines go where the rest will go. With ``FAPILOG_WORKER=loop`` the lifespan
  startup switches to the loop worker with the *same sink objects*: the reconfigure drains the
  thread pipeline into them first, so nothing is lost, reordered, or written somewhere else.
- ``fapilog.stdlib.capture()`` routes uvicorn's loggers (startup, access, tracebacks) into
  fapilog, once each, at fapilog's level. ``uvicorn.run(log_config=UVICORN_LOG_CONFIG)`` does
  the same from uvicorn's side; the CLI form relies on the ``capture()`` at import.
- ``RequestContextMiddleware`` (outermost) binds ``request_id``, ``method`` and ``path`` for
  each request, including uvicorn's access line and traceback for a failed request.
- The lifespan shutdown logs the final stats after ``aflush()`` and does *not* call
  ``fapilog.shutdown()``: uvicorn logs two more lines after it ("Application shutdown
  complete.", "Finished server process"), and fapilog's exit hook drains them.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import fapilog
import fapilog.stdlib
from fapilog.asgi import RequestContextMiddleware
from fapilog.sinks import sink_from_uri

SETTINGS = fapilog.LoggingSettings.from_env()
#: Opened once and shared by both pipelines when the loop worker takes over at startup.
SINKS = [sink_from_uri(s) if isinstance(s, str) else s for s in SETTINGS.sinks]
fapilog.configure_logging(SETTINGS, sinks=SINKS, worker="thread")
fapilog.stdlib.capture()

log = fapilog.get_logger("example")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if SETTINGS.worker == "loop":
        fapilog.configure_logging(SETTINGS, sinks=SINKS, worker="loop")
    log.info("service started", worker=SETTINGS.worker)
    yield
    await fapilog.aflush()
    log.info("final stats", **dataclasses.asdict(fapilog.stats()))


async def item(request: Request) -> JSONResponse:
    item_id = request.path_params["item_id"]
    log.info("item requested", item_id=item_id)
    return JSONResponse({"id": item_id})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def fail(request: Request) -> PlainTextResponse:
    log.warning("about to fail")
    raise RuntimeError("this endpoint always fails")


# Outermost, around Starlette's own error middleware, so that its 500 response carries the
# x-request-id header too (``Middleware(RequestContextMiddleware)`` in Starlette's list would sit
# inside it: the records keep their request_id either way, the 500's header would not).
app = RequestContextMiddleware(
    Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/health", health),
            Route("/fail", fail),
        ],
        lifespan=lifespan,
    )
)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(app, host=args.host, port=args.port, log_config=fapilog.stdlib.UVICORN_LOG_CONFIG)


if __name__ == "__main__":
    main()
