"""The stdlib bridge: FapilogHandler's record → event mapping, capture() and UVICORN_LOG_CONFIG."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator

import pytest

import fapilog
import fapilog.stdlib
from fapilog import ConfigError
from fapilog.sinks import MemorySink
from fapilog.stdlib import UVICORN_LOG_CONFIG, FapilogHandler, capture, uncapture
from tests.conftest import flushed_records


@pytest.fixture(autouse=True)
def logging_state() -> Iterator[None]:
    """Snapshot every logger's handlers, level and propagation; put them back afterwards."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [
        lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers]
    yield
    uncapture()
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled
    for name in [n for n in manager.loggerDict if n.startswith("fapilogtest")]:
        del manager.loggerDict[name]


@pytest.fixture
def sink() -> MemorySink:
    sink = MemorySink(keep=100)
    fapilog.configure_logging(sinks=[sink], level="debug")
    return sink


def _bridged(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [FapilogHandler()]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_uvicorn_access_arguments_become_fields(sink: MemorySink) -> None:
    """uvicorn's access call keeps its message and gains client/method/path/http_version/status."""
    access = _bridged("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/items/1?x=2", "1.1", 200)
    (record,) = flushed_records(sink)
    assert record["event"] == '127.0.0.1:5000 - "GET /items/1?x=2 HTTP/1.1" 200'
    assert record["client"] == "127.0.0.1:5000"
    assert record["method"] == "GET" and record["path"] == "/items/1?x=2"
    assert record["http_version"] == "1.1" and record["status"] == 200
    assert record["logger"] == "uvicorn.access" and record["level"] == "info"


def test_arguments_of_other_loggers_stay_in_the_message(sink: MemorySink) -> None:
    """Only loggers with known arguments get argument fields; a mismatched call is left alone;
    arg_fields= adds a logger of your own."""
    _bridged("fapilogtest.plain").info("%s %s", "a", "b")
    _bridged("uvicorn.access").info("odd access line %s", "x")
    custom = logging.getLogger("fapilogtest.custom")
    custom.handlers[:] = [FapilogHandler(arg_fields={"fapilogtest.custom": ["user", "n"]})]
    custom.propagate = False
    custom.warning("user %s did %d things", "ann", 3)
    plain, odd, mine = flushed_records(sink)
    assert plain["event"] == "a b" and set(plain) == {"timestamp", "level", "event", "logger"}
    assert odd["event"] == "odd access line x" and "client" not in odd
    assert mine["user"] == "ann" and mine["n"] == 3 and mine["event"] == "user ann did 3 things"


def test_color_message_dropped_and_trailing_newlines_stripped(sink: MemorySink) -> None:
    """uvicorn's ANSI `color_message` extra is not a field; a trailing newline is stripped;
    other extras are kept."""
    log = _bridged("uvicorn.error")
    log.info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]", "pid": 42},
    )
    try:
        raise ValueError("bad")
    except ValueError as exc:
        log.error("Exception in ASGI application\n", exc_info=exc)
    started, failed = flushed_records(sink)
    assert started["event"] == "Started server process [42]" and started["pid"] == 42
    assert "color_message" not in started
    assert failed["event"] == "Exception in ASGI application"
    assert "ValueError: bad" in str(failed["exception"])


def test_levels_stack_and_filters(sink: MemorySink) -> None:
    """Non-standard level numbers map to the standard level at or below them; stack_info becomes
    `stack`; a handler filter still rejects records."""
    log = _bridged("fapilogtest.levels")
    log.setLevel(1)
    log.log(5, "trace")
    log.log(25, "notice")
    log.log(45, "severe", stack_info=True)
    handler = log.handlers[0]
    handler.addFilter(lambda record: "secret" not in record.getMessage())
    log.info("secret stuff")
    trace, notice, severe = flushed_records(sink)
    assert [trace["level"], notice["level"], severe["level"]] == ["debug", "info", "error"]
    assert "Stack (most recent call last)" in str(severe["stack"])


def test_a_broken_record_never_raises(sink: MemorySink, capsys: pytest.CaptureFixture[str]) -> None:
    """A record whose message cannot be formatted is reported by logging, not raised."""
    _bridged("fapilogtest.broken").info("%d", "not a number")
    assert "TypeError" in capsys.readouterr().err
    assert flushed_records(sink) == []


def test_capture_routes_root_and_handler_loggers_once() -> None:
    """capture(): the root and a logger with its own handler reach fapilog exactly once, and
    the logger's own handler no longer prints."""
    sink = MemorySink(keep=100)
    fapilog.configure_logging(sinks=[sink])
    own = io.StringIO()
    server = logging.getLogger("fapilogtest.server")
    server.addHandler(logging.StreamHandler(own))
    server.propagate = False
    server.setLevel(logging.ERROR)
    root_stream = io.StringIO()
    logging.getLogger().addHandler(logging.StreamHandler(root_stream))
    capture()
    server.info("from the server")
    logging.getLogger("fapilogtest.app").warning("from the app")
    events = [r["event"] for r in flushed_records(sink)]
    assert events == ["from the server", "from the app"]
    assert own.getvalue() == "" and root_stream.getvalue() == ""


