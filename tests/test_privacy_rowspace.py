"""The counts the equalities pin only together (privacy.rowspace), against systems solved by hand:
found where peeling (one equality at a time) finds nothing, never claimed for a count that moves,
and taken by the run's protection at their true value without an LP."""

import numpy as np

from plan_metrics.privacy import helper_processes, lp, rowspace
from plan_metrics.privacy.component_lp import ComponentLP


def triangle_and_pair() -> lp.System:
    """a + b = 5, b + c = 7, a + c = 6; d + e = 4.

    By hand: adding the first two and subtracting the third, 2b = 6, so b = 3, a = 2, c = 4:
    all three pinned, though every equality holds two unknowns (peeling finds none). d and e
    move together from 0..4: neither is pinned."""
    system = lp.System()
    a, b, c, d, e = (system.add_var(ub=10.0, need=5.0, truth=t, block=k)
                     for k, t in enumerate((2.0, 3.0, 4.0, 1.0, 3.0)))
    system.add({a: 1.0, b: 1.0}, "=", 5.0)
    system.add({b: 1.0, c: 1.0}, "=", 7.0)
    system.add({a: 1.0, c: 1.0}, "=", 6.0)
    system.add({d: 1.0, e: 1.0}, "=", 4.0)
    return system


def table_with_margins() -> lp.System:
    """A 2 x 2 table x11 x12 / x21 x22 with both margins (rows 10 and 10, columns 8 and 12, so
    one equality repeats the others: a singular system) and x11 + x22 = 6, coefficients scaled
    unevenly (2 x11 + 2 x12 = 20).

    By hand: x11 = t, x12 = 10 - t, x21 = 8 - t, x22 = 2 + t, and t + 2 + t = 6: t = 2, every
    cell pinned. Without the last equality, t runs over 0..8: none is."""
    system = lp.System()
    x11, x12, x21, x22 = (system.add_var(ub=20.0, need=5.0, truth=t, block=k)
                          for k, t in enumerate((2.0, 8.0, 6.0, 4.0)))
    system.add({x11: 2.0, x12: 2.0}, "=", 20.0)
    system.add({x21: 1.0, x22: 1.0}, "=", 10.0)
    system.add({x11: 1.0, x21: 1.0}, "=", 8.0)
    system.add({x12: 1.0, x22: 1.0}, "=", 12.0)
    system.add({x11: 1.0, x22: 1.0}, "=", 6.0)
    return system


def component(system: lp.System) -> ComponentLP:
    return ComponentLP(system, np.arange(len(system)), (system.eq, system.le))


def mask(system: lp.System) -> list[bool]:
    comp = component(system)
    return rowspace.pinned_mask(comp.a, comp.row_lower == comp.row_upper).tolist()


def test_counts_pinned_only_by_equalities_together():
    system = triangle_and_pair()
    assert component(system).pinned == {}            # peeling alone sees nothing
    assert mask(system) == [True, True, True, False, False]


def test_a_singular_table_with_margins():
    system = table_with_margins()
    assert mask(system) == [True] * 4
    system.eq.pop()                                  # x11 + x22 = 6 gone: the cycle moves
    assert mask(system) == [False] * 4


def test_inequalities_and_bounds_pin_nothing_here():
    """Only equalities count: a + b <= 5 with a >= 5 leaves a single solution (5, 0), but that is
    the bounds' doing, which the LPs find; the row-space test claims neither."""
    system = lp.System()
    a = system.add_var(lb=5.0, ub=10.0, need=5.0, truth=5.0)
    b = system.add_var(ub=10.0, need=5.0, truth=0.0)
    system.add({a: 1.0, b: 1.0}, "<=", 5.0)
    assert mask(system) == [False, False]


def test_the_protection_takes_pinned_counts_at_their_true_value(monkeypatch):
    """Above the size where it pays, the protection's ranges of pinned counts are their true
    values, exact, and come without an LP of their own; the others still get theirs."""
    monkeypatch.setattr(helper_processes, "_pool", False)
    monkeypatch.setattr(lp, "ROWSPACE_MIN_SIZE", 1)
    monkeypatch.setattr(lp, "ROWSPACE_MIN_OPEN", 1)
    system = triangle_and_pair()
    comp = component(system)
    got = lp._component_ranges(system, comp, {})
    assert [(got[k].low, got[k].high, got[k].exact) for k in range(3)] == \
        [(2.0, 2.0, True), (3.0, 3.0, True), (4.0, 4.0, True)]
    assert (got[3].low, got[3].high) == (0.0, 4.0) and (got[4].low, got[4].high) == (0.0, 4.0)
    # the same ranges as the LPs find without the test, in fewer LPs
    monkeypatch.setattr(lp, "ROWSPACE_MIN_SIZE", 10**9)
    plain = component(triangle_and_pair())
    assert lp._component_ranges(triangle_and_pair(), plain, {}) == got
    assert comp.solves < plain.solves
