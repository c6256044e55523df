"""Witnesses from small LPs around a known point: pairs of buildings moved, the rest held.

A large component of the attacker's system spans the whole district: the district totals of each
group tie every building's hidden cells together. Its LPs grow with the district, and so does
their number. Yet most hidden cells are protected by a cycle inside two buildings (DESIGN.md
section 6: a rectangle of two groups in two buildings).

Given a feasible point ``x0`` of the component (the true counts in the run's protection; for the
auditor, who has no truth, the solution of one of the component's LPs), the LP over the variables
of two buildings (and the district's variables they share a relation with), every other variable
held at its value in ``x0``, is small. Each of its solutions, completed by ``x0``, is a feasible
point of the whole component: a witness (``lp``), sound for every variable it moves. A variable
whose witnessed range is wide enough needs no LP over the whole component. One that stays short
is not proven narrow: it goes on to the component's own LPs, which decide.

The pairs: each building with two partners among the buildings that share relations with its open
cells (the district totals of the groups it hides): the one holding the most hidden cells in
them, and the one whose cells there hold the most room (weighted by their value). A count at 0
can only rise, and the cycle that lets it rise needs a partner whose cell can fall: in the 100k
edition's largest component, two partners of the first kind left 1,187 to 1,252 variables to the
component's own LPs (most of them counts at 0: a risk ratio's referrals of small groups), four
left 1,266, two by room 801, one of each 770; choosing by room alone left 553 of the third
round's complements open where the first kind leaves none. A second pass pairs again by the
variables the first left open, and pushes only those (the auditor's, ``AUDIT_PASSES``): the
first pass's LPs push every open variable of a pair at once, and a variable whose cycle pulls
against its neighbours' can stay put; with fewer pushed, it moves.

The pairs' LPs are independent of each other, so a helper process free of other work takes
chunks of them (``_Shared``): in the auditor of the 50,000-student district's whole folder, the
main process solved the pairs of its largest component alone, for 344 s, while the helper, done
with the smaller components, waited.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from scipy import sparse

from . import helper_processes
from .component_lp import ComponentLP, sub_model, too_narrow

#: components smaller than this are solved whole (their LPs are cheap already)
MIN_SIZE = 2000
#: LPs in random directions per pair, after pushing its open variables up and down together
RANDOM_DIRECTIONS = 4
#: the auditor's passes over the pairs (at most). The second pass, pairing and pushing only the
#: variables the first left open, certifies most of them: in the 50,000-student district's
#: whole folder, 535 of a survey component's 13,481 were left by the first pass, none by the
#: second (2.9 s, against 5.4 s of the component's own LPs for them). The run's protection
#: makes one: what its pairs leave open is mostly narrow, which only the component's LPs prove
#: (more passes: its 50k edition 28.6 -> 39.7 s, the same cells hidden). So does the auditor in
#: a component under ``AUDIT_PASSES_MIN_SIZE``, whose own LPs are cheaper than more pairs' (the
#: small district's folder: 29 s with one pass, 36 s with four)
AUDIT_PASSES = 4
AUDIT_PASSES_MIN_SIZE = 20_000


def witnesses(comp: ComponentLP, block: np.ndarray, x0: np.ndarray, short, witness,
              passes: int = 1, share=None) -> int:
    """Run the pairs' LPs of ``comp`` around the feasible point ``x0``, in up to ``passes``
    passes: each pairs the buildings anew by the variables still open, and pushes only those
    (until a pass leaves none open or certifies none).

    ``block``: per local variable, its building as an integer (-1: the district's, in every pair
    that shares a relation with it); ``short()``: the mask of variables still short of their
    need; ``witness(idx, values)``: records that the variables ``idx`` take ``values`` in feasible
    points (each its own). ``share``: ``(pool, lo, hi, need, integer, exact)`` to share the pairs
    with the helper processes of ``pool`` (``lo``/``hi``: the observed ranges ``short`` reads;
    ``exact``: the variables whose range is proven), or None. Returns the number of LPs solved."""
    own = block >= 0
    labels, blk = np.unique(np.where(own, block, -1), return_inverse=True)
    district = labels < 0
    if own.sum() == 0 or len(labels) - district.sum() < 2:
        return 0
    member = sparse.csr_array((np.ones(comp.size), (np.arange(comp.size), blk)),
                              shape=(comp.size, len(labels)))
    touches = (comp.a != 0).astype(float)
    around = _Around(comp, x0, blk, district)
    rng = np.random.default_rng(comp.size)
    shared = _Shared(around, *share) if share is not None else None
    solves = 0
    for _ in range(passes):
        before = int(short().sum())
        if not before:
            break
        pairs = _pairs(short(), touches, member, district, x0)
        if shared is not None:
            solves += shared.run(pairs, short, witness, rng)
        else:
            solves += sum(around.pair(b1, b2, short, witness, rng) for b1, b2 in pairs)
        if short().sum() == before:
            break
    return solves


class _Around:
    """What the pairs' LPs of one component around one point need (plain arrays, so a helper
    process can hold it): the component's matrix and bounds, the point, the buildings."""

    def __init__(self, comp: ComponentLP, x0: np.ndarray, blk: np.ndarray, district: np.ndarray):
        self.a, self.rows_of = comp.a, comp.rows_of_matrix()
        self.size, self.uncapped = comp.size, comp.uncapped
        self.col_lower, self.col_upper = comp.col_lower, comp.col_upper
        self.row_lower, self.row_upper = comp.row_lower, comp.row_upper
        self.x0, self.at_x0 = x0, comp.a @ x0
        self.blk, self.district = blk, district

    def pair(self, b1: int, b2: int, short, witness, rng) -> int:
        """The LPs of the pair of buildings (block numbers) ``b1``, ``b2``: their open variables
        pushed up, down, then in random directions, while any is open. Returns the LPs solved."""
        core = np.flatnonzero((self.blk == b1) | (self.blk == b2))
        if not short()[core].any():
            return 0
        near = np.unique(self.rows_of[np.unique(self.a[:, core].indices)].indices)
        idx = np.union1d(core, near[self.district[self.blk[near]]])
        sub = self.held(idx)
        solves = 0
        for sign in (-1.0, 1.0, *([None] * RANDOM_DIRECTIONS)):
            open_here = short()[idx]
            if not open_here.any():
                break
            push = sign if sign is not None else rng.choice((-1.0, 1.0), len(idx))
            status, x = sub.solve(np.where(open_here, push, 0.0), decisive=False)
            solves += 1
            if status == "ok":
                witness(idx, x)
        return solves

    def held(self, idx: np.ndarray) -> ComponentLP:
        """The LP over the variables ``idx`` (sorted), every other one held at the point: each
        relation that touches them, less what the held variables contribute."""
        cols = self.a[:, idx]
        rows = np.unique(cols.indices)
        held = self.at_x0[rows] - cols[rows] @ self.x0[idx]
        sub = sub_model(self, idx, rows, shift=held)
        sub.start_at(self.x0[idx])
        return sub


