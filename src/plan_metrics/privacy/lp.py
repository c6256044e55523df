"""The attacker's bounds by linear programming: for every unknown count, its smallest and largest
value given everything published (DESIGN.md section 6).

A ``System`` holds variables (the counts no output publishes), each with bounds, a flag for whole
counts and the width its protection needs, and linear relations among them (the published counts
already moved to the right-hand side). ``ranges`` splits it into independent components (variables
that share no relation cannot narrow each other) and, per component, finds each needy variable's
range with the HiGHS simplex (``highspy``), one warm-started model per component.

What keeps it fast without weakening the attacker:

- *witnesses*: every solution of every LP (and the true values, when known) is a point the attacker
  cannot rule out, so it widens the observed range of *every* variable at once. A variable whose
  observed range is already wide enough needs no LP of its own; the LPs that maximise and minimise
  the sum of the open variables certify most of them in two solves, and a few LPs in random
  directions (each variable still open pushed up or down at random) most of the rest;
- each LP of a component starts from the last one's basis (one HiGHS model per component, only
  the objective changes);
- a variable the equalities pin by subtraction alone (peeling) is known without any LP;
- a variable still short after that gets its own two LPs, each stopped as soon as the range is
  wide enough (a bound at that value for that LP); one that ends short of it has its exact range.

Whole counts: the attacker rounds the LP bounds inwards (``ceil(min)``, ``floor(max)``).
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
import highspy
from scipy import sparse

from . import helper_processes

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
        #: them (no independent sets: see _component_ranges)
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
        self.columns, self.rows = a, sparse.csr_array(a)
        self.row_lower = np.asarray(lower, dtype=float)
        self.row_upper = np.asarray(upper, dtype=float)
        self.pinned = _pinned(a, self.row_lower, self.row_upper,
                              np.asarray([system.lb[g] for g in members], dtype=float),
                              np.asarray([system.ub[g] for g in members], dtype=float))
        # A variable with no upper bound gets a large one: an LP pushing it up then ends at a
        # vertex (a witness that widens every variable it moves) instead of "unbounded" (which
        # tells nothing about the others, and which the primal simplex proves slowly: 7 s
        # instead of 1.5 s on the demo folder's largest component). A feasible point under the
        # cap is feasible without it, so witnesses stay sound; a range reaching the cap is as
        # good as unbounded. (If even the cap cuts off every feasible point, ``solve`` lifts it.)
        col_upper = np.asarray([system.ub[g] for g in members], dtype=float)
        self.uncapped = np.flatnonzero(np.isinf(col_upper)).astype(np.int32)
        col_upper[self.uncapped] = 10.0 * max(
            [1000.0, *(abs(b) for rels in relations for _, b in rels),
             *(x for g in members for x in (system.lb[g], system.ub[g]) if not math.isinf(x)),
             *self.truth[~np.isnan(self.truth)]])   # (the truth, when known, is a point under it)
        self._load({"col_lower": np.asarray([system.lb[g] for g in members], dtype=float),
                    "col_upper": col_upper,
                    "row_lower": np.asarray(lower, dtype=float),
                    "row_upper": np.asarray(upper, dtype=float),
                    "start": a.indptr, "index": a.indices, "value": a.data})

    def _load(self, spec: dict) -> None:
        """The HiGHS model of ``spec``'s arrays, with its basis when it has one."""
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = self.size, len(spec["row_lower"])
        model.col_cost_ = np.zeros(self.size)
        model.col_lower_ = spec["col_lower"]
        model.col_upper_ = spec["col_upper"]
        model.row_lower_ = spec["row_lower"]
        model.row_upper_ = spec["row_upper"]
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = spec["start"]
        model.a_matrix_.index_ = spec["index"]
        model.a_matrix_.value_ = spec["value"]
        self.col_lower = np.array(spec["col_lower"], dtype=float)   # the bounds as they stand
        self.col_upper = np.array(spec["col_upper"], dtype=float)
        self.highs = _quiet_highs()
        self.highs.passModel(model)
        if spec.get("col_status") is not None:
            basis = highspy.HighsBasis()
            basis.col_status = [highspy.HighsBasisStatus(v) for v in spec["col_status"].tolist()]
            basis.row_status = [highspy.HighsBasisStatus(v) for v in spec["row_status"].tolist()]
            basis.valid = True
            self.highs.setBasis(basis)
        self._all = np.arange(self.size, dtype=np.int32)

    def spec(self) -> dict:
        """The model as it stands (bounds with a lifted cap) and its last basis, as plain arrays:
        what ``replica`` needs to build the same model, warm, in another process."""
        lp, basis = self.highs.getLp(), self.highs.getBasis()

        def status(xs):
            return np.asarray([int(x.value) for x in xs], dtype=np.int8)

        return {"size": self.size, "known": self.known, "uncapped": self.uncapped,
                "col_lower": np.asarray(lp.col_lower_), "col_upper": np.asarray(lp.col_upper_),
                "row_lower": np.asarray(lp.row_lower_), "row_upper": np.asarray(lp.row_upper_),
                "start": np.asarray(lp.a_matrix_.start_),
                "index": np.asarray(lp.a_matrix_.index_),
                "value": np.asarray(lp.a_matrix_.value_),
                "col_status": status(basis.col_status) if basis.valid else None,
                "row_status": status(basis.row_status) if basis.valid else None}

    @classmethod
    def replica(cls, spec: dict) -> "_Component":
        """A component rebuilt from ``spec``, for solving only (no members, no relations)."""
        comp = cls.__new__(cls)
        comp.size, comp.known, comp.uncapped = spec["size"], spec["known"], spec["uncapped"]
        comp.solves = 0
        comp._load(spec)
        return comp

    def solve(self, c: np.ndarray, stop: tuple[int, float] | None = None):
        """(status, x) of min c.x; status 'ok', 'unbounded' or 'infeasible'.

        ``stop`` = (variable, value): for this LP only, the variable may go no further than
        ``value`` in the direction ``c`` pushes it (its bound there moves to ``value``); the
        caller keeps ``value`` within the values already observed, so the basis stays feasible.
        """
        if stop is not None:
            i, value = stop
            h = self.highs
            low, up = self.col_lower[i], self.col_upper[i]
            before = h.getBasis()
            if c[i] < 0:
                h.changeColBounds(i, low, min(up, value))
            else:
                h.changeColBounds(i, max(low, value), up)
            try:
                status, x = self.solve(c)
            finally:   # (the bounds as they stand now: solve may have lifted a cap)
                h.changeColBounds(i, self.col_lower[i], self.col_upper[i])
            if status == "ok" and abs(x[i] - value) <= EPS:
                # ended on the stop: the variable is nonbasic there, and would jump to its real
                # bound (a basis far from feasible for the next LP); the basis before it is not
                h.setBasis(before)
            if status != "infeasible":
                return status, x
            self.solves -= 1   # numerically off the observed point: solved without the stop
        self.solves += 1
        h = self.highs
        h.changeColsCost(self.size, self._all, np.asarray(c, dtype=float))
        # The first LP of a large component has no basis to start from: the interior point
        # method (with crossover, which leaves the basis the next LPs start from) finds it in a
        # fraction of the simplex's time (50k-student district: 4 s instead of 45 s for a
        # component of 29,523 counts). From a basis, the primal simplex is the faster.
        cold = self.size >= IPM_MIN_SIZE and not h.getBasis().valid
        if cold:
            h.setOptionValue("solver", "ipm")
        h.run()
        status = h.getModelStatus()
        if cold:
            h.setOptionValue("solver", "choose")
            if status not in _DECIDED:   # (an imprecise interior point: the simplex decides)
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
            if len(self.uncapped):   # the cap was too low: lift it, retry
                self.col_upper[self.uncapped] = highspy.kHighsInf
                h.changeColsBounds(len(self.uncapped), self.uncapped,
                                   self.col_lower[self.uncapped], self.col_upper[self.uncapped])
                self.uncapped = self.uncapped[:0]
                self.solves -= 1
                return self.solve(c)
            return "infeasible", None
        raise RuntimeError("the privacy audit's linear program failed: "
                           f"{h.modelStatusToString(status)}")