def test_capture_levels_follow_fapilog_level_unless_given() -> None:
    """Without `level` the stdlib level is fapilog's (warning here: info is not even built);
    capture(level=...) overrides; a bad level is a ConfigError naming it."""
    sink = MemorySink(keep=100)
    fapilog.configure_logging(sinks=[sink], level="warning")
    capture()
    assert logging.getLogger().level == logging.WARNING
    logging.getLogger("fapilogtest.a").info("hidden")
    logging.getLogger("fapilogtest.a").warning("shown")
    capture(level="debug")
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    with pytest.raises(ConfigError, match=r"capture\(level=...\): 'loud'"):
        capture(level="loud")
    assert [r["event"] for r in flushed_records(sink)] == ["shown"]


def test_capture_is_idempotent_and_undo_restores() -> None:
    """Calling capture() twice leaves one FapilogHandler and picks up loggers configured in
    between; the returned function restores handlers, level and propagation of each."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    first = logging.getLogger("fapilogtest.first")
    first_handler = logging.NullHandler()
    first.addHandler(first_handler)
    first.setLevel(logging.CRITICAL)
    first.propagate = False
    undo = capture()
    late = logging.getLogger("fapilogtest.late")
    late_handler = logging.NullHandler()
    late.addHandler(late_handler)
    late.propagate = False
    capture()
    assert sum(isinstance(h, FapilogHandler) for h in root.handlers) == 1
    assert len(root.handlers) == 1
    assert late.handlers == [] and late.propagate and first.level == logging.NOTSET
    undo()
    undo()  # twice is harmless
    assert (list(root.handlers), root.level) == before
    assert first.handlers == [first_handler] and first.level == logging.CRITICAL
    assert first.propagate is False
    assert late.handlers == [late_handler] and late.propagate is False


def test_capture_leaves_silenced_loggers_silent() -> None:
    """A logger with no handlers and propagate=False (uvicorn's access log with
    access_log=False) is not captured: it stays silent."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=[sink])
    silenced = logging.getLogger("fapilogtest.silenced")
    silenced.propagate = False
    capture()
    silenced.warning("nobody hears this")
    assert flushed_records(sink) == []


def test_uvicorn_log_config_routes_uvicorn_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """dictConfig(UVICORN_LOG_CONFIG) after uvicorn's own config: its loggers propagate to one
    FapilogHandler on the root, at FAPILOG_LEVEL; uvicorn's use_colors write does not break it."""
    monkeypatch.setenv("FAPILOG_LEVEL", "debug")
    uv = logging.getLogger("uvicorn")
    uv.addHandler(logging.StreamHandler(io.StringIO()))
    uv.propagate = False
    config = {**UVICORN_LOG_CONFIG, "formatters": {"default": {}, "access": {}}}
    config["formatters"]["default"]["use_colors"] = False  # what uvicorn does with --no-use-colors
    logging.config.dictConfig(config)
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=[sink])
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("uvicorn.error").debug("debug from uvicorn")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4:1", "POST", "/x", "1.1", 201
    )
    error, access = flushed_records(sink)
    assert error["event"] == "debug from uvicorn" and error["logger"] == "uvicorn.error"
    assert access["status"] == 201 and access["method"] == "POST"
    assert [type(h) for h in logging.getLogger().handlers] == [FapilogHandler]


def test_capture_lean_skips_record_details_and_undo_restores() -> None:
    """capture(lean=True): records no longer carry the caller's line or the thread name (the
    stdlib stops computing them), fapilog's events are unchanged, and undo restores both."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=[sink])
    seen: list[logging.LogRecord] = []
    undo = capture(lean=True)
    probe = logging.getLogger("fapilogtest.lean")
    probe.addFilter(lambda record: seen.append(record) or True)
    probe.warning("lean %s", "record", extra={"k": 1})
    undo()
    probe.handlers[:] = [FapilogHandler()]
    probe.warning("full record")
    lean, full = seen
    assert lean.lineno == 0 and lean.threadName is None and lean.processName is None
    assert full.lineno > 0 and full.threadName == "MainThread"
    first, second = flushed_records(sink)
    assert first["event"] == "lean record" and first["k"] == 1
    assert second["event"] == "full record"


def test_bad_arg_fields_is_a_clear_error_at_construction() -> None:
    """arg_fields with a non-string or empty name list fails when the handler is built (not at
    the first record), naming arg_fields, the logger and the value."""
    with pytest.raises(ConfigError, match=r"arg_fields=...\): 'app.audit': \(1, 2\)"):
        FapilogHandler(arg_fields={"app.audit": (1, 2)})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="non-empty sequence"):
        FapilogHandler(arg_fields={"app.audit": ()})


def test_stdlib_records_are_routed_into_the_queue() -> None:
    """FapilogHandler turns logging records into fapilog events with extra and exception."""
    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,))
    std = logging.getLogger("uvicorn.test")
    handler = FapilogHandler()
    std.addHandler(handler)
    std.setLevel(logging.DEBUG)
    std.propagate = False
    try:
        std.info("served %s", "/health", extra={"status": 200})
        std.debug("below fapilog's level")
        try:
            raise ValueError("bad")
        except ValueError:
            std.exception("handler failed")
    finally:
        std.removeHandler(handler)
    assert fapilog.flush(5)
    first, second = sink.records
    assert first["event"] == "served /health" and first["status"] == 200
    assert first["logger"] == "uvicorn.test" and first["level"] == "info"
    assert second["level"] == "error" and "ValueError: bad" in second["exception"]
    assert fapilog.stats().attempted == 2
