"""The relaxations that prove a variable narrow (privacy.outer) against ranges worked out by hand:
an outer range always contains the exact one, proves narrow only what is narrow, and leaves the
rest to the component's own LPs."""

import math

import numpy as np

from plan_metrics.privacy import helper_processes, lp, outer
from plan_metrics.privacy.component_lp import ComponentLP


def chain(need: float = 5.0) -> lp.System:
    """x0 + x1 = 10, x1 + x2 = 10, ..., x8 + x9 = 10, x9 <= 1, truth x_even = 9, x_odd = 1.

    By hand: x9 in [0, 1], so x8 = 10 - x9 in [9, 10], x7 = x9 in [0, 1], ... every variable has
    a range of width 1. Near x8 (two hops: x7, x8, x9 and the bound on x9) that shows; near x0
    nothing bounds x2 but its own bounds, so a relaxation of x0 is as wide as 0 to 10."""
    system = lp.System()
    xs = [system.add_var(ub=10.0, need=need, truth=9.0 if k % 2 == 0 else 1.0, block=k)
          for k in range(10)]
    for k in range(9):
        system.add({xs[k]: 1.0, xs[k + 1]: 1.0}, "=", 10.0)
    system.add({xs[9]: 1.0}, "<=", 1.0)
    return system


def component(system: lp.System) -> ComponentLP:
    return ComponentLP(system, np.arange(len(system)), (system.eq, system.le))


def test_an_outer_range_contains_the_exact_range():
    comp = component(chain())
    exact = {k: ((9.0, 10.0) if k % 2 == 0 else (0.0, 1.0)) for k in range(10)}
    for k in range(10):
        for hops in (1, 2, 3):
            low, high = outer.outer_range(comp, k, hops)
            assert low <= exact[k][0] + 1e-9 and high >= exact[k][1] - 1e-9


def test_a_relaxation_proves_narrow_only_what_it_sees():
    comp = component(chain())
    assert outer.narrow_within(comp, 8, 2, 5.0, True) == (9.0, 10.0)   # x9's bound, 2 hops
    assert outer.narrow_within(comp, 7, 2, 5.0, True) is None           # 3 hops away
    assert outer.narrow_within(comp, 7, 3, 5.0, True) == (0.0, 1.0)
    assert outer.narrow_within(comp, 0, 3, 5.0, True) is None           # 9 hops away
    assert outer.narrow_within(comp, 8, 2, 1.0, True) is None           # width 1: not short of 1


def test_the_relaxations_are_tried_only_where_they_pay():
    """No relaxation before the own LPs' cost is known; where they are fast, a relaxation that
    proves nothing is dropped once it has cost 3% of their time; where they are slow, the
    relaxations are tried on every variable and prove what they can."""
    comp = component(chain())
    prover = outer.Prover()
    assert prover.narrow(comp, 8, 5.0, True) is None            # the own LPs' cost unknown
    for _ in range(outer.TRIES):
        prover.solved_whole(1e-6)
    assert prover.narrow(comp, 0, 5.0, True) is None            # tried, proves nothing
    assert prover.narrow(comp, 8, 5.0, True) is None            # no longer worth trying
    assert prover.tried[2][1] == 1 and prover.tried[3][1] == 1
    slow = outer.Prover()
    for _ in range(outer.TRIES):
        slow.solved_whole(10.0)
    for _ in range(5):
        assert slow.narrow(comp, 0, 5.0, True) is None
        assert slow.narrow(comp, 8, 5.0, True) == (9.0, 10.0)   # proven at 2 hops
    assert slow.tried[2][1:] == [10, 5] and slow.tried[3][1:] == [5, 0]


def test_the_protection_ranges_are_outer_or_exact_and_never_wide(monkeypatch):
    """With the truth known (the run's protection), every variable is still found narrow; those
    a relaxation proves (tried here on every variable) get its outer range, the others their
    exact range from their own LPs. Without the truth (the auditor), every range is exact."""
    monkeypatch.setattr(helper_processes, "_pool", False)
    monkeypatch.setattr(outer.Prover, "_worth", lambda self, hops: True)
    for known in (True, False):
        system = chain()
        if not known:
            system.truth = [math.nan] * len(system)
        got, _ = lp.ranges(system)
        for k, r in got.items():
            exact = (9.0, 10.0) if k % 2 == 0 else (0.0, 1.0)
            assert r.width < 5
            assert r.low <= exact[0] and r.high >= exact[1]
            if not known or k <= 5:
                assert (r.low, r.high) == exact
            assert r.exact == (not known or k <= 6)   # x7 to x9 proven by a relaxation