_DECIDED = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)


def _pinned(a: sparse.csc_array, row_lower: np.ndarray, row_upper: np.ndarray,
            col_lower: np.ndarray, col_upper: np.ndarray) -> dict[int, float]:
    """{variable: value} of the variables the equalities pin by subtraction alone: a variable
    whose bounds meet, or the last unknown of an equality whose other terms are pinned, and so
    on (peeling). Their range is that one value: no LP needs to look for it."""
    eq = row_lower == row_upper
    rows = sparse.csr_array(a)
    free = np.diff(rows.indptr).astype(np.int64)
    residual = np.where(eq, row_upper, 0.0)
    pinned: dict[int, float] = {}
    col_start, col_rows, col_vals = a.indptr, a.indices, a.data

    def pin(v: int, value: float, queue: list[int]) -> None:
        pinned[v] = value
        for k in range(col_start[v], col_start[v + 1]):
            r = col_rows[k]
            residual[r] -= col_vals[k] * value
            free[r] -= 1
            if free[r] == 1 and eq[r]:
                queue.append(int(r))

    queue: list[int] = [int(r) for r in np.flatnonzero(eq & (free == 1))]
    for v in np.flatnonzero(col_lower == col_upper).tolist():
        pin(v, float(col_lower[v]), queue)
    while queue:
        r = queue.pop()
        if free[r] != 1:
            continue
        for k in range(rows.indptr[r], rows.indptr[r + 1]):
            v = int(rows.indices[k])
            if v not in pinned:
                pin(v, float(residual[r] / rows.data[k]), queue)
                break
    return pinned


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
    for i, value in comp.pinned.items():
        lo[i] = hi[i] = value
        exact_lo[i] = exact_hi[i] = True

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
    _own_ranges(comp, np.flatnonzero(short()), lo, hi, exact_lo, exact_hi, need, integer)
    if seen is not None:
        for i, g in enumerate(m.tolist()):
            if need[i] > 0:
                seen[g] = (float(lo[i]), float(hi[i]))
    w_lo = np.where(integer, np.ceil(lo - EPS), lo)
    w_hi = np.where(integer, np.floor(hi + EPS), hi)
    return {int(g): Range(float(w_lo[i]), float(w_hi[i]), bool(exact_lo[i] and exact_hi[i]))
            for i, g in enumerate(m) if need[i] > 0}


