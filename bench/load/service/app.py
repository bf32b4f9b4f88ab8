"""The service under test for ``nox -s bench_service``: one Starlette app, one logging setup
per variant (``BENCH_LOGGING``), six log lines per request, all to one file (``BENCH_LOG_FILE``).

    BENCH_LOGGING=fapilog_drop BENCH_LOG_FILE=/tmp/s.log \\
        python bench/load/service/app.py --port 8000

Variants:

- ``none``: the same code, with log calls that do nothing (the unlogged service);
- ``stdlib``: the standard library's recipe: ``QueueHandler`` on the root, a ``QueueListener``
  thread writing JSON lines (``json.dumps`` of the record's fields) through a ``FileHandler``;
- ``structlog``: structlog, synchronous, ``add_log_level``, ISO UTC timestamp, orjson, bytes
  straight to the file (the usual fast structlog setup);
- ``fapilog_drop`` / ``fapilog_block``: fapilog's thread worker, file sink, that overflow;
- ``fapilog_loop``: fapilog's loop worker (``drop``), switched on in the lifespan startup;
- ``fapilog_bridge``: fapilog ``drop``, five native lines and uvicorn's access line through
  ``fapilog.stdlib.capture()`` (the stdlib bridge in a service);
- ``fapilog_slow_drop`` / ``fapilog_slow_block``: a sink that takes ``BENCH_SLOW_DELAY`` seconds
  per batch (default 0.05, a slow network collector) instead of the file.

``GET /_stats`` returns the log calls made so far and, for fapilog, ``fapilog.stats()``.
uvicorn's own access log is off except for ``fapilog_bridge``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VARIANT = os.environ.get("BENCH_LOGGING", "none")
LOG_FILE = os.environ.get("BENCH_LOG_FILE", "/tmp/bench_service.log")
SLOW_DELAY_S = float(os.environ.get("BENCH_SLOW_DELAY", "0.05"))
VARIANTS = (
    "none",
    "stdlib",
    "structlog",
    "fapilog_drop",
    "fapilog_block",
    "fapilog_loop",
    "fapilog_bridge",
    "fapilog_slow_drop",
    "fapilog_slow_block",
)
#: Log lines per request: five written by the handler, the sixth is the access line.
LINES_PER_REQUEST = 6
calls = 0


class _Silent:
    def info(self, event: str, **fields: Any) -> None:
        pass


class _StdlibAdapter:
    """``log.info(event, **fields)`` on a stdlib logger, fields passed as ``extra``."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def info(self, event: str, **fields: Any) -> None:
        self._logger.info(event, extra=fields)


class _JsonFormatter(logging.Formatter):
    _plain = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"taskName"}

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": self.formatTime(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        line.update((k, v) for k, v in vars(record).items() if k not in self._plain)
        return json.dumps(line, default=repr)


def _setup() -> Any:
    if VARIANT == "none":
        return _Silent()
    if VARIANT == "stdlib":
        import logging.handlers
        import queue

        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        file_handler = logging.FileHandler(LOG_FILE)
        file_handler.setFormatter(_JsonFormatter())
        listener = logging.handlers.QueueListener(records, file_handler)
        listener.start()
        import atexit

        atexit.register(listener.stop)
        root = logging.getLogger()
        root.addHandler(logging.handlers.QueueHandler(records))
        root.setLevel(logging.INFO)
        return _StdlibAdapter(logging.getLogger("app"))
    if VARIANT == "structlog":
        import orjson
        import structlog

        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            logger_factory=structlog.BytesLoggerFactory(open(LOG_FILE, "ab")),  # noqa: SIM115
            cache_logger_on_first_use=True,
        )
        return structlog.get_logger("app")
    import fapilog

    if VARIANT.startswith("fapilog_slow"):
        from fapilog.sinks import MemorySink

        sink: Any = MemorySink(delay=SLOW_DELAY_S)
    else:
        from fapilog.sinks import FileSink

        sink = FileSink(LOG_FILE)
    overflow = "block" if VARIANT.endswith("block") else "drop"
    fapilog.configure_logging(sinks=[sink], queue_overflow=overflow)
    if VARIANT == "fapilog_bridge":
        import fapilog.stdlib

        fapilog.stdlib.capture()
    global _SINK
    _SINK = sink
    return fapilog.get_logger("app")


_SINK: Any = None
log = _setup()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if VARIANT == "fapilog_loop":
        import fapilog

        fapilog.configure_logging(sinks=[_SINK], worker="loop")
    yield


async def work(request: Request) -> JSONResponse:
    global calls
    item = request.path_params["item"]
    own_lines = LINES_PER_REQUEST - 1 if VARIANT == "fapilog_bridge" else LINES_PER_REQUEST
    log.info("request received", item=item, path=request.url.path)
    log.info("cache lookup", item=item, hit=False)
    log.info("db query", table="items", rows=1, elapsed_ms=0.4)
    total = sum(range(200))  # a little work of the service's own
    log.info("computed", item=item, total=total)
    log.info("response ready", status=200, size=24)
    if own_lines == LINES_PER_REQUEST:
        log.info("request done", item=item, status=200)
    calls += LINES_PER_REQUEST
    return JSONResponse({"item": item, "total": total})


async def stats(request: Request) -> JSONResponse:
    body: dict[str, Any] = {"variant": VARIANT, "calls": calls}
    if VARIANT.startswith("fapilog"):
        import fapilog

        body["fapilog"] = dataclasses.asdict(fapilog.stats())
    return JSONResponse(body)


app = Starlette(
    routes=[Route("/work/{item}", work), Route("/_stats", stats)],
    lifespan=lifespan,
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="bench_service's app")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if VARIANT not in VARIANTS:
        raise SystemExit(f"BENCH_LOGGING: {VARIANT!r} is not accepted; expected one of {VARIANTS}")
    bridge = VARIANT == "fapilog_bridge"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http="h11",
        loop="asyncio",
        access_log=bridge,
        log_level="info" if bridge else "warning",
        log_config=None,
    )


if __name__ == "__main__":
    main()
