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
- in a large component, small LPs over two buildings at a time, the rest held at a feasible
  point, certify most variables (``blocks``): around the truth before any LP over the whole
  component (the run's protection), or around the last batch LP's solution (the auditor, in
  several passes where the component is very large), shared with the helper processes;
- each LP of a component starts from the last one's basis (``component_lp``: one HiGHS model per
  component, only the objective changes). The first starts from a vertex next to a feasible point
  where one is known (the true counts in the run's protection, the point a pair of buildings'
  LPs move around: ``start_at``), else by the interior point method;
- a variable the equalities pin by subtraction alone (peeling) is known without any LP; in the
  run's protection, so is one they pin only together (``rowspace``, one sparse factorization);
- a variable still short after that gets its own two LPs, each stopped as soon as the range is
  wide enough (a bound at that value for that LP); one that ends short of it has its exact range.
  In the run's protection, which only needs to know that a cell is too narrow, a relaxation over
  the relations near it (``outer``) proves most narrow ones first, at a fraction of the cost;
  their range is then that outer one (the exact range lies inside it).

Whole counts: the attacker rounds the LP bounds inwards (``ceil(min)``, ``floor(max)``).
"""

from __future__ import annotations

import itertools
import math
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from . import blocks, helper_processes, rowspace
from .component_lp import EPS, ComponentLP, rounded, too_narrow

#: at most this many LPs in random directions before each open variable gets its own two
RANDOM_DIRECTIONS = 12
#: the run's protection looks for the variables the equalities pin together (``rowspace``) in a
#: component of at least this many variables with at least this many of them open (a smaller
#: one's own LPs cost less than the factorization)
ROWSPACE_MIN_SIZE = 1000
#: the run's protection starts a component of at least this many variables from a vertex next to
#: the true counts (``ComponentLP.start_at``) rather than from nothing
START_AT_TRUTH_MIN_SIZE = 200
ROWSPACE_MIN_OPEN = 16


@dataclass
class System:
    """Unknowns and the linear relations among them."""
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    need: list[float] = field(default_factory=list)      # required width (0: auxiliary)
    truth: list[float] = field(default_factory=list)     # NaN where unknown to the auditor too
    block: list[int] = field(default_factory=list)       # building (-1: the district's, none)
    eq: list[tuple[dict[int, float], float]] = field(default_factory=list)
    le: list[tuple[dict[int, float], float]] = field(default_factory=list)

    def add_var(self, lb=0.0, ub=math.inf, integer=True, need=0.0, truth=math.nan,
                block=-1) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        self.need.append(need)
        self.truth.append(truth)
        self.block.append(block)
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
    work = []
    for members in components(system):
        if not any(system.need[g] > 0 for g in members):
            continue
        figures["components"] += 1
        work.append((members, [r for g in members for r in by_var_eq.get(int(g), [])],
                     [r for g in members for r in by_var_le.get(int(g), [])]))
    # large components but the largest go to the helper processes whole, while this process
    # solves the largest (whose own-range LPs the helpers share once they are free: ``_own_ranges``)
    large = sorted((k for k, (m, _, _) in enumerate(work) if len(m) >= PARALLEL_MIN_SIZE),
                   key=lambda k: (-len(work[k][0]), k))
    pool = helper_processes.pool() if len(large) >= 2 else None
    away = {k: pool.submit(_component_elsewhere, *_part(system, work[k], seen))
            for k in large[1:]} if pool is not None else {}
    parts: dict[int, dict[int, Range]] = {}

    def here(k):
        comp = ComponentLP(system, work[k][0], work[k][1:])
        parts[k] = _component_ranges(system, comp, seen)
        figures["solves"] += comp.solves

    for k in range(len(work)):
        if k not in away:
            here(k)
    for k, future in away.items():
        try:
            local, local_seen, solves = future.result()
        except BrokenProcessPool:   # a helper could not start (or died): that component here
            helper_processes.stop()
            here(k)
            continue
        members = work[k][0]
        parts[k] = {int(members[i]): r for i, r in local.items()}
        if seen is not None:
            seen.update({int(members[i]): span for i, span in local_seen.items()})
        figures["solves"] += solves
    for k in range(len(work)):   # in the order of the components, whoever solved them
        out.update(parts[k])
    return out, figures


def _part(system: System, work, seen) -> tuple[System, dict | None]:
    """One component (members, equalities, <= relations) of ``system`` as a system of its own,
    its variables numbered in the order of ``members`` (the same LPs as in ``system``), with
    what ``seen`` holds of them."""
    members, eqs, les = work
    local = {int(g): i for i, g in enumerate(members.tolist())}
    part = System(lb=[system.lb[g] for g in members], ub=[system.ub[g] for g in members],
                  integer=[system.integer[g] for g in members],
                  need=[system.need[g] for g in members],
                  truth=[system.truth[g] for g in members],
                  block=[system.block[g] for g in members],
                  eq=[({local[k]: v for k, v in coefs.items()}, b) for coefs, b in eqs],
                  le=[({local[k]: v for k, v in coefs.items()}, b) for coefs, b in les])
    mine = None if seen is None else {local[g]: seen[g] for g in local if g in seen}
    return part, mine


def _component_elsewhere(part: System, seen: dict | None):
    """``_component_ranges`` of a whole component (``_part``) in a helper process:
    (ranges, witnesses, solves) over its local variable numbers."""
    helper_processes.none_here()   # a helper does not start helpers of its own
    comp = ComponentLP(part, np.arange(len(part)), (part.eq, part.le))
    out = _component_ranges(part, comp, seen)
    return out, seen, comp.solves


class Infeasible(RuntimeError):
    """The published numbers and the relations admit no solution."""


def _component_ranges(system: System, comp: ComponentLP,
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
        if comp.size >= START_AT_TRUTH_MIN_SIZE:
            comp.start_at(comp.truth)
    for i, value in comp.pinned.items():
        lo[i] = hi[i] = value
        exact_lo[i] = exact_hi[i] = True

    def short():
        return too_narrow(lo, hi, need, integer) & ~(exact_lo & exact_hi)

    def around(x0):
        """Witnesses from the pairs of buildings' LPs around the feasible point ``x0``."""
        def witness_of(idx, x):
            lo[idx] = np.minimum(lo[idx], x)
            hi[idx] = np.maximum(hi[idx], x)

        several = not comp.known and comp.size >= blocks.AUDIT_PASSES_MIN_SIZE
        passes = blocks.AUDIT_PASSES if several else 1
        pool = helper_processes.pool() if comp.size >= PARALLEL_MIN_SIZE else None
        share = (pool, lo, hi, need, integer, exact_lo & exact_hi) if pool else None
        comp.solves += blocks.witnesses(comp, comp.block, x0, short, witness_of, passes, share)

    if comp.known and comp.size >= ROWSPACE_MIN_SIZE and short().sum() >= ROWSPACE_MIN_OPEN:
        # the variables the equalities pin together, at their true value: no pair of buildings
        # moves them, and each would cost its own two LPs
        pinned = short() & rowspace.pinned_mask(comp.a, comp.row_lower == comp.row_upper)
        lo[pinned] = hi[pinned] = comp.truth[pinned]
        exact_lo[pinned] = exact_hi[pinned] = True
    pairs = comp.size >= blocks.MIN_SIZE
    if pairs and comp.known:
        around(comp.truth)
    # batch directions: push every open variable up, then down, together
    point = None
    for sign in (-1.0, 1.0):
        open_ = short()
        if not open_.any():
            break
        c = np.where(open_, sign, 0.0)
        status, x = comp.solve(c, decisive=False)
        if status == "infeasible":
            raise Infeasible("the published numbers contradict the relations")
        if status == "ok":
            witness(x)
            point = x
    # the auditor, without the true counts, moves the pairs around the last of those points
    # (the 50k edition's audit: 139 -> 23 s). The run's protection, which moved them around the
    # truth above, gains nothing from a second pass here: what it still needs the component's
    # LPs for is to prove ranges narrow.
    if pairs and not comp.known and point is not None:
        around(point)
    # random directions over the variables still open: each solution is another extreme point,
    # widening many ranges at once; stop when a direction certifies almost nothing new
    rng = np.random.default_rng(len(m))
    for _ in range(RANDOM_DIRECTIONS):
        open_ = short()
        if open_.sum() < 8:
            break
        c = np.where(open_, rng.choice((-1.0, 1.0), len(m)), 0.0)
        status, x = comp.solve(c, decisive=False)
        if status == "infeasible":
            raise Infeasible("the published numbers contradict the relations")
        if status != "ok":
            break
        witness(x)
        if short().sum() > 0.95 * open_.sum():
            break
    # each variable still short: its own maximum and minimum (or, in the run's protection, a
    # relaxation that proves it narrow: ``outer``)
    narrow = np.full((len(m), 2), np.nan)
    _own_ranges(comp, np.flatnonzero(short()), lo, hi, exact_lo, exact_hi, need, integer, narrow)
    if seen is not None:   # (witnessed values only: an outer range is no feasible point)
        for i, g in enumerate(m.tolist()):
            if need[i] > 0:
                seen[g] = (float(lo[i]), float(hi[i]))
    w_lo, w_hi = rounded(lo, hi, integer)
    outer_proven = ~np.isnan(narrow[:, 0])
    w_lo[outer_proven], w_hi[outer_proven] = narrow[outer_proven, 0], narrow[outer_proven, 1]
    return {int(g): Range(float(w_lo[i]), float(w_hi[i]), bool(exact_lo[i] and exact_hi[i]))
            for i, g in enumerate(m) if need[i] > 0}


