"""The attacker's bounds by linear programming: for every unknown count, its smallest and largest
value given everything published (DESIGN.md section 6).

A ``System`` holds variables (the counts no output publishes), each with bounds, a flag for whole
counts and the width its protection needs, and linear relations among them (the published counts
already moved to the right-hand side). ``ranges`` splits it into independent components (variables
that share no relation cannot narrow each other) and, per component, finds each needy variable's
range with the HiGHS simplex (``highspy``), one warm-started model per component.

Two things keep it fast without weakening the attacker:

- *witnesses*: every solution of every LP (and the true values, when known) is a point the attacker
  cannot rule out, so it widens the observed range of *every* variable at once. A variable whose
  observed range is already wide enough needs no LP of its own; the LPs that maximise and minimise
  the sum of the open variables certify most of them in two solves, and a few LPs in random
  directions (each variable still open pushed up or down at random) most of the rest;
- each LP of a component starts from the last one's basis (one HiGHS model per component, only
  the objective changes);
- a variable still short after that gets its own two LPs, which give its exact range.

Whole counts: the attacker rounds the LP bounds inwards (``ceil(min)``, ``floor(max)``).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import highspy
from scipy import sparse

EPS = 1e-6
#: at most this many LPs in random directions before each open variable gets its own two
RANDOM_DIRECTIONS = 12


@dataclass
class System:
    """Unknowns and the linear relations among them."""
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    need: list[float] = field(default_factory=list)      # required width (0: auxiliary)
    truth: list[float] = field(default_factory=list)     # NaN where unknown to the auditor too
    eq: list[tuple[dict[int, float], float]] = field(default_factory=list)
    le: list[tuple[dict[int, float], float]] = field(default_factory=list)

    def add_var(self, lb=0.0, ub=math.inf, integer=True, need=0.0, truth=math.nan) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        self.need.append(need)
        self.truth.append(truth)
        return len(self.lb) - 1

    def add(self, coefs: dict[int, float], sense: str, rhs: float) -> None:
        """sum(coef * x) <sense> rhs with sense one of '=', '<=', '>='."""
        coefs = {k: v for k, v in coefs.items() if v != 0}
        if not coefs:
            return
        if sense == "=":
            self.eq.append((coefs, rhs))
        elif sense == "<=":
            self.le.append((coefs, rhs))
        elif sense == ">=":
            self.le.append(({k: -v for k, v in coefs.items()}, -rhs))
        else:
            raise ValueError(sense)

    def __len__(self) -> int:
        return len(self.lb)


@dataclass
class Range:
    low: float
    high: float
    exact: bool           # both ends solved for this variable (not only witnessed)

    @property
    def width(self) -> float:
        return self.high - self.low


def components(system: System) -> list[np.ndarray]:
    """Groups of variables linked by relations (union-find over the relations)."""
    parent = list(range(len(system)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for coefs, _ in system.eq + system.le:
        keys = list(coefs)
        r = find(keys[0])
        for k in keys[1:]:
            s = find(k)
            if s != r:
                parent[s] = r
    groups: dict[int, list[int]] = {}
    for i in range(len(system)):
        groups.setdefault(find(i), []).append(i)
    return [np.asarray(g) for g in groups.values()]


def _quiet_highs():
    """A HiGHS instance that prints nothing: its constructor writes a banner to the process's
    standard output before any option can be set, so fd 1 is pointed at /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    # primal simplex: a new objective leaves the last basis primal feasible, so each LP of a
    # component starts where the last one ended (the dual simplex restarts far slower here, and
    # proves an unbounded variable only after thousands of iterations)
    h.setOptionValue("simplex_strategy", 4)
    return h


