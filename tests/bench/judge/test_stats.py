"""bench/judge/stats.py: Student's t quantiles and Welch's one-sided test."""

from __future__ import annotations

import pytest

from bench.judge import stats


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.7062), (5, 2.5706), (10, 2.2281), (30, 2.0423), (1000, 1.9623)]
)
def test_t_quantile_matches_tables(df: int, expected: float) -> None:
    """The 97.5 % Student-t quantile behind the 95 % CI matches published tables."""
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_welch_p_value_direction() -> None:
    """The test is one-sided: a clearly higher sample gives p near 0, a lower one near 1."""
    low = [10.0, 10.2, 9.8, 10.1, 9.9]
    high = [12.0, 12.2, 11.8, 12.1, 11.9]
    p_up = stats.welch_greater_p(low, high)
    p_down = stats.welch_greater_p(high, low)
    assert p_up is not None
    assert p_down is not None
    assert p_up < 1e-6
    assert p_down > 1 - 1e-6
    assert stats.welch_greater_p([1.0], high) is None