def _own_ranges(comp: _Component, idx: np.ndarray, lo, hi, exact_lo, exact_hi, need,
                integer) -> None:
    """Each variable of ``idx`` (local) still short of its need: its own minimum and maximum LP,
    updating ``lo``/``hi`` with every solution (a witness for all) and ``exact_*`` in place.

    In a large component with many such variables the LPs are shared out, a batch at a time,
    between this process and helper processes (``helper_processes``), each solving its share of
    the batch from the component's current basis; the witnesses are pooled after each batch, so
    a solution found by one process spares the others the variables it already proves."""
    large = len(idx) >= PARALLEL_MIN_OPEN and comp.size >= PARALLEL_MIN_SIZE
    pool = helper_processes.pool() if large else None
    while pool is not None and len(idx):
        processes = helper_processes.count() + 1
        batch, idx = idx[:PARALLEL_BATCH * processes], idx[PARALLEL_BATCH * processes:]
        shares = np.array_split(batch, processes)
        spec = comp.spec()
        futures = [pool.submit(_own_ranges_elsewhere, spec, share, lo.copy(), hi.copy(), need,
                               integer) for share in shares[1:] if len(share)]
        _own_ranges_here(comp, shares[0], lo, hi, exact_lo, exact_hi, need, integer)
        for share, f in zip(shares[1:], futures):
            try:
                w_lo, w_hi, w_exact_lo, w_exact_hi, solves = f.result()
            except BrokenProcessPool:   # a helper could not start (or died): its share here
                helper_processes.stop()
                pool = None
                _own_ranges_here(comp, share, lo, hi, exact_lo, exact_hi, need, integer)
                continue
            np.minimum(lo, w_lo, out=lo)
            np.maximum(hi, w_hi, out=hi)
            exact_lo |= w_exact_lo
            exact_hi |= w_exact_hi
            comp.solves += solves
        idx = idx[_short(idx, lo, hi, exact_lo, exact_hi, need, integer)]
    _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer)