def _own_ranges(comp: ComponentLP, idx: np.ndarray, lo, hi, exact_lo, exact_hi, need,
                integer, narrow) -> None:
    """Each variable of ``idx`` (local) still short of its need: its own minimum and maximum LP,
    updating ``lo``/``hi`` with every solution (a witness for all) and ``exact_*`` in place; in
    the run's protection (the truth known), first the relaxations of ``outer``, whose outer range,
    where it proves the variable narrow, goes to ``narrow`` (rows low, high; NaN elsewhere)
    instead.

    In a large component with many such variables the LPs are shared out, a batch at a time,
    between this process and helper processes (``helper_processes``), each solving its share of
    the batch from the component's current basis; the witnesses are pooled after each batch, so
    a solution found by one process spares the others the variables it already proves.

    A helper keeps its replica of the component between batches (``_REPLICA``), warm from its
    own last LP: only the first batch ships the model (at 200,000 students, shipping and loading
    it for every batch of 12 LPs left the main process waiting)."""
    large = len(idx) >= PARALLEL_MIN_OPEN and comp.size >= PARALLEL_MIN_SIZE
    pool = helper_processes.pool() if large else None
    key = (os.getpid(), next(_KEYS))
    spec = None
    while pool is not None and len(idx):
        processes = helper_processes.count() + 1
        batch, idx = idx[:PARALLEL_BATCH * processes], idx[PARALLEL_BATCH * processes:]
        shares = [share for share in np.array_split(batch, processes) if len(share)]
        first = spec is None
        if first:
            spec = comp.spec()

        def submit(share, model):
            return pool.submit(_own_ranges_elsewhere, key, model, share, lo.copy(), hi.copy(),
                               need, integer)

        futures = [submit(share, spec if first else None) for share in shares[1:]]
        _own_ranges_here(comp, shares[0], lo, hi, exact_lo, exact_hi, need, integer, narrow)
        for share, f in zip(shares[1:], futures):
            try:
                got = f.result()
                if got is None:   # a helper without the replica: it gets the model now
                    got = submit(share, spec).result()
                w_lo, w_hi, w_exact_lo, w_exact_hi, w_narrow, solves = got
            except BrokenProcessPool:   # a helper could not start (or died): its share here
                helper_processes.stop()
                pool = None
                _own_ranges_here(comp, share, lo, hi, exact_lo, exact_hi, need, integer, narrow)
                continue
            np.minimum(lo, w_lo, out=lo)
            np.maximum(hi, w_hi, out=hi)
            exact_lo |= w_exact_lo
            exact_hi |= w_exact_hi
            proven = ~np.isnan(w_narrow[:, 0])
            narrow[proven] = w_narrow[proven]
            comp.solves += solves
        idx = idx[_short(idx, lo, hi, exact_lo, exact_hi, need, integer)
                  & np.isnan(narrow[idx, 0])]
    _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer, narrow)


