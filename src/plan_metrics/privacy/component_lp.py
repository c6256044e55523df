"""One independent component of the attacker's system (``lp.System``) as a HiGHS model, kept
between its LPs: only the objective changes from one LP to the next, so each solve warm-starts
from the last basis. Also what the model's structure gives for free: the variables the
equalities pin by subtraction alone.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import TYPE_CHECKING

import highspy
import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from .lp import System

EPS = 1e-6
#: a component's first LP is solved by the interior point method from this many variables
IPM_MIN_SIZE = 2000
#: how many times ``solve`` raises a cap that cuts off every feasible point (tenfold each time)
#: before it lifts it: a count up to 500 times another (an MPI's points and its students) can
#: be that far above every published number where a whole table is hidden. Lifted, every LP
#: pushing all open variables comes back unbounded, a witness of nothing (the demo folder's
#: audit: 9,329 of 12,530 variables then took their own LPs, 100 s instead of about 35)
CAP_RAISES = 3


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


_STARTED: set = set()


def _scheduler_started() -> None:
    """Start HiGHS's task scheduler in this process and thread, as its first ``run`` does.

    Its crossover (``ComponentLP.start_at``) checks the scheduler for interrupts but does not
    start it: called before any LP ran in the process, it dereferences a null pointer and the
    process dies (HiGHS 1.16, ``ipx::Control::InterruptCheck``). One empty LP starts it."""
    key = (os.getpid(), threading.get_ident())
    if key not in _STARTED:
        h = _quiet_highs()
        h.addVar(0.0, 1.0)
        h.run()
        _STARTED.add(key)


class ComponentLP:
    """One component as one HiGHS model over local indices, kept between its LPs: only the
    objective changes from one LP to the next, so each solve warm-starts from the last basis."""

    def __init__(self, system: System, members: np.ndarray, relations):
        self.members = members
        self.truth = np.asarray([system.truth[g] for g in members], dtype=float)
        self.ipm = True
        #: the true counts are a witness (the run's protection), and the point the pairs of
        #: buildings' LPs move around (``blocks``)
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
        row_lower, row_upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        self.a, self.row_lower, self.row_upper = a, row_lower, row_upper
        self.block = np.asarray([system.block[g] for g in members], dtype=np.int64)
        self.pinned = _pinned(a, row_lower, row_upper,
                              np.asarray([system.lb[g] for g in members], dtype=float),
                              np.asarray([system.ub[g] for g in members], dtype=float))
        # A variable with no upper bound gets a large one: an LP pushing it up then ends at a
        # vertex (a witness that widens every variable it moves) instead of "unbounded" (which
        # tells nothing about the others, and which the primal simplex proves slowly: 7 s
        # instead of 1.5 s on the demo folder's largest component). A feasible point under the
        # cap is feasible without it, so witnesses stay sound; a range reaching the cap is as
        # good as unbounded. (If even the cap cuts off every feasible point, ``solve`` raises it
        # tenfold, a few times, then lifts it.)
        col_upper = np.asarray([system.ub[g] for g in members], dtype=float)
        self.uncapped = np.flatnonzero(np.isinf(col_upper)).astype(np.int32)
        self.raises = CAP_RAISES
        col_upper[self.uncapped] = 10.0 * max(
            [1000.0, *(abs(b) for rels in relations for _, b in rels),
             *(x for g in members for x in (system.lb[g], system.ub[g]) if not math.isinf(x)),
             *self.truth[~np.isnan(self.truth)]])   # (the truth, when known, is a point under it)
        self._load({"col_lower": np.asarray([system.lb[g] for g in members], dtype=float),
                    "col_upper": col_upper,
                    "row_lower": row_lower, "row_upper": row_upper,
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
        self._cost = np.zeros(self.size)   # the objective as HiGHS holds it

    def start_at(self, x: np.ndarray) -> bool:
        """Give the model a basis from the feasible point ``x``, by HiGHS's crossover (with the
        zero objective a new model holds, ``x`` is optimal and zero duals prove it): the first LP
        then starts from a vertex next to ``x`` instead of from nothing. Where a feasible point is
        known (the true counts; a pair of buildings' LPs around a point), this costs a fraction of
        the interior point start: 0.09 s against 0.64 s for the demo folder's largest component.
        Returns whether a basis was found (if not, the model is left as it was)."""
        if self.highs.getBasis().valid or self._cost.any():
            return False
        _scheduler_started()
        x = np.asarray(x, dtype=float)
        solution = highspy.HighsSolution()
        solution.col_value = x.tolist()
        solution.row_value = (self.a @ x).tolist()
        solution.col_dual = [0.0] * self.size
        solution.row_dual = [0.0] * self.a.shape[0]
        solution.value_valid = solution.dual_valid = True
        if self.highs.crossover(solution) != highspy.HighsStatus.kOk or \
                not self.highs.getBasis().valid:
            self.highs.clearSolver()
            return False
        return True

    def spec(self) -> dict:
        """The model as it stands (bounds with a lifted cap) and its last basis, as plain arrays:
        what ``replica`` needs to build the same model, warm, in another process."""
        lp, basis = self.highs.getLp(), self.highs.getBasis()

        def status(xs):
            return np.asarray([int(x.value) for x in xs], dtype=np.int8)

        return {"size": self.size, "known": self.known, "uncapped": self.uncapped,
                "raises": self.raises,
                "col_lower": np.asarray(lp.col_lower_), "col_upper": np.asarray(lp.col_upper_),
                "row_lower": np.asarray(lp.row_lower_), "row_upper": np.asarray(lp.row_upper_),
                "start": np.asarray(lp.a_matrix_.start_),
                "index": np.asarray(lp.a_matrix_.index_),
                "value": np.asarray(lp.a_matrix_.value_),
                "col_status": status(basis.col_status) if basis.valid else None,
                "row_status": status(basis.row_status) if basis.valid else None}

    @classmethod
    def replica(cls, spec: dict, ipm: bool = True) -> "ComponentLP":
        """A component rebuilt from ``spec``, for solving (no members, no relations by name).
        ``ipm``: False to solve even a large first LP by the simplex (a model solved once or
        twice, whose interior point start costs more than it saves)."""
        comp = cls.__new__(cls)
        comp.size, comp.known, comp.uncapped = spec["size"], spec["known"], spec["uncapped"]
        comp.raises = spec.get("raises", CAP_RAISES)
        comp.solves = 0
        comp.ipm = ipm
        comp.row_lower = np.asarray(spec["row_lower"], dtype=float)
        comp.row_upper = np.asarray(spec["row_upper"], dtype=float)
        comp.a = sparse.csc_array((spec["value"], spec["index"], spec["start"]),
                                  shape=(len(comp.row_lower), comp.size))
        comp._load(spec)
        return comp

    def prover(self):
        """This component's relaxations (``outer.Prover``), kept between its LPs."""
        if getattr(self, "_prover", None) is None:
            from .outer import Prover   # (outer builds its relaxations as ComponentLPs)
            self._prover = Prover()
        return self._prover

    def rows_of_matrix(self) -> sparse.csr_array:
        """The matrix by rows (kept: the relaxations of ``outer`` read it for every variable)."""
        if getattr(self, "_rows", None) is None:
            self._rows = sparse.csr_array(self.a)
        return self._rows

    def solve(self, c: np.ndarray, stop: tuple[int, float] | None = None,
              decisive: bool = True):
        """(status, x) of min c.x; status 'ok', 'unbounded' or 'infeasible'.

        An LP HiGHS leaves undecided is solved once more from scratch; if it stays undecided,
        ``decisive`` LPs (whose answer a range rests on) raise, the others (witness hunts, which
        can do without) return 'unknown'.

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
                status, x = self.solve(c, decisive=decisive)
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
        c = np.asarray(c, dtype=float)
        # only the costs that change (an own LP's one or two: a full update of a component of
        # 87,305 counts took 4.6 ms, as long as a quick LP)
        changed = np.flatnonzero(c != self._cost).astype(np.int32)
        if len(changed):
            h.changeColsCost(len(changed), changed, c[changed])
            self._cost = c.copy()
        # The first LP of a large component has no basis to start from: the interior point
        # method (with crossover, which leaves the basis the next LPs start from) finds it in a
        # fraction of the simplex's time (50k-student district: 4 s instead of 45 s for a
        # component of 29,523 counts). From a basis, the primal simplex is the faster.
        cold = self.ipm and self.size >= IPM_MIN_SIZE and not h.getBasis().valid
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
            if len(self.uncapped):   # the cap was too low: raise it (or lift it), retry
                lift = self.raises <= 0
                self.raises -= 1
                self.col_upper[self.uncapped] = (highspy.kHighsInf if lift else
                                                 10.0 * self.col_upper[self.uncapped])
                h.changeColsBounds(len(self.uncapped), self.uncapped,
                                   self.col_lower[self.uncapped], self.col_upper[self.uncapped])
                if lift:
                    self.uncapped = self.uncapped[:0]
                self.solves -= 1
                return self.solve(c, decisive=decisive)
            return "infeasible", None
        if not getattr(self, "_again", False):
            # (seen once, in a pair of buildings' LP of the 50k whole folder's audit: "Unknown")
            h.clearSolver()
            self._again, self.solves = True, self.solves - 1
            try:
                return self.solve(c, decisive=decisive)
            finally:
                self._again = False
        if not decisive:
            return "unknown", None
        raise RuntimeError("the privacy audit's linear program failed: "
                           f"{h.modelStatusToString(status)}")


def sub_model(source, cols: np.ndarray, rows: np.ndarray, shift: np.ndarray | float = 0.0,
              ipm: bool = True) -> ComponentLP:
    """The LP of ``source`` (a ``ComponentLP``, or anything with its ``a``, column and row bounds
    and ``uncapped``) over the variables ``cols`` and the relations ``rows`` (both sorted) only,
    the row bounds less ``shift`` (what variables held outside ``cols`` contribute)."""
    sub = sparse.csc_array(source.a[:, cols][rows])
    return ComponentLP.replica({
        "size": len(cols), "known": True,
        "uncapped": np.flatnonzero(np.isin(cols, source.uncapped)).astype(np.int32),
        "col_lower": source.col_lower[cols], "col_upper": source.col_upper[cols],
        "row_lower": source.row_lower[rows] - shift, "row_upper": source.row_upper[rows] - shift,
        "start": sub.indptr, "index": sub.indices, "value": sub.data}, ipm=ipm)


def rounded(lo: np.ndarray, hi: np.ndarray, integer: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The range ``lo``..``hi`` as the attacker reads it: whole counts rounded inwards."""
    return (np.where(integer, np.ceil(lo - EPS), lo), np.where(integer, np.floor(hi + EPS), hi))


def too_narrow(lo: np.ndarray, hi: np.ndarray, need: np.ndarray,
               integer: np.ndarray) -> np.ndarray:
    """The mask of variables with a need whose observed range ``lo``..``hi`` (whole counts
    rounded inwards) is narrower than it."""
    low, high = rounded(lo, hi, integer)
    return (need > 0) & (high - low < need - EPS)


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