def _short(idx, lo, hi, exact_lo, exact_hi, need, integer) -> np.ndarray:
    """Which of the variables ``idx`` are still short of their need (a mask over ``idx``)."""
    low = np.where(integer[idx], np.ceil(lo[idx] - EPS), lo[idx])
    high = np.where(integer[idx], np.floor(hi[idx] + EPS), hi[idx])
    return ((need[idx] > 0) & (high - low < need[idx] - EPS)
            & ~(exact_lo[idx] & exact_hi[idx]))


def _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer) -> None:
    """``_own_ranges`` in this process, one variable after the other.

    Each LP stops at the value that would make the range wide enough: pushing x up, its upper
    bound is lowered for that LP to the observed low end plus the need (never below the highest
    value observed, so the last solution stays feasible and the warm start holds). Its solution is
    still a point of the unrestricted system (a witness); it ends either at that bound (the range
    is wide enough, which is all the protection asks) or below it (then it is the true extreme:
    exact). The simplex so stops where the answer is known instead of walking on to the extreme.
    """
    for i in idx.tolist():
        for sign, done in ((-1.0, exact_hi), (1.0, exact_lo)):
            if done[i] or not _short(np.asarray([i]), lo, hi, exact_lo, exact_hi, need,
                                     integer)[0]:
                continue
            c = np.zeros(comp.size)
            c[i] = sign
            if sign < 0:   # pushed up: far enough at the low end plus the need
                low = math.ceil(lo[i] - EPS) if integer[i] else lo[i]
                stop = max(low + need[i], hi[i])
            else:
                high = math.floor(hi[i] + EPS) if integer[i] else hi[i]
                stop = min(high - need[i], lo[i])
            status, x = comp.solve(c, stop=(i, stop) if math.isfinite(stop) else None)
            if status == "infeasible":
                raise Infeasible("the published numbers contradict the relations")
            if status == "unbounded":
                if sign < 0:
                    hi[i] = np.inf
                else:
                    lo[i] = -np.inf
                done[i] = True
                continue
            np.minimum(lo, x, out=lo)
            np.maximum(hi, x, out=hi)
            if not math.isfinite(stop) or abs(x[i] - stop) > EPS:
                done[i] = True   # the extreme itself, short of the stop


def _own_ranges_elsewhere(spec, idx, lo, hi, need, integer):
    """``_own_ranges_here`` in a helper process, on a replica of the component."""
    comp = _Component.replica(spec)
    exact_lo, exact_hi = np.zeros(len(lo), bool), np.zeros(len(lo), bool)
    _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer)
    return lo, hi, exact_lo, exact_hi, comp.solves


#: a component's own-range LPs are shared out when at least this many variables are open and
#: the component has at least this many variables (below, handing out costs more than it saves)
PARALLEL_MIN_OPEN = 16
PARALLEL_MIN_SIZE = 2000
#: the variables each process takes between two poolings of witnesses
PARALLEL_BATCH = 12
#: a component's first LP is solved by the interior point method from this many variables
IPM_MIN_SIZE = 2000