def _short(idx, lo, hi, exact_lo, exact_hi, need, integer) -> np.ndarray:
    """Which of the variables ``idx`` are still short of their need (a mask over ``idx``)."""
    return too_narrow(lo[idx], hi[idx], need[idx], integer[idx]) & ~(exact_lo[idx] & exact_hi[idx])


def _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer, narrow) -> None:
    """``_own_ranges`` in this process, one variable after the other.

    Each LP stops at the value that would make the range wide enough: pushing x up, its upper
    bound is lowered for that LP to the observed low end plus the need (never below the highest
    value observed, so the last solution stays feasible and the warm start holds). Its solution is
    still a point of the unrestricted system (a witness); it ends either at that bound (the range
    is wide enough, which is all the protection asks) or below it (then it is the true extreme:
    exact). The simplex so stops where the answer is known instead of walking on to the extreme.
    """
    prover = comp.prover() if comp.known else None
    for i in idx.tolist():
        if prover and _short(np.asarray([i]), lo, hi, exact_lo, exact_hi, need, integer)[0]:
            proven = prover.narrow(comp, i, need[i], integer[i])
            if proven is not None:
                narrow[i] = proven
                continue
        started, before = time.perf_counter(), comp.solves
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
        if prover and comp.solves > before:
            prover.solved_whole(time.perf_counter() - started)


#: the component this helper process last solved own LPs for: {key: replica} (one at a time)
_REPLICA: dict = {}
#: keys of the components whose own LPs are shared out (unique in the process that shares them)
_KEYS = itertools.count()


def _own_ranges_elsewhere(key, spec, idx, lo, hi, need, integer):
    """``_own_ranges_here`` in a helper process, on its replica of the component ``key``
    (built from ``spec`` when given, else the one kept from an earlier batch). None when this
    helper has no replica of ``key`` and no ``spec`` came."""
    comp = _REPLICA.get(key)
    if comp is None:
        if spec is None:
            return None
        _REPLICA.clear()
        comp = _REPLICA[key] = ComponentLP.replica(spec)
    before = comp.solves
    exact_lo, exact_hi = np.zeros(len(lo), bool), np.zeros(len(lo), bool)
    narrow = np.full((len(lo), 2), np.nan)
    _own_ranges_here(comp, idx, lo, hi, exact_lo, exact_hi, need, integer, narrow)
    return lo, hi, exact_lo, exact_hi, narrow, comp.solves - before


#: a component's own-range LPs are shared out when at least this many variables are open and
#: the component has at least this many variables (below, handing out costs more than it saves)
PARALLEL_MIN_OPEN = 16
PARALLEL_MIN_SIZE = 2000
#: the variables each process takes between two poolings of witnesses
PARALLEL_BATCH = 12
