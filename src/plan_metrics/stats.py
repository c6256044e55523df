"""Interval statistics for the measures (DESIGN.md section 6).

Every function is vectorized: it takes scalars, numpy arrays or pandas Series (aligned) and returns
float arrays (or floats for scalar input); results are NaN where the statistic is undefined (no
people, no events where a log is needed, fewer than two values for a mean). The exact intervals
take their quantiles from scipy.stats.

- ``wilson``: the Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3);
- ``log_rr_interval``: the Katz log interval for a risk ratio (Katz et al. 1978);
- ``poisson_rate_interval``: the exact (Garwood 1936) Poisson interval on the count, from the
  chi-square quantiles, for a count of events per ``per`` units of exposure;
- ``mean_interval``: Student's t interval of a mean from its sums;
- ``mover_difference``: the MOVER interval of a difference of two estimates from their own
  intervals (Zou & Donner 2008), which is Newcombe's (1998) method 10 when both are Wilson intervals;
- ``change``: a difference with its interval and whether it is real (the interval excludes zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def _arr(x) -> np.ndarray:
    """Any number-like (scalar, list, Series with pd.NA) -> float ndarray with NaN for missing."""
    if isinstance(x, (pd.Series, pd.Index)):
        return pd.to_numeric(x, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    if x is None or x is pd.NA:
        return np.asarray(np.nan)
    return np.asarray(x, dtype="float64")


def _out(*arrays, like):
    """Return scalars for scalar input, Series (on the input's index) for Series input."""
    index = next((a.index for a in like if isinstance(a, pd.Series)), None)
    if index is not None:
        return tuple(pd.Series(a, index=index, dtype="float64") for a in arrays)
    if all(np.ndim(a) == 0 for a in arrays):
        return tuple(float(a) for a in arrays)
    return arrays


def wilson(k, n, z: float = Z95):
    """Wilson score interval for k successes out of n: (low, high); NaN where n <= 0.

    centre = (p + z²/2n) / (1 + z²/n), half width = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²).
    """
    kk, nn = _arr(k), _arr(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = nn > 0
        n_ = np.where(ok, nn, np.nan)
        p = kk / n_
        z2 = z * z
        denom = 1 + z2 / n_
        centre = (p + z2 / (2 * n_)) / denom
        half = z / denom * np.sqrt(np.clip(p * (1 - p), 0, None) / n_ + z2 / (4 * n_ * n_))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
        # exact bounds at the edges (rounding can leave 1e-17 instead of 0)
        low = np.where(kk == 0, 0.0, low)
        high = np.where(kk == nn, 1.0, high)
        low = np.where(ok, low, np.nan)
        high = np.where(ok, high, np.nan)
    return _out(low, high, like=(k, n))


def log_rr_interval(a, n1, c, n2, z: float = Z95):
    """Katz log interval for RR = (a/n1) / (c/n2): exp(log RR ± z·sqrt(1/a - 1/n1 + 1/c - 1/n2)).

    NaN where a or c is 0 (the log is undefined) or a denominator is 0.
    """
    a_, n1_, c_, n2_ = _arr(a), _arr(n1), _arr(c), _arr(n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (a_ > 0) & (c_ > 0) & (n1_ > 0) & (n2_ > 0)
        rr = (a_ / n1_) / (c_ / n2_)
        se = np.sqrt(np.clip(1 / a_ - 1 / n1_ + 1 / c_ - 1 / n2_, 0, None))
        low = np.where(ok, rr * np.exp(-z * se), np.nan)
        high = np.where(ok, rr * np.exp(z * se), np.nan)
    return _out(low, high, like=(a, n1, c, n2))


def poisson_rate_interval(events, exposure, per: float = 100, level: float = 0.95):
    """Interval for a rate of ``events`` per ``per`` units of ``exposure`` (e.g. per 100 students).

    The exact (Garwood 1936) limits of a Poisson count x: lower = chi2(α/2; 2x)/2 (0 when x = 0),
    upper = chi2(1-α/2; 2x+2)/2, both divided by exposure and multiplied by ``per``. NaN where
    exposure <= 0.
    """
    from scipy.stats import chi2

    x, e = _arr(events), _arr(exposure)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (e > 0) & (x >= 0)
        xx = np.where(ok, x, 0.0)
        lower = np.where(xx > 0, chi2.ppf(alpha / 2, 2 * np.maximum(xx, 1e-300)) / 2, 0.0)
        upper = chi2.ppf(1 - alpha / 2, 2 * xx + 2) / 2
        low = np.where(ok, lower / e * per, np.nan)
        high = np.where(ok, upper / e * per, np.nan)
    return _out(low, high, like=(events, exposure))


def mean_interval(values_sum, sq_sum, n, level: float = 0.95):
    """Student's t interval for a mean from the sum of values, the sum of their squares and n.

    mean ± t(1-α/2; n-1)·s/√n with the sample variance s² = (Σx² - n·mean²)/(n - 1); NaN where
    n < 2.
    """
    from scipy.stats import t

    s, q, nn = _arr(values_sum), _arr(sq_sum), _arr(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = nn >= 2
        n_ = np.where(ok, nn, np.nan)
        mean = s / n_
        var = np.clip((q - n_ * mean * mean) / (n_ - 1), 0, None)
        quantile = t.ppf(1 - (1 - level) / 2, np.where(ok, nn - 1, 1.0))
        half = quantile * np.sqrt(var / n_)
        low = np.where(ok, mean - half, np.nan)
        high = np.where(ok, mean + half, np.nan)
    return _out(low, high, like=(values_sum, sq_sum, n))


def mover_difference(v1, l1, u1, v0, l0, u0):
    """MOVER interval (Zou & Donner 2008) for v1 - v0 from each estimate's own interval.

    low = d - sqrt((v1-l1)² + (u0-v0)²), high = d + sqrt((u1-v1)² + (v0-l0)²), d = v1 - v0.
    With Wilson intervals for two independent proportions this is Newcombe's (1998) method 10.
    """
    a1, a_l1, a_u1 = _arr(v1), _arr(l1), _arr(u1)
    a0, a_l0, a_u0 = _arr(v0), _arr(l0), _arr(u0)
    d = a1 - a0
    low = d - np.sqrt((a1 - a_l1) ** 2 + (a_u0 - a0) ** 2)
    high = d + np.sqrt((a_u1 - a1) ** 2 + (a0 - a_l0) ** 2)
    return _out(low, high, like=(v1, l1, u1, v0, l0, u0))


def change(v1, l1, u1, v0, l0, u0) -> dict:
    """The change v1 - v0 with its MOVER interval; ``real`` where the interval excludes zero.

    Returns dict(diff, low, high, real). ``real`` is False where anything is missing.
    """
    low, high = mover_difference(v1, l1, u1, v0, l0, u0)
    d = _arr(v1) - _arr(v0)
    lo, hi = _arr(low), _arr(high)
    with np.errstate(invalid="ignore"):
        real = (lo > 0) | (hi < 0)  # NaN compares False: missing is never real
    (diff,) = _out(d, like=(v1, v0))
    if isinstance(diff, float):
        real = bool(real)
    elif isinstance(diff, pd.Series):
        real = pd.Series(real, index=diff.index, dtype=bool)
    return {"diff": diff, "low": low, "high": high, "real": real}
