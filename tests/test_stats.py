"""stats: intervals checked against published worked examples and hand arithmetic."""

import math

import numpy as np
import pandas as pd
import pytest

from plan_metrics import stats


# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Stat Med 17:857-872, Table I, method 3 (Wilson score interval without continuity
# correction), rows 81/263, 15/148, 0/20, 1/29.
@pytest.mark.parametrize("k,n,low,high", [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_newcombe_table_1(k, n, low, high):
    lo, hi = stats.wilson(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_by_hand_and_edges():
    # 5/10, z=1.96: centre = (0.5 + 3.8416/20)/(1 + 0.38416) = 0.5; half = 1.96/1.38416 *
    # sqrt(0.025 + 3.8416/400) = 1.416021 * sqrt(0.034604) = 1.416021 * 0.186022 = 0.263410
    # -> 0.236590 .. 0.763410
    lo, hi = stats.wilson(5, 10, z=1.96)
    assert (lo, hi) == pytest.approx((0.236590, 0.763410), abs=1e-5)
    # 10/10 reaches 1 exactly; 0/10 reaches 0 exactly; n = 0 is undefined
    assert stats.wilson(10, 10)[1] == 1.0 and stats.wilson(0, 10)[0] == 0.0
    assert all(math.isnan(x) for x in stats.wilson(0, 0))


def test_wilson_vectorized_series_with_missing():
    k = pd.Series([81, pd.NA, 3], dtype="Int64", index=[7, 8, 9])
    n = pd.Series([263, 10, 0], dtype="Int64", index=[7, 8, 9])
    lo, hi = stats.wilson(k, n)
    assert list(lo.index) == [7, 8, 9]
    assert lo[7] == pytest.approx(0.2553, abs=5e-5)
    assert np.isnan(lo[8]) and np.isnan(hi[9])
    lo, hi = stats.wilson(np.array([81, 15]), np.array([263, 148]))
    assert hi == pytest.approx([0.3662, 0.1605], abs=5e-5)


# Newcombe RG (1998) "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Stat Med 17:873-890, Table II, method 10 (score interval for the
# difference, Wilson intervals combined; = MOVER, Zou & Donner 2008).
@pytest.mark.parametrize("a,m,b,n,low,high", [
    (56, 70, 48, 80, 0.0524, 0.3339),     # 0.8 - 0.6 = 0.2
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
])
def test_mover_difference_newcombe_method_10(a, m, b, n, low, high):
    l1, u1 = stats.wilson(a, m)
    l0, u0 = stats.wilson(b, n)
    lo, hi = stats.mover_difference(a / m, l1, u1, b / n, l0, u0)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_change_real_only_when_interval_excludes_zero():
    l1, u1 = stats.wilson(56, 70)
    l0, u0 = stats.wilson(48, 80)
    c = stats.change(0.8, l1, u1, 0.6, l0, u0)
    assert c["diff"] == pytest.approx(0.2) and c["real"] is True
    # 5/56 vs 0/29: interval -0.0381 .. 0.1926 contains 0 -> not real
    l1, u1 = stats.wilson(5, 56)
    l0, u0 = stats.wilson(0, 29)
    assert stats.change(5 / 56, l1, u1, 0.0, l0, u0)["real"] is False
    # a missing side is never real
    assert stats.change(0.5, np.nan, np.nan, 0.1, 0.05, 0.15)["real"] is False
    # hand: v1=1 (0.9..1.1) v0=2 (1.8..2.2): d=-1, low=-1-sqrt(.01+.04)=-1.2236,
    # high=-1+sqrt(.01+.04)=-0.7764 -> a real decline
    c = stats.change(1.0, 0.9, 1.1, 2.0, 1.8, 2.2)
    assert (c["low"], c["high"]) == pytest.approx((-1.22361, -0.77639), abs=1e-5)
    assert c["real"] is True


def test_change_vectorized():
    c = stats.change(pd.Series([1.0, 1.0]), pd.Series([0.9, 0.0]), pd.Series([1.1, 2.0]),
                     pd.Series([2.0, 1.0]), pd.Series([1.8, 0.0]), pd.Series([2.2, 2.0]))
    assert c["real"].tolist() == [True, False]


def test_katz_log_rr_interval():
    # Katz D et al. (1978) Biometrics 34:469-474 log method, worked by hand for 80/400 vs 160/1600:
    # RR = 0.20/0.10 = 2; var log RR = 1/80 - 1/400 + 1/160 - 1/1600 = 0.0125 - 0.0025 + 0.00625
    # - 0.000625 = 0.015625, se = 0.125; 2·exp(∓1.959964·0.125) = 2·exp(∓0.2449955)
    # = 2·0.782708 .. 2·1.277616 = 1.5654 .. 2.5552
    lo, hi = stats.log_rr_interval(80, 400, 160, 1600)
    assert (lo, hi) == pytest.approx((1.5654, 2.5552), abs=5e-5)
    assert all(math.isnan(x) for x in stats.log_rr_interval(0, 400, 160, 1600))
    lo, hi = stats.log_rr_interval(np.array([80, 0]), 400, 160, 1600)
    assert lo[0] == pytest.approx(1.5654, abs=5e-5) and np.isnan(lo[1])


def test_poisson_rate_interval_exact_garwood():
    # The exact (Garwood 1936) limits of a Poisson count, from the published tables (e.g.
    # Ulm 1990; Rothman & Boice 1979): x = 10 -> 4.7954 .. 18.3904; x = 1 -> 0.0253 .. 5.5716
    # (Byar's approximation gives 0.0 .. 5.57 and is 48% off at the lower limit of x = 1 ... ).
    # Per 100 over an exposure of 100 the rate limits are the same numbers.
    lo, hi = stats.poisson_rate_interval(10, 100, per=100)
    assert (lo, hi) == pytest.approx((4.7954, 18.3904), abs=5e-4)
    lo, hi = stats.poisson_rate_interval(1, 100, per=100)
    assert (lo, hi) == pytest.approx((0.0253, 5.5716), abs=5e-4)
    # x = 0: lower 0, upper = -ln(0.025) = 3.6889, over an exposure of 200 per 100
    lo, hi = stats.poisson_rate_interval(0, 200, per=100)
    assert lo == 0.0 and hi == pytest.approx(3.6889 / 2, abs=5e-4)
    assert math.isnan(stats.poisson_rate_interval(3, 0)[0])
    lo, hi = stats.poisson_rate_interval(np.array([0, 10]), np.array([100, 100]))
    assert lo[0] == 0.0 and hi[1] == pytest.approx(18.3904, abs=5e-4)


def test_mean_interval_student_t():
    # values 0,1,2,3,4: sum 10, squares 30, mean 2, s² = (30 - 5·4)/4 = 2.5, se = √(2.5/5) = 0.707107
    # t(0.975; 4) = 2.776445 (Student's table): 2 ∓ 2.776445·0.707107 = 2 ∓ 1.963243
    lo, hi = stats.mean_interval(10, 30, 5)
    assert (lo, hi) == pytest.approx((0.036757, 3.963243), abs=1e-5)
    # n = 10, mean 5, s = 2: t(0.975; 9) = 2.262157 -> 5 ∓ 2.262157·2/√10 = 5 ∓ 1.430714; the
    # normal interval (∓ 1.239590) would be 13% too narrow
    lo, hi = stats.mean_interval(50, 10 * 25 + 9 * 4, 10)
    assert (lo, hi) == pytest.approx((3.569286, 6.430714), abs=1e-5)
    assert math.isnan(stats.mean_interval(3, 9, 1)[0])
