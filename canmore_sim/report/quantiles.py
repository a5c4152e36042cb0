"""Quantiles of the report's confidence intervals: Student's t (the CI of a mean) and the
standard normal (the Wilson interval of an accuracy), exact to about 1e-12 without
scipy (:mod:`canmore_sim.report.aggregates` uses them)."""

from __future__ import annotations

import functools
import math

import numpy as np

from canmore_sim.errors import DataError

__all__ = ["check_probability", "normal_quantile", "t_quantile"]

#: Above this many degrees of freedom the t quantile comes from its asymptotic series.
_T_SERIES_DF = 1000


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom.

    Exact for integer ``df`` up to 1,000: bisection on the closed-form distribution
    function of Abramowitz and Stegun 26.7.3 (odd ``df``) and 26.7.4 (even ``df``);
    beyond that, the Cornish-Fisher series of Abramowitz and Stegun 26.7.5 in ``1/df``
    (there closer to the exact value than the bisection's rounding, below 1e-12 up to
    p = 0.9995). Results are cached.

    Parameters
    ----------
    p
        Probability, 0 < p < 1.
    df
        Degrees of freedom, an integer >= 1.

    Returns
    -------
    float
        ``t`` with P(T <= t) = p (for example 12.706 for p = 0.975, df = 1).

    Raises
    ------
    DataError
        If ``p`` is not in (0, 1) or ``df`` is not a positive integer.
    """
    check_probability(p, "p")
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise DataError(f"t quantile: degrees of freedom must be an integer >= 1, got {df!r}")
    return _t_quantile(float(p), int(df))


@functools.lru_cache(maxsize=256)
def _t_quantile(p: float, df: int) -> float:
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_t_quantile(1.0 - p, df)
    if df > _T_SERIES_DF:
        return _t_series(normal_quantile(p), df)
    return _t_bisect(2.0 * p - 1.0, df)


def _t_central(theta: float, df: int) -> float:
    """P(|T| <= sqrt(df) tan(theta)) for integer ``df`` (A&S 26.7.3 / 26.7.4)."""
    c = math.cos(theta) ** 2
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + sum_k prod_j 2j/(2j+1) c^k))
        k = np.arange(1, (df - 3) // 2 + 1, dtype=np.float64)
        series = 1.0 + float(np.sum(np.cumprod(2.0 * k / (2.0 * k + 1.0) * c))) if df > 1 else 0.0
        return 2.0 / math.pi * (theta + math.sin(theta) * math.cos(theta) * series)
    k = np.arange(1, (df - 2) // 2 + 1, dtype=np.float64)  # even: sin (1 + sum prod (2j-1)/2j c^k)
    return math.sin(theta) * (1.0 + float(np.sum(np.cumprod((2.0 * k - 1.0) / (2.0 * k) * c))))


def _t_bisect(central: float, df: int) -> float:
    """``t`` with P(|T| <= t) = ``central``, by bisection on theta = atan(t / sqrt(df))."""
    low, high = 0.0, math.pi / 2
    while True:
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if _t_central(mid, df) < central:
            low = mid
        else:
            high = mid
    return math.sqrt(df) * math.tan(0.5 * (low + high))


def _t_series(z: float, df: int) -> float:
    """A&S 26.7.5: the t quantile as the normal quantile ``z`` plus terms in 1/df."""
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


def normal_quantile(p: float) -> float:
    """The ``p`` quantile of the standard normal distribution (bisection on ``math.erfc``).

    Parameters
    ----------
    p
        Probability, 0 < p < 1.

    Returns
    -------
    float
        ``z`` with Phi(z) = p (1.959964 for p = 0.975).
    """
    check_probability(p, "p")
    low, high = -40.0, 40.0
    while True:
        mid = 0.5 * (low + high)
        if mid in (low, high):
            return mid
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < p:
            low = mid
        else:
            high = mid


def check_probability(p: float, name: str) -> None:
    """Refuse ``p`` (named ``name`` in the message) unless it is a number in (0, 1).

    Raises
    ------
    DataError
        Naming ``name`` and the value.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
        raise DataError(f"aggregates: {name} must be a number between 0 and 1 (exclusive), "
                        f"got {p!r}")