#: pairs a helper takes at a time
SHARE_CHUNK = 8


class _Shared:
    """The pairs of a pass shared with helper processes: this process takes them from the front
    of the list, the helpers chunks from the back, and the witnesses are pooled as each chunk
    comes back. A chunk no helper has started by the time this process reaches it (the helpers
    busy with other components) is taken back and solved here, so this process never waits for
    a helper that has not begun."""

    def __init__(self, around: _Around, pool, lo, hi, need, integer, exact):
        self.around, self.pool = around, pool
        self.lo, self.hi, self.need, self.integer, self.exact = lo, hi, need, integer, exact
        self.key = (os.getpid(), next(_KEYS))
        self.helpers = max(1, helper_processes.count())

    def run(self, pairs, short, witness, rng) -> int:
        queue = deque(pairs)
        pending: list[tuple[Future, list]] = []
        solves = 0

        def submit(chunk, with_model):
            return self.pool.submit(_pairs_elsewhere, self.key,
                                    self.around if with_model else None, chunk,
                                    self.lo.copy(), self.hi.copy(), self.need, self.integer,
                                    self.exact, int(rng.integers(2**31)))

        def collect(block: bool) -> int:
            got = 0
            for item in list(pending):
                future, chunk = item
                if not block and not future.done():
                    continue
                pending.remove(item)
                try:
                    result = future.result()
                except (CancelledError, BrokenProcessPool) as e:
                    if isinstance(e, BrokenProcessPool):   # no helpers from now on
                        helper_processes.stop()
                        self.helpers = 0
                    queue.extend(chunk)
                    continue
                if result is None:    # a helper without the model: it gets it now
                    pending.append((submit(chunk, True), chunk))
                    continue
                idx, w_lo, w_hi, n = result
                if len(idx):
                    witness(idx, w_lo)
                    witness(idx, w_hi)
                got += n
            return got

        sent_model = False
        while queue or pending:
            solves += collect(block=False)
            while len(pending) < self.helpers and len(queue) > 2 * SHARE_CHUNK:
                chunk = [queue.pop() for _ in range(SHARE_CHUNK)]
                pending.append((submit(chunk, not sent_model), chunk))
                sent_model = True
            if queue:
                solves += self.around.pair(*queue.popleft(), short, witness, rng)
                continue
            for future, chunk in pending:   # take back what no helper has begun
                if future.cancel():
                    queue.extend(chunk)
            pending[:] = [(f, c) for f, c in pending if not f.cancelled()]
            if not queue:
                solves += collect(block=True)
        return solves


