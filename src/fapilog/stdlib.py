"""Route the standard library's ``logging`` records (uvicorn, SQLAlchemy, …) into fapilog's queue.

    import logging
    from fapilog.stdlib import FapilogHandler

    logging.getLogger().addHandler(FapilogHandler())

Each record becomes a fapilog event: ``event`` is the formatted message, ``logger`` the logger
name, ``level`` its level; fields passed with ``extra=`` are kept as fields, and an exception
becomes the ``exception`` field (its formatted traceback).
"""

from __future__ import annotations

import logging

from fapilog._logger import Logger

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_FORMATTER = logging.Formatter()


class FapilogHandler(logging.Handler):
    """A ``logging.Handler`` that offers each record to fapilog's queue instead of writing it.

    fapilog's overflow strategy applies to these records too, and they are counted in
    :func:`fapilog.stats` like any other call.
    """

    def __init__(self, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self._loggers: dict[str, Logger] = {}

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: fapilog's queue is safe for any number of threads on its own.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = self._loggers.get(record.name)
            if logger is None:
                logger = self._loggers.setdefault(record.name, Logger(record.name))
            fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
            if record.exc_info and record.exc_info[0] is not None:
                formatter = self.formatter or _FORMATTER
                fields["exception"] = formatter.formatException(record.exc_info)
            elif record.exc_text:
                fields["exception"] = record.exc_text
            if record.stack_info:
                fields["stack"] = record.stack_info
            logger.log(record.levelno, record.getMessage(), **fields)
        except Exception:
            self.handleError(record)