class _Component:
    """One component as one HiGHS model over local indices, kept between its LPs: only the
    objective changes from one LP to the next, so each solve warm-starts from the last basis."""

    def __init__(self, system: System, members: np.ndarray, relations):
        self.members = members
        self.truth = np.asarray([system.truth[g] for g in members], dtype=float)
        #: the true counts are a witness (the run's protection): most ranges are proven from
        #: them, and the LPs are kept close to them (no cap, no sets: see _component_ranges)
        self.known = not np.isnan(self.truth).any()
        local = {int(g): i for i, g in enumerate(members)}
        self.size = len(members)
        self.solves = 0
        rows, cols, vals, lower, upper = [], [], [], [], []
        for kind, rels in enumerate(relations):  # 0: equalities, 1: <=
            for coefs, b in rels:
                r = len(lower)
                for k, v in coefs.items():
                    rows.append(r)
                    cols.append(local[k])
                    vals.append(v)
                lower.append(b if kind == 0 else -highspy.kHighsInf)
                upper.append(b)
        a = sparse.csc_array((vals, (rows, cols)), shape=(len(lower), self.size))
        self.relations_of = (a.indptr, a.indices, a.data > 0)   # variable -> its relations
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = self.size, len(lower)
        model.col_cost_ = np.zeros(self.size)
        model.col_lower_ = np.asarray([system.lb[g] for g in members], dtype=float)
        # Without the true counts (the audit), a variable with no upper bound gets a large one:
        # an LP pushing it up then ends at a vertex (a witness that widens every variable it
        # moves) instead of "unbounded" (which tells nothing about the others). A feasible point
        # under the cap is feasible without it, so witnesses stay sound; a range reaching the cap
        # is as good as unbounded.
        # (If even the cap cuts off every feasible point, ``solve`` lifts it.)
        col_upper = np.asarray([system.ub[g] for g in members], dtype=float)
        self.uncapped = np.flatnonzero(np.isinf(col_upper)).astype(np.int32)
        if not self.known:
            col_upper[self.uncapped] = 10.0 * max(
                [1000.0, *(abs(b) for rels in relations for _, b in rels),
                 *(x for g in members for x in (system.lb[g], system.ub[g])
                   if not math.isinf(x))])
        model.col_upper_ = col_upper
        model.row_lower_ = np.asarray(lower, dtype=float)
        model.row_upper_ = np.asarray(upper, dtype=float)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = a.indptr
        model.a_matrix_.index_ = a.indices
        model.a_matrix_.value_ = a.data
        self.highs = _quiet_highs()
        self.highs.passModel(model)
        self._all = np.arange(self.size, dtype=np.int32)

    def solve(self, c: np.ndarray):
        """(status, x) of min c.x; status 'ok', 'unbounded' or 'infeasible'."""
        self.solves += 1
        h = self.highs
        h.changeColsCost(self.size, self._all, np.asarray(c, dtype=float))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # presolve could not tell which: ask the simplex itself
            h.setOptionValue("presolve", "off")
            h.run()
            h.setOptionValue("presolve", "choose")
            status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "ok", np.asarray(h.getSolution().col_value, dtype=float)
        if status == highspy.HighsModelStatus.kUnbounded:
            return "unbounded", None
        if status == highspy.HighsModelStatus.kInfeasible:
            if not self.known and len(self.uncapped):   # the cap was too low: lift it, retry
                h.changeColsBounds(len(self.uncapped), self.uncapped,
                                   np.asarray(h.getLp().col_lower_)[self.uncapped],
                                   np.full(len(self.uncapped), highspy.kHighsInf))
                self.uncapped = self.uncapped[:0]
                self.solves -= 1
                return self.solve(c)
            return "infeasible", None
        raise RuntimeError("the privacy audit's linear program failed: "
                           f"{h.modelStatusToString(status)}")


def _independent_sets(comp: _Component, idx: np.ndarray) -> list[np.ndarray]:
    """The variables ``idx`` (local) in sets whose members never trade off in a relation: no two
    of a set have coefficients of the same sign in one relation (x + y = 5 makes x and y compete;
    in n - x >= 0 or w - y1 - y2 - y3 = 0, pushing both the same way is what the relation allows).
    A greedy colouring."""
    start, rows, positive = comp.relations_of
    used: dict[tuple[int, bool], set[int]] = {}   # (relation, sign) -> colours of its members
    sets: list[list[int]] = []
    for v in idx.tolist():
        mine = list(zip(rows[start[v]:start[v + 1]].tolist(),
                        positive[start[v]:start[v + 1]].tolist()))
        taken = set().union(*(used.get(key, ()) for key in mine))
        k = 0
        while k in taken:
            k += 1
        if k == len(sets):
            sets.append([])
        sets[k].append(v)
        for key in mine:
            used.setdefault(key, set()).add(k)
    return [np.asarray(s, dtype=np.int64) for s in sets]


