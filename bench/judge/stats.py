"""Small-sample statistics for the benchmark gate, stdlib only.

The gate needs two things pyperf does not expose publicly: a Student-t confidence interval of a
benchmark's mean, and a one-sided Welch test ("is the new mean really higher than the old one?").
Both need the t distribution; its CDF is the regularized incomplete beta function, evaluated here
with the classic continued fraction (modified Lentz), which converges in a few dozen terms for the
degrees of freedom a benchmark produces (2 to a few hundred values).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

_TINY = 1e-300
_EPS = 3e-14
_MAX_TERMS = 300


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b), valid where x < (a + 1) / (a + b + 2)."""
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_TERMS + 1):
        # Even step, then odd step, of the continued fraction's coefficients.
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < _EPS:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b): the regularized incomplete beta function for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # Use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges faster.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(p: float, df: float) -> float:
    """The t value below which a share ``p`` of the distribution lies (0.5 < p < 1)."""
    if not 0.5 < p < 1.0:
        raise ValueError(f"t_quantile needs 0.5 < p < 1, got {p}")
    low, high = 0.0, 1.0
    while t_sf(high, df) > 1.0 - p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_sf(mid, df) > 1.0 - p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class MeanCI:
    """Mean of a sample and its two-sided confidence interval (low == high == mean when n < 2)."""

    n: int
    mean: float
    low: float
    high: float


def mean_ci(values: Sequence[float], level: float = 0.95) -> MeanCI:
    """Student-t confidence interval of the mean of ``values``."""
    if not values:
        raise ValueError("mean_ci needs at least one value")
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return MeanCI(n, mean, mean, mean)
    half = t_quantile(0.5 + level / 2.0, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return MeanCI(n, mean, mean - half, mean + half)


def welch_greater_p(before: Sequence[float], after: Sequence[float]) -> float | None:
    """One-sided Welch t-test p-value for "the mean of ``after`` is above that of ``before``".

    None when either sample has fewer than two values (no variance, no test).
    """
    if len(before) < 2 or len(after) < 2:
        return None
    m1, m2 = statistics.fmean(before), statistics.fmean(after)
    v1 = statistics.variance(before) / len(before)
    v2 = statistics.variance(after) / len(after)
    se2 = v1 + v2
    if se2 == 0.0:
        return 0.0 if m2 > m1 else 1.0
    t = (m2 - m1) / math.sqrt(se2)
    df = se2 * se2 / (v1 * v1 / (len(before) - 1) + v2 * v2 / (len(after) - 1))
    return t_sf(t, df)