#: the pairs' data this helper process last received: {key: _Around} (one at a time)
_REPLICA: dict = {}
_KEYS = itertools.count()


def _pairs_elsewhere(key, around, chunk, lo, hi, need, integer, exact, seed):
    """The pairs of ``chunk`` in a helper process, around its copy of the data ``key`` (``around``
    when given, else the one kept from an earlier chunk; None when it has neither): the
    variables whose observed range they widened, with their new low and high ends, and the LPs
    solved."""
    if around is None:
        around = _REPLICA.get(key)
        if around is None:
            return None
    else:
        _REPLICA.clear()
        _REPLICA[key] = around
    before_lo, before_hi = lo.copy(), hi.copy()

    def short():
        return too_narrow(lo, hi, need, integer) & ~exact

    def witness(idx, x):
        lo[idx] = np.minimum(lo[idx], x)
        hi[idx] = np.maximum(hi[idx], x)

    rng = np.random.default_rng(seed)
    solves = sum(around.pair(b1, b2, short, witness, rng) for b1, b2 in chunk)
    moved = np.flatnonzero((lo < before_lo) | (hi > before_hi))
    return moved, lo[moved], hi[moved], solves


def _pairs(open_: np.ndarray, touches, member, district, x0: np.ndarray
           ) -> list[tuple[int, int]]:
    """Each building that holds open variables with two partners (as sorted pairs of block
    numbers): the building holding the most hidden cells in the relations of those variables,
    and the one holding the most room in them (its cells there weighted by their value at the
    point ``x0``, plus one)."""
    per_relation_open = touches @ sparse.diags_array(open_.astype(float)) @ member
    with_open = np.flatnonzero(np.asarray(per_relation_open.sum(axis=0)).ravel() > 0)
    with_open = with_open[~district[with_open]].tolist()
    pairs = set()
    for weight in (np.ones(len(x0)), np.abs(x0) + 1.0):
        score = (per_relation_open.T @ (touches @ sparse.diags_array(weight) @ member)).toarray()
        score[:, district] = 0
        np.fill_diagonal(score, 0)
        for b in with_open:
            p = int(np.argmax(score[b]))   # (the first of equals)
            if score[b, p] > 0:
                pairs.add((min(b, p), max(b, p)))
    return sorted(pairs)
