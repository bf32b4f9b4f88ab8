"""ConfigError: the one exception fapilog raises on purpose."""

from __future__ import annotations

import pytest

import fapilog


def test_config_error_is_a_value_error_raised_at_configure_time_only() -> None:
    """A bad setting raises ConfigError, which ``except ValueError`` also catches; a log call
    with a bad level name never raises it."""
    assert issubclass(fapilog.ConfigError, ValueError)
    with pytest.raises(ValueError, match="FAPILOG_QUEUE_OVERFLOW"):
        fapilog.configure_logging(sinks=("null",), queue_overflow="sometimes")
    assert fapilog.log.log("no-such-level", "still logged") is True
