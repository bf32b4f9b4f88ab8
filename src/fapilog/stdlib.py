"""Route the standard library's ``logging`` records (uvicorn, SQLAlchemy, …) into fapilog's queue.

    import fapilog.stdlib

    undo = fapilog.stdlib.capture()   # root + every logger with its own handlers, no duplicates

or, for uvicorn, ``uvicorn.run(app, log_config=fapilog.stdlib.UVICORN_LOG_CONFIG)`` (the same,
done by uvicorn's own ``dictConfig`` call), or by hand:
``logging.getLogger().addHandler(fapilog.stdlib.FapilogHandler())``.

Each record becomes a fapilog event: ``event`` is the formatted message (trailing newlines
stripped), ``logger`` the logger name, ``level`` its level; fields passed with ``extra=`` are kept
as fields (except uvicorn's ANSI-coloured ``color_message``), an exception becomes the
``exception`` field (its formatted traceback), and for loggers whose arguments are known (uvicorn's
access log) the arguments become fields too: ``client``, ``method``, ``path``, ``http_version``,
``status``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fapilog._errors import ConfigError
from fapilog._levels import accepted_levels, level_name, parse_level
from fapilog._logger import Logger

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_PLAIN_RECORD = vars(logging.LogRecord("", 0, "", 0, "", (), None))
_RECORD_ATTRS = frozenset(_PLAIN_RECORD) | {"message", "asctime", "taskName"}
#: A record with no more attributes than this carries no ``extra`` fields: the common case
#: skips the scan of its ~20 attributes.
_PLAIN_RECORD_LEN = len(_PLAIN_RECORD)
#: ``extra`` fields that are presentation, not data: uvicorn's ANSI-coloured copy of the message.
_DROPPED_EXTRAS = frozenset({"color_message"})
_SKIPPED = _RECORD_ATTRS | _DROPPED_EXTRAS
_FORMATTER = logging.Formatter()

#: Loggers whose positional arguments have known meanings: they become fields of these names.
ARG_FIELDS: Mapping[str, tuple[str, ...]] = {
    # uvicorn's access log: '%s - "%s %s HTTP/%s" %d' % (client, method, path, version, status)
    "uvicorn.access": ("client", "method", "path", "http_version", "status"),
}


_Builder = Callable[[tuple[Any, ...]], dict[str, Any]]


class _Route:
    """What the handler decided once for one logger name: its fapilog logger and, when its
    arguments have names, how many there are and a function turning them into fields."""

    __slots__ = ("arity", "build", "logger")

    def __init__(self, logger: Logger, build: _Builder | None, arity: int) -> None:
        self.logger = logger
        self.build = build
        self.arity = arity


def _fields_builder(logger_name: str, names: Sequence[str]) -> tuple[_Builder, int]:
    """``lambda args: {names[0]: args[0], ...}``: a dict display is about 3x cheaper than
    ``dict(zip(names, args))``, and this runs for every access-log line. The names are written
    into the source with ``repr``, so any string is safe."""
    names = tuple(names) if not isinstance(names, str) else (names,)
    if not names or not all(isinstance(name, str) for name in names):
        raise ConfigError(
            f"FapilogHandler(arg_fields=...): {logger_name!r}: {names!r} is not accepted; "
            "expected a non-empty sequence of field names (str)"
        )
    items = ", ".join(f"{name!r}: args[{i}]" for i, name in enumerate(names))
    build: _Builder = eval(f"lambda args: {{{items}}}")
    return build, len(names)


class FapilogHandler(logging.Handler):
    """A ``logging.Handler`` that offers each record to fapilog's queue instead of writing it.

    fapilog's overflow strategy applies to these records too, and they are counted in
    :func:`fapilog.stats` like any other call. ``arg_fields`` maps a logger name to the field
    names of its records' positional arguments (added to :data:`ARG_FIELDS`, which it overrides).

    Under ``queue_overflow="block"`` a record logged on an event loop's thread waits there for
    room like any synchronous call: a slow sink then stalls the loop. See the README.
    """

    def __init__(
        self,
        level: int | str = logging.NOTSET,
        *,
        arg_fields: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(level)
        self._builders = {
            name: _fields_builder(name, names)
            for name, names in {**ARG_FIELDS, **(arg_fields or {})}.items()
        }
        self._routes: dict[str, _Route] = {}

    def _route_for(self, name: str) -> _Route:
        build, arity = self._builders.get(name, (None, -1))
        return self._routes.setdefault(name, _Route(Logger(name), build, arity))

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: fapilog's queue is safe for any number of threads on its own.
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            route = self._routes.get(record.name) or self._route_for(record.name)
            message = record.msg
            if type(message) is not str:
                message = str(message)
            args = record.args
            if args:
                message = message % args
                build = route.build
                if build is not None and route.arity == len(args) and type(args) is tuple:
                    fields = build(args)
                else:
                    fields = {}
            else:
                fields = {}
            if message[-1:] == "\n":
                message = message.rstrip("\r\n")
            attrs = record.__dict__
            if len(attrs) > _PLAIN_RECORD_LEN:
                for key, value in attrs.items():
                    if key not in _SKIPPED:
                        fields[key] = value
            exc_info = record.exc_info
            if exc_info and exc_info[0] is not None:
                formatter = self.formatter or _FORMATTER
                fields["exception"] = formatter.formatException(exc_info)
            elif record.exc_text:
                fields["exception"] = record.exc_text
            if record.stack_info:
                fields["stack"] = record.stack_info
            method = _METHODS.get(record.levelno) or _method_for(record.levelno)
            getattr(Logger, method)(route.logger, message, **fields)
        except Exception:
            self.handleError(record)


#: Logger method name for each stdlib level number seen so far (any int maps to a method).
_METHODS: dict[int, str] = {}


def _method_for(levelno: int) -> str:
    name = level_name(levelno)
    _METHODS[levelno] = name
    return name


# -- capture() -------------------------------------------------------------------------------


class _Saved:
    """A logger's state before :func:`capture` changed it."""

    __slots__ = ("handlers", "level", "propagate")

    def __init__(self, logger: logging.Logger) -> None:
        self.handlers = list(logger.handlers)
        self.level = logger.level
        self.propagate = logger.propagate

    def restore(self, logger: logging.Logger) -> None:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in self.handlers:
            logger.addHandler(handler)
        logger.setLevel(self.level)
        logger.propagate = self.propagate


