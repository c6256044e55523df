"""The counts the equalities pin by linear algebra, for every variable of a component at once.

A variable x_j is pinned by the equalities E x = b when it takes one value in every solution,
whatever the bounds: when its unit vector lies in the row space of E. Peeling
(``component_lp._pinned``) finds those pinned by subtraction, one equality at a time; this finds
all of them, such as a count of a thousand that only the windows and the linked measures together
give away (a sample of what the whole 50k folder's protection left to the own LPs: 1,975 of 8,621
such variables were pinned, each costing two LPs of about half a second to prove it).

The test: x_j is pinned if and only if every vector of the null space of E is 0 at j. The
projection of a random vector z onto that null space, z - E'y with E E'y = E z, is therefore 0 at
every pinned variable and, with probability 1, at no other; two random vectors guard against a
zero by chance (the values elsewhere are of the order of z's, pinned ones below 1e-12).

The projection solves the augmented system [[I, E'], [E, -dI]], with a tiny regularization d so
that it is nonsingular even when equalities repeat each other (a table's margins always do). The
matrix is quasi-definite, so it factorizes in any symmetric order without pivoting: SuperLU's
minimum-degree ordering keeps the fill small (87,305 counts and 52,971 equalities: 2 s and 3
million nonzeros, against 12 s and 47 million in its default order). Iterative refinement against
the exact system (d = 0) then removes what d changed, and the test gives up (pins nothing) unless
the projection satisfies the equalities to 1e-10.

Used by the run's protection only, where a variable wrongly called pinned would only hide more
cells; the auditor proves every range by its LPs.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sla

#: the regularization of the augmented system and the refinement's steps and tolerance
REGULARIZATION = 1e-8
REFINEMENT_STEPS = 6
TOLERANCE = 1e-10
#: below this the projection is 0 (the random vectors' entries are between 1 and 2)
ZERO = 1e-9


def pinned_mask(a: sparse.csc_array, equality: np.ndarray, seed: int = 0) -> np.ndarray:
    """The mask of the columns of ``a`` that its rows marked in ``equality`` pin (every solution
    of those equalities gives them one value). All False when the factorization or the refinement
    fails (nothing is claimed that was not shown)."""
    n = a.shape[1]
    e = sparse.csr_array(a)[np.flatnonzero(equality)]
    e = e[np.flatnonzero(np.diff(e.indptr) > 0)]
    if e.shape[0] == 0:
        return np.zeros(n, bool)
    # each equality scaled to a largest coefficient of 1: the same row space, a better conditioned
    # system
    scale = np.maximum.reduceat(np.abs(e.data), e.indptr[:-1])
    e = sparse.csr_array((e.data / np.repeat(scale, np.diff(e.indptr)), e.indices, e.indptr),
                         shape=e.shape)
    m = e.shape[0]
    k = sparse.bmat([[sparse.eye_array(n), e.T], [e, -REGULARIZATION * sparse.eye_array(m)]],
                    format="csc")
    try:
        lu = sla.splu(k, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                      options={"SymmetricMode": True})
    except RuntimeError:   # (exactly singular: cannot happen for d > 0, but claim nothing)
        return np.zeros(n, bool)
    z = np.random.default_rng(seed).uniform(1.0, 2.0, (n, 2))
    x, y = np.zeros((n, 2)), np.zeros((m, 2))
    for _ in range(REFINEMENT_STEPS):
        r_top = z - x - e.T @ y
        r_bottom = -(e @ x)
        if max(np.abs(r_top).max(), np.abs(r_bottom).max()) < TOLERANCE:
            break
        step = lu.solve(np.vstack([r_top, r_bottom]))
        x += step[:n]
        y += step[n:]
    residual = max(np.abs(z - x - e.T @ y).max(), np.abs(e @ x).max())
    if not residual < TOLERANCE:   # (NaN included)
        return np.zeros(n, bool)
    return (np.abs(x) < ZERO).all(axis=1)