def ranges(system: System, seen: dict[int, tuple[float, float]] | None = None
           ) -> tuple[dict[int, Range], dict]:
    """The attacker's range of every variable with a need (> 0), and figures of the work done.

    ``seen``: {variable: (low, high)} values each variable is already known to take in feasible
    points of this system (witnesses of an earlier, more constrained system: hiding more cells
    only removes constraints, so its feasible points stay feasible). A variable whose seen range
    is wide enough needs no LP. Updated in place with every witness found here; the ranges
    returned are then at least as wide as those seen (exact only where an LP proved them).

    Raises ``Infeasible`` when the published numbers contradict the relations (a defect: the
    relations must hold for the true counts).
    """
    out: dict[int, Range] = {}
    figures = {"components": 0, "variables": len(system), "solves": 0}
    by_var_eq: dict[int, list] = {}
    by_var_le: dict[int, list] = {}
    for coefs, b in system.eq:
        by_var_eq.setdefault(next(iter(coefs)), []).append((coefs, b))
    for coefs, b in system.le:
        by_var_le.setdefault(next(iter(coefs)), []).append((coefs, b))
    for members in components(system):
        if not any(system.need[g] > 0 for g in members):
            continue
        figures["components"] += 1
        eqs = [r for g in members for r in by_var_eq.get(int(g), [])]
        les = [r for g in members for r in by_var_le.get(int(g), [])]
        comp = _Component(system, members, (eqs, les))
        out.update(_component_ranges(system, comp, seen))
        figures["solves"] += comp.solves
    return out, figures


class Infeasible(RuntimeError):
    """The published numbers and the relations admit no solution."""


def _component_ranges(system: System, comp: _Component,
                      seen: dict[int, tuple[float, float]] | None = None) -> dict[int, Range]:
    m = comp.members
    need = np.asarray([system.need[g] for g in m])
    integer = np.asarray([system.integer[g] for g in m])
    lo = np.full(len(m), np.inf)
    hi = np.full(len(m), -np.inf)
    if seen:
        for i, g in enumerate(m.tolist()):
            if g in seen:
                lo[i], hi[i] = seen[g]
    exact_lo = np.zeros(len(m), bool)
    exact_hi = np.zeros(len(m), bool)

    def witness(x):
        np.minimum(lo, x, out=lo)
        np.maximum(hi, x, out=hi)

    if comp.known:
        witness(comp.truth)

    def width():
        w_lo = np.where(integer, np.ceil(lo - EPS), lo)
        w_hi = np.where(integer, np.floor(hi + EPS), hi)
        return w_hi - w_lo

    def short():
        return (need > 0) & (width() < need - EPS) & ~(exact_lo & exact_hi)

    # batch directions: push every open variable up, then down, together
    for sign in (-1.0, 1.0):
        open_ = short()
        if not open_.any():
            break
        c = np.where(open_, sign, 0.0)
        status, x = comp.solve(c)
        if status == "infeasible":
            raise Infeasible("the published numbers contradict the relations")
        if status == "ok":
            witness(x)
    # independent sets (the audit): variables that never trade off in a relation, pushed up
    # together (then down), each reach (or near) their own extreme. With the true counts as a
    # witness few variables are open and their own LPs are cheaper (they start near the truth).
    for _ in range(0 if comp.known else 2):
        open_ = short()
        if open_.sum() < 8:
            break
        for group in _independent_sets(comp, np.flatnonzero(open_)):
            for sign in (-1.0, 1.0):
                group = group[short()[group]]
                if not len(group):
                    break
                c = np.zeros(len(m))
                c[group] = sign
                status, x = comp.solve(c)
                if status == "infeasible":
                    raise Infeasible("the published numbers contradict the relations")
                if status == "ok":
                    witness(x)
    # random directions over the variables still open: each solution is another extreme point,
    # widening many ranges at once; stop when a direction certifies almost nothing new
    rng = np.random.default_rng(len(m))
    for _ in range(RANDOM_DIRECTIONS):
        open_ = short()
        if open_.sum() < 8:
            break
        c = np.where(open_, rng.choice((-1.0, 1.0), len(m)), 0.0)
        status, x = comp.solve(c)
        if status == "infeasible":
            raise Infeasible("the published numbers contradict the relations")
        if status != "ok":
            break
        witness(x)
        if short().sum() > 0.95 * open_.sum():
            break
    # each variable still short: its own maximum and minimum
    for i in np.flatnonzero(short()):
        for sign, done in ((-1.0, exact_hi), (1.0, exact_lo)):
            if not short()[i] or done[i]:
                continue
            c = np.zeros(len(m))
            c[i] = sign
            status, x = comp.solve(c)
            if status == "infeasible":
                raise Infeasible("the published numbers contradict the relations")
            if status == "unbounded":
                if sign < 0:
                    hi[i] = np.inf
                else:
                    lo[i] = -np.inf
            else:
                witness(x)
            done[i] = True
    if seen is not None:
        for i, g in enumerate(m.tolist()):
            if need[i] > 0:
                seen[g] = (float(lo[i]), float(hi[i]))
    w_lo = np.where(integer, np.ceil(lo - EPS), lo)
    w_hi = np.where(integer, np.floor(hi + EPS), hi)
    return {int(g): Range(float(w_lo[i]), float(w_hi[i]), bool(exact_lo[i] and exact_hi[i]))
            for i, g in enumerate(m) if need[i] > 0}
