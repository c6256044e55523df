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

The pairs: each building with the two buildings that hold the most hidden cells in the relations
of its open ones (the district totals of the groups it hides). A second pass pairs again by the
variables the first left open, and pushes only those (the auditor's, ``AUDIT_PASSES``): the
first pass's LPs push every open variable of a pair at once, and a variable whose cycle pulls
against its neighbours' can stay put; with fewer pushed, it moves.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .component_lp import ComponentLP

#: components smaller than this are solved whole (their LPs are cheap already)
MIN_SIZE = 2000
#: the buildings each building is paired with
PARTNERS = 2
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
              passes: int = 1) -> int:
    """Run the pairs' LPs of ``comp`` around the feasible point ``x0``, in up to ``passes``
    passes: each pairs the buildings anew by the variables still open, and pushes only those
    (until a pass leaves none open or certifies none).

    ``block``: per local variable, its building as an integer (-1: the district's, in every pair
    that shares a relation with it); ``short()``: the mask of variables still short of their
    need; ``witness(idx, values)``: records that the variables ``idx`` take ``values`` in a
    feasible point. Returns the number of LPs solved."""
    own = block >= 0
    labels, blk = np.unique(np.where(own, block, -1), return_inverse=True)
    district = labels < 0
    if own.sum() == 0 or len(labels) - district.sum() < 2:
        return 0
    member = sparse.csr_array((np.ones(comp.size), (np.arange(comp.size), blk)),
                              shape=(comp.size, len(labels)))
    touches = (comp.a != 0).astype(float)
    rows_of = sparse.csr_array(comp.a)
    at_x0 = comp.a @ x0
    rng = np.random.default_rng(comp.size)
    solves = 0
    for _ in range(passes):
        before = int(short().sum())
        if not before:
            break
        for b1, b2 in _pairs(short(), touches, member, district):
            core = np.flatnonzero((blk == b1) | (blk == b2))
            if not short()[core].any():
                continue
            near = np.unique(rows_of[np.unique(comp.a[:, core].indices)].indices)
            idx = np.union1d(core, near[district[blk[near]]])
            sub = _held(comp, idx, x0, at_x0)
            for sign in (-1.0, 1.0, *([None] * RANDOM_DIRECTIONS)):
                open_here = short()[idx]
                if not open_here.any():
                    break
                push = sign if sign is not None else rng.choice((-1.0, 1.0), len(idx))
                status, x = sub.solve(np.where(open_here, push, 0.0))
                solves += 1
                if status == "ok":
                    witness(idx, x)
        if short().sum() == before:
            break
    return solves


def _pairs(open_: np.ndarray, touches, member, district) -> list[tuple[int, int]]:
    """Each building that holds open variables with the ``PARTNERS`` buildings holding the most
    hidden cells in the relations of those variables (as sorted pairs of block numbers)."""
    per_relation_open = touches @ sparse.diags_array(open_.astype(float)) @ member
    score = (per_relation_open.T @ (touches @ member)).toarray()
    score[:, district] = 0
    np.fill_diagonal(score, 0)
    pairs = set()
    with_open = np.flatnonzero(np.asarray(per_relation_open.sum(axis=0)).ravel() > 0)
    for b in with_open[~district[with_open]].tolist():
        for p in np.argsort(-score[b], kind="stable")[:PARTNERS].tolist():
            if score[b, p] > 0:
                pairs.add((min(b, p), max(b, p)))
    return sorted(pairs)


def _held(comp: ComponentLP, idx: np.ndarray, x0: np.ndarray, at_x0: np.ndarray) -> ComponentLP:
    """The LP of ``comp`` over the variables ``idx`` (sorted), every other one held at ``x0``:
    each relation that touches them, less what the held variables contribute."""
    cols = comp.a[:, idx]
    rows = np.unique(cols.indices)
    cols = sparse.csc_array(cols[rows])
    held = at_x0[rows] - cols @ x0[idx]
    return ComponentLP.replica({
        "size": len(idx), "known": True,
        "uncapped": np.flatnonzero(np.isin(idx, comp.uncapped)).astype(np.int32),
        "col_lower": comp.col_lower[idx], "col_upper": comp.col_upper[idx],
        "row_lower": comp.row_lower[rows] - held, "row_upper": comp.row_upper[rows] - held,
        "start": cols.indptr, "index": cols.indices, "value": cols.data})
