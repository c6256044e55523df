"""The attacker's bounds by linear programming: for every unknown count, its smallest and largest
value given everything published (DESIGN.md section 6).

A ``System`` holds variables (the counts no output publishes), each with bounds, a flag for whole
counts and the width its protection needs, and linear relations among them (the published counts
already moved to the right-hand side). ``ranges`` splits it into independent components (variables
that share no relation cannot narrow each other) and, per component, finds each needy variable's
range with ``scipy.optimize.linprog`` (HiGHS).

Two things keep it fast without weakening the attacker:

- *witnesses*: every solution of every LP (and the true values, when known) is a point the attacker
  cannot rule out, so it widens the observed range of *every* variable at once. A variable whose
  observed range is already wide enough needs no LP of its own; the LPs that maximise and minimise
  the sum of the open variables certify most of them in two solves;
- a variable still short after that gets its own two LPs, which give its exact range.

Whole counts: the attacker rounds the LP bounds inwards (``ceil(min)``, ``floor(max)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse

EPS = 1e-6


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


class _Component:
    """One component as matrices over local indices, and its LPs."""

    def __init__(self, system: System, members: np.ndarray, relations):
        self.members = members
        local = {int(g): i for i, g in enumerate(members)}
        self.size = len(members)
        self.bounds = [(system.lb[g], None if math.isinf(system.ub[g]) else system.ub[g])
                       for g in members]
        self.A_eq, self.b_eq = self._matrix([r for r in relations[0]], local)
        self.A_ub, self.b_ub = self._matrix([r for r in relations[1]], local)
        self.solves = 0

    def _matrix(self, rels, local):
        if not rels:
            return None, None
        rows, cols, vals, rhs = [], [], [], []
        for r, (coefs, b) in enumerate(rels):
            for k, v in coefs.items():
                rows.append(r)
                cols.append(local[k])
                vals.append(v)
            rhs.append(b)
        return (sparse.csr_array((vals, (rows, cols)), shape=(len(rels), self.size)),
                np.asarray(rhs, dtype=float))

    def solve(self, c: np.ndarray):
        """(status, x) of min c.x; status 'ok', 'unbounded' or 'infeasible'."""
        self.solves += 1
        res = optimize.linprog(c, A_ub=self.A_ub, b_ub=self.b_ub, A_eq=self.A_eq,
                               b_eq=self.b_eq, bounds=self.bounds, method="highs")
        if res.status == 0:
            return "ok", res.x
        if res.status == 3:
            return "unbounded", None
        if res.status == 2:
            return "infeasible", None
        raise RuntimeError(f"the privacy audit's linear program failed: {res.message}")


def ranges(system: System) -> tuple[dict[int, Range], dict]:
    """The attacker's range of every variable with a need (> 0), and figures of the work done.

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
        out.update(_component_ranges(system, comp))
        figures["solves"] += comp.solves
    return out, figures


class Infeasible(RuntimeError):
    """The published numbers and the relations admit no solution."""


def _component_ranges(system: System, comp: _Component) -> dict[int, Range]:
    m = comp.members
    need = np.asarray([system.need[g] for g in m])
    integer = np.asarray([system.integer[g] for g in m])
    lo = np.full(len(m), np.inf)
    hi = np.full(len(m), -np.inf)
    exact_lo = np.zeros(len(m), bool)
    exact_hi = np.zeros(len(m), bool)

    def witness(x):
        np.minimum(lo, x, out=lo)
        np.maximum(hi, x, out=hi)

    truth = np.asarray([system.truth[g] for g in m], dtype=float)
    if not np.isnan(truth).any():
        witness(truth)

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
    w_lo = np.where(integer, np.ceil(lo - EPS), lo)
    w_hi = np.where(integer, np.floor(hi + EPS), hi)
    return {int(g): Range(float(w_lo[i]), float(w_hi[i]), bool(exact_lo[i] and exact_hi[i]))
            for i, g in enumerate(m) if need[i] > 0}
