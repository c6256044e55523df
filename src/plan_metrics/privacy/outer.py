"""Narrow for certain, cheaply: a variable's range over only the relations near it.

Dropping relations can only widen a range. The range of a variable over the relations within a
few *hops* of it (the relations it is in, the variables of those, the relations they are in, and
so on), every other variable free within its bounds, contains its range over the whole component.
So when that outer range is already narrower than the need, the variable is narrow for certain,
and the component's own two LPs, which walk to its exact extremes, are not needed to know it.

The run's protection needs exactly that: which cells are too narrow, so as to hide more around
them. In the 50,000-student district's whole folder, the first round of the protection leaves
9,455 variables of its 87,305-count component to their own LPs, about 1 s each, and most of them
are narrow (33 of a sample of 40; 18 pinned to one value by the windows and the linked measures).
The relaxation of 2 hops (about 650 variables, 12 ms) proves 20 of those 33 narrow, that of 3
hops (about 3,500 variables, 0.1 s) 28. A variable a relaxation proves is not solved whole; the
others go on to the own LPs, which decide.

The auditor does not use it: its open variables are nearly all wide (no relaxation proves them
anything), and it reports an exposed cell's exact range.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .component_lp import EPS, ComponentLP, sub_model

#: the relaxations tried, by hops, smallest first
HOPS = (2, 3)
#: the own LPs of this many variables of a component are timed before any relaxation is tried
TRIES = 8
#: a relaxation may cost what it has saved (the own LPs of the variables it proved narrow, at
#: their mean time) plus this share of the time of the own LPs
EXPLORE = 0.03


class Prover:
    """The relaxations of one component, tried only where they pay (``_worth``). In the
    50,000-student edition, whose own LPs take a few milliseconds, relaxations tried on every
    variable would double the protection's time (28 -> 58 s); in the whole folder's largest
    component, whose own LPs take about 0.4 s a variable, they save a third of it."""

    def __init__(self):
        self.whole = [0.0, 0]                              # seconds, variables solved whole
        self.tried = {h: [0.0, 0, 0] for h in HOPS}        # seconds, tries, proven narrow

    def narrow(self, comp: ComponentLP, i: int, need: float,
               integer: bool) -> tuple[float, float] | None:
        """(low, high): an outer range of the local variable ``i`` of ``comp`` narrower than
        ``need`` (the true range lies inside it), or None where no relaxation worth trying
        proves it narrow."""
        for hops in HOPS:
            if not self._worth(hops):
                continue
            seconds, tries, proven = self.tried[hops]
            started = time.perf_counter()
            found = narrow_within(comp, i, hops, need, integer)
            self.tried[hops] = [seconds + time.perf_counter() - started, tries + 1,
                                proven + (found is not None)]
            if found is not None:
                return found
        return None

    def _worth(self, hops: int) -> bool:
        """Whether to try the relaxation of ``hops`` on the next variable: once the own LPs of
        ``TRIES`` variables are timed, while it has cost no more than it saved plus ``EXPLORE``
        of the own LPs' time (so one that proves nothing costs 3% more at most, wherever
        the variables it could prove come in the order)."""
        seconds_whole, solved = self.whole
        if solved < TRIES:
            return False
        seconds, _, proven = self.tried[hops]
        return seconds <= proven * seconds_whole / solved + EXPLORE * seconds_whole

    def solved_whole(self, seconds: float) -> None:
        """A variable's own LPs took ``seconds``."""
        self.whole = [self.whole[0] + seconds, self.whole[1] + 1]


def narrow_within(comp: ComponentLP, i: int, hops: int, need: float,
                  integer: bool) -> tuple[float, float] | None:
    """(low, high): the outer range of the local variable ``i`` within ``hops`` hops (whole
    counts rounded inwards) where it is narrower than ``need``, else None."""
    low, high = outer_range(comp, i, hops)
    if integer:
        low, high = math.ceil(low - EPS), math.floor(high + EPS)
    return (float(low), float(high)) if high - low < need - EPS else None


def outer_range(comp: ComponentLP, i: int, hops: int) -> tuple[float, float]:
    """The smallest and largest value of the local variable ``i`` over the relations of ``comp``
    within ``hops`` hops of it (its bounds where an LP is unbounded)."""
    a, rows_of = comp.a, comp.rows_of_matrix()
    near = np.asarray([i])
    for _ in range(hops):
        rows = np.unique(a[:, near].indices)
        near = np.unique(rows_of[rows].indices)
    lp = sub_model(comp, near, rows, ipm=False)
    j = int(np.searchsorted(near, i))
    ends = []
    for sign in (1.0, -1.0):
        c = np.zeros(len(near))
        c[j] = sign
        status, x = lp.solve(c)
        ends.append(x[j] if status == "ok" else
                    (comp.col_lower[i] if sign > 0 else comp.col_upper[i]))
    return float(ends[0]), float(ends[1])
