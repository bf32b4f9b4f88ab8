"""fapilog: async-first structured logging that never degrades the service.

A log call builds one record and offers it to a bounded queue; a background worker batches,
serializes and writes. See ``configure_logging`` and ``LoggingSettings`` for the knobs.

``import fapilog`` loads only the logger and the context helpers; the pipeline (settings, queue,
worker, sinks, JSON) loads on the first configure or log call, so importing stays cheap.
"""

from fapilog._context import (
    bind_context,
    clear_context,
    context,
    get_context,
    reset_context,
    unbind_context,
)
from fapilog._errors import ConfigError
from fapilog._logger import Logger, install_autoconfigure
from fapilog._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fapilog._lifecycle import aflush, ashutdown, configure_logging, flush, shutdown, stats
    from fapilog._settings import LoggingSettings
    from fapilog._stats import PipelineStats, SinkStats

_LAZY = {
    "aflush": "fapilog._lifecycle",
    "ashutdown": "fapilog._lifecycle",
    "configure_logging": "fapilog._lifecycle",
    "flush": "fapilog._lifecycle",
    "shutdown": "fapilog._lifecycle",
    "stats": "fapilog._lifecycle",
    "LoggingSettings": "fapilog._settings",
    "PipelineStats": "fapilog._stats",
    "SinkStats": "fapilog._stats",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fapilog' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _configure_from_env() -> None:
    # The package root wires auto-configuration: until a pipeline exists, each log method
    # builds one from the environment first (loading the pipeline only then).
    from fapilog._lifecycle import autoconfigure

    autoconfigure()


install_autoconfigure(_configure_from_env)

#: The default logger.
log = Logger()


def get_logger(name: str | None = None) -> Logger:
    """A logger whose records carry ``"logger": name`` (the default logger's twin for None)."""
    return Logger(name)


__all__ = [
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
