"""The one exception fapilog raises on purpose: bad configuration, at configure time."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting has a value fapilog cannot use.

    The message names the setting (and its ``FAPILOG_*`` variable), the value, and what is
    accepted. Raised by :func:`fapilog.configure_logging` and ``LoggingSettings``, never by a
    log call.
    """