_capture_lock = threading.Lock()
#: Loggers changed by capture() (None = the root), with their state before the first capture.
_saved: dict[str | None, _Saved] = {}
#: The ``logging`` module switches that make each LogRecord gather what fapilog never writes:
#: the caller's file, line and function (``_srcfile``: ``findCaller`` walks the stack), the thread,
#: process and task names. The logging HOWTO's "Optimization" section documents them.
_LEAN_SWITCHES: dict[str, Any] = {
    "_srcfile": None,
    "logThreads": False,
    "logProcesses": False,
    "logMultiprocessing": False,
    "logAsyncioTasks": False,
}
#: Their values before ``capture(lean=True)`` changed them.
_saved_switches: dict[str, Any] = {}


def fapilog_level() -> int:
    """fapilog's ``level`` as a number: the current pipeline's, else ``FAPILOG_LEVEL``'s."""
    from fapilog._lifecycle import current_pipeline
    from fapilog._settings import LoggingSettings

    pipeline = current_pipeline()
    settings = pipeline.settings if pipeline is not None else LoggingSettings.from_env()
    return settings.level_number


def _level_number(level: int | str | None) -> int:
    if level is None:
        return fapilog_level()
    number = parse_level(level)
    if number is None or number < 0:
        raise ConfigError(
            f"capture(level=...): {level!r} is not accepted; expected {accepted_levels()}"
        )
    return number


def capture(level: int | str | None = None, *, lean: bool = False) -> Callable[[], None]:
    """Route every standard-library record into fapilog, once each; return a function undoing it.

    A :class:`FapilogHandler` becomes the root logger's only handler, and every logger that has
    handlers of its own (uvicorn's, gunicorn's, …) loses them and propagates to the root, so each
    record reaches fapilog exactly once and nothing else prints it. Those loggers' levels are
    reset to follow the root's, which is set to ``level`` (a name or a number), by default
    fapilog's own ``level`` (the current pipeline's, else ``FAPILOG_LEVEL``): one level setting.
    Loggers without handlers keep their own levels and settings (a logger silenced with
    ``propagate = False`` and no handlers stays silent).

    ``lean=True`` also turns off what the standard library computes for every record and
    fapilog never writes (caller file/line/function, thread, process and task names: see
    :data:`_LEAN_SWITCHES`), about a third of a bridged record's cost to the caller. Leave it
    off when a filter or another handler reads those attributes.

    Calling it again (e.g. after uvicorn configured its loggers) captures loggers that gained
    handlers since and sets the level again. The returned function, like :func:`uncapture`,
    restores every logger (and the switches) as it was before the first call.
    """
    number = _level_number(level)
    with _capture_lock:
        if lean:
            for name, value in _LEAN_SWITCHES.items():
                if hasattr(logging, name):
                    _saved_switches.setdefault(name, getattr(logging, name))
                    setattr(logging, name, value)
        root = logging.getLogger()
        _saved.setdefault(None, _Saved(root))
        ours = [h for h in root.handlers if isinstance(h, FapilogHandler)]
        for handler in list(root.handlers):
            if handler not in ours[:1]:
                root.removeHandler(handler)
        if not ours:
            root.addHandler(FapilogHandler())
        root.setLevel(number)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger) or not logger.handlers:
                continue
            _saved.setdefault(name, _Saved(logger))
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
    return uncapture


def uncapture() -> None:
    """Undo :func:`capture`: every logger it changed gets its handlers, level and propagation
    back. Safe to call twice."""
    with _capture_lock:
        for name, saved in _saved.items():
            saved.restore(logging.getLogger(name))
        _saved.clear()
        for switch, value in _saved_switches.items():
            setattr(logging, switch, value)
        _saved_switches.clear()


def _uvicorn_handler() -> FapilogHandler:
    """The handler behind :data:`UVICORN_LOG_CONFIG`; sets the root's level to fapilog's."""
    logging.getLogger().setLevel(fapilog_level())
    return FapilogHandler()


#: ``uvicorn.run(app, log_config=UVICORN_LOG_CONFIG)`` (or ``--log-config`` with this dict saved
#: as JSON): uvicorn's loggers propagate to the root, whose only handler is a
#: :class:`FapilogHandler`, at fapilog's level (``FAPILOG_LEVEL``, or the pipeline configured
#: before uvicorn starts). uvicorn's ``--log-level`` still sets its own loggers' levels.
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # Placeholders: uvicorn writes ``use_colors`` into these two when --use-colors is given.
    "formatters": {"default": {}, "access": {}},
    "handlers": {"fapilog": {"()": "fapilog.stdlib._uvicorn_handler"}},
    "loggers": {
        name: {"handlers": [], "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    },
    "root": {"handlers": ["fapilog"]},
}
