"""The cheapest rectangle of a table for a hidden cell (step 3 of ``protect``; the hypercube
method of tau-ARGUS on two dimensions at a time).

A table's rows of one group_by form a grid: buildings (with the district) by groups (with the
all row). Four cells (b, g), (b, g2), (b2, g), (b2, g2) hidden together form a cycle along which
the counts can shift without changing any published total: +1 on (b, g), -1 or +1 on the others
as the additive directions say (an inner cell and its total move together). ``rectangle`` scores
every candidate (b2, g2) of the grid at once with numpy: how far the cycle can shift for the
numerators and the n's (its width), and the price of the cells not yet hidden (their n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import ALL, DISTRICT

#: a direction with no cell to take from is not bounded by the cycle
UNBOUNDED = 1e9


class Grids:
    """Per table: the true n and numerator as arrays, and per (table, group_by) the grid of row
    indices (-1 where a building has no row for a group). Computed once, on first use."""

    def __init__(self, tables):
        self.tables = tables
        self._arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._grids: dict[tuple[int, str], tuple] = {}
        self._first_gb: dict[int, dict[str, str]] = {}
        self._keys: dict[int, tuple[list[str], list[str], list[str]]] = {}
        self._key_arrays: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def arrays(self, ti: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, numerator) of table ``ti`` as floats (NaN where missing)."""
        if ti not in self._arrays:
            r = self.tables[ti].rows
            self._arrays[ti] = tuple(
                pd.to_numeric(r[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                for c in ("n", "numerator"))
        return self._arrays[ti]

    def keys(self, ti: int) -> tuple[list[str], list[str], list[str]]:
        """(building_id, group_by, group) of each row of table ``ti``, as strings."""
        if ti not in self._keys:
            r = self.tables[ti].rows
            self._keys[ti] = tuple(r[c].astype(str).tolist()
                                   for c in ("building_id", "group_by", "group"))
        return self._keys[ti]

    def key_arrays(self, ti: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``keys`` as numpy arrays (for masks over the table's rows)."""
        if ti not in self._key_arrays:
            self._key_arrays[ti] = tuple(np.asarray(k, dtype=object) for k in self.keys(ti))
        return self._key_arrays[ti]

    def first_group_by(self, ti: int, building: str) -> str | None:
        """The first group_by (in row order) other than the all row that ``building`` has."""
        if ti not in self._first_gb:
            r = self.tables[ti].rows
            firsts: dict[str, str] = {}
            for b, gb in zip(r["building_id"].astype(str), r["group_by"].astype(str)):
                if gb != ALL:
                    firsts.setdefault(b, gb)
            self._first_gb[ti] = firsts
        return self._first_gb[ti].get(building)

    def grid(self, ti: int, group_by: str):
        """(buildings, groups, index) for ``group_by`` of table ``ti``: sorted buildings, sorted
        groups with the all row last, and index[b, g] the row (-1: none)."""
        key = (ti, group_by)
        if key not in self._grids:
            r = self.tables[ti].rows
            cells = {}
            for i, (b, gb, g) in enumerate(zip(r["building_id"].astype(str),
                                               r["group_by"].astype(str),
                                               r["group"].astype(str))):
                if gb == group_by or gb == ALL:
                    cells[(b, g)] = i  # the last row of a key wins
            blds = sorted({b for b, _ in cells})
            grps = sorted({g for _, g in cells if g != ALL}) + [ALL]
            bi = {b: k for k, b in enumerate(blds)}
            gi = {g: k for k, g in enumerate(grps)}
            index = np.full((len(blds), len(grps)), -1, dtype=np.int64)
            for (b, g), i in cells.items():
                index[bi[b], gi[g]] = i
            self._grids[key] = (np.asarray(blds, dtype=object), np.asarray(grps, dtype=object),
                                index, bi, gi)
        return self._grids[key]


def _widths(values: np.ndarray, cells: list[np.ndarray], signs: list[np.ndarray],
            lb: float) -> np.ndarray:
    """How far each cycle can shift (down plus up) before one of its cells falls below ``lb``."""
    down = up = np.inf
    missing = False
    for c, sign in zip(cells, signs):   # four cells, each broadcast against the others' shapes
        room = values[c] - lb
        missing = missing | np.isnan(room)
        down = np.minimum(down, np.where(sign > 0, room, np.inf))
        up = np.minimum(up, np.where(sign < 0, room, np.inf))
    down = np.where(np.isinf(down), UNBOUNDED, down)
    up = np.where(np.isinf(up), UNBOUNDED, up)
    w = np.maximum(down, 0) + np.maximum(up, 0)
    return np.where(missing, 0.0, w)


def rectangle(grids: Grids, row_groups: np.ndarray, hidden: np.ndarray, ti: int, ri: int,
              protection: float, need_n: float):
    """The cheapest rectangle for row ``ri`` of table ``ti``: (rows, wide enough, price of the
    rows not yet hidden), or None when the row's grid has no rectangle.

    ``row_groups``: the group of each row of the table (a group is hidden as a whole); ``need_n``
    is the width the n needs (0 for a banded row, whose n is published). Among the wide enough
    rectangles the cheapest; when none is wide enough, the widest (then the cheapest). Ties go
    to the first in (building, group) order, so the choice does not depend on row order.
    """
    buildings, group_bys, groups_ = grids.keys(ti)
    b, gb, g = buildings[ri], group_bys[ri], groups_[ri]
    g0 = g
    if gb == ALL:  # an all row: its cycle runs through a group_by's cells
        gb = grids.first_group_by(ti, b)
        if gb is None:
            return None
        g0 = ALL
    blds, grps, index, bi, gi = grids.grid(ti, gb)
    if b not in bi or g0 not in gi:
        return None
    i, j = bi[b], gi[g0]
    b2 = np.flatnonzero(np.arange(len(blds)) != i)
    g2 = np.flatnonzero(np.arange(len(grps)) != j)
    if not len(b2) or not len(g2):
        return None
    c1 = index[i, j]
    c2 = index[i, g2][None, :]
    c3 = index[b2, j][:, None]
    c4 = index[np.ix_(b2, g2)]
    valid = (c2 >= 0) & (c3 >= 0) & (c4 >= 0) & (c1 >= 0)
    if not valid.any():
        return None
    inner_g = (grps[g2] != ALL) == (g0 != ALL)
    inner_b = (blds[b2] != DISTRICT) == (b != DISTRICT)
    s2 = np.where(inner_g, -1, 1)[None, :]
    s3 = np.where(inner_b, -1, 1)[:, None]
    cells = [np.asarray(c1), c2, c3, c4]
    safe = [np.where(c >= 0, c, 0) for c in cells]
    signs = [np.asarray(1), s2, s3, s2 * s3]
    n, num = grids.arrays(ti)
    w_num = _widths(num, safe, signs, 0.0)
    w_n = _widths(n, safe, signs, 1.0) if need_n > 0 else np.full(w_num.shape, np.inf)
    wide = (w_num >= protection) & (w_n >= need_n)
    short = np.minimum(w_num / protection, w_n / need_n if need_n > 0 else np.inf)
    cost = np.where(hidden[row_groups], 0.0, np.where(np.isnan(n), 1.0, n))
    price = cost[safe[1]] + cost[safe[2]] + cost[safe[3]]
    first = np.where(valid, np.where(wide, 0, 1), 2).ravel()
    second = np.where(wide, price, -short).ravel()
    best = np.lexsort((price.ravel(), second, first))[0]
    if first[best] == 2:
        return None
    k, m = np.unravel_index(best, valid.shape)
    rows = [int(c1), int(c2[0, m]), int(c3[k, 0]), int(c4[k, m])]
    return rows, bool(first[best] == 0), float(price.ravel()[best])
