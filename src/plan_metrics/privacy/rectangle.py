"""The cheapest rectangle of a table for a hidden cell (step 3 of ``protect``; the hypercube
method of tau-ARGUS on two dimensions at a time).

A table's rows of one group_by form a grid: buildings (with the district) by groups (with the
all row). Four cells (b, g), (b, g2), (b2, g), (b2, g2) hidden together form a cycle along which
the counts can shift without changing any published total: +1 on (b, g), -1 or +1 on the others
as the additive directions say (an inner cell and its total move together). ``rectangle`` scores
every candidate (b2, g2) of the grid at once with numpy: how far the cycle can shift for the
numerators and the n's (its width), and the price of the cells not yet hidden (their n).

A building's all row is the total of every group_by of the table: a cycle through the all column
(or for an all row) moves it, so it takes a pair of cells (b, g'), (b2, g') of each other
group_by along (``_pairs``, the cheapest), and its price includes theirs.
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
        self._rooms: dict[tuple[int, str], tuple] = {}
        self._row_at: dict[int, dict] = {}
        self._group_bys: dict[int, list[str]] = {}
        self._aligned: dict[tuple[int, str, str], tuple[np.ndarray, np.ndarray]] = {}

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

    def group_bys(self, ti: int) -> list[str]:
        """The group_bys of table ``ti`` other than the all row, in row order."""
        if ti not in self._group_bys:
            self._group_bys[ti] = [gb for gb in dict.fromkeys(self.keys(ti)[1]) if gb != ALL]
        return self._group_bys[ti]

    def aligned(self, ti: int, group_by: str, other: str) -> tuple[np.ndarray, np.ndarray]:
        """For each building of ``grid(ti, group_by)``, its row in ``grid(ti, other)`` (-1: none),
        and the room of the n's of ``other``'s cells (0 where a building has none; the all
        column too, since it is no cell of ``other``)."""
        key = (ti, group_by, other)
        if key not in self._aligned:
            bi2 = self.grid(ti, other)[3]
            k2 = np.fromiter((bi2.get(b, -1) for b in self.grid(ti, group_by)[0]), np.int64)
            room = self.rooms(ti, other)[0].room.copy()
            room[:, self.grid(ti, other)[1] == ALL] = np.nan
            self._aligned[key] = (k2, room)
        return self._aligned[key]

    def row_at(self, ti: int) -> dict[tuple[str, str, str], int]:
        """{(building_id, group_by, group): row} of table ``ti`` (the last row of a key wins)."""
        if ti not in self._row_at:
            self._row_at[ti] = {k: r for r, k in enumerate(zip(*self.keys(ti)))}
        return self._row_at[ti]

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

    def rooms(self, ti: int, group_by: str) -> tuple["_Room", "_Room", np.ndarray]:
        """For ``grid(ti, group_by)``: the room of the n's (down to 1) and of the numerators
        (down to 0), and each cell's price when not hidden yet (its n; 1 without one)."""
        key = (ti, group_by)
        if key not in self._rooms:
            index = self.grid(ti, group_by)[2]
            n, num = self.arrays(ti)
            at = np.maximum(index, 0)
            self._rooms[key] = (_Room(n, index, 1.0), _Room(num, index, 0.0),
                                np.where(np.isnan(n[at]), 1.0, n[at]))
        return self._rooms[key]

    def grid(self, ti: int, group_by: str):
        """(buildings, groups, index) for ``group_by`` of table ``ti``: sorted buildings, sorted
        groups with the all row last, and index[b, g] the row (-1: none)."""
        key = (ti, group_by)
        if key not in self._grids:
            buildings, group_bys, groups = self.key_arrays(ti)
            rows = np.flatnonzero((group_bys == group_by) | (group_bys == ALL))
            b_of, g_of = buildings[rows], groups[rows]
            blds = sorted(set(b_of.tolist()))
            grps = sorted(set(g_of.tolist()) - {ALL}) + [ALL]
            bi = {b: k for k, b in enumerate(blds)}
            gi = {g: k for k, g in enumerate(grps)}
            at = (np.fromiter((bi[b] for b in b_of), np.int64, len(rows)) * len(grps)
                  + np.fromiter((gi[g] for g in g_of), np.int64, len(rows)))
            # the last row of a key wins
            _, last = np.unique(at[::-1], return_index=True)
            keep = len(rows) - 1 - last
            index = np.full(len(blds) * len(grps), -1, dtype=np.int64)
            index[at[keep]] = rows[keep]
            self._grids[key] = (np.asarray(blds, dtype=object), np.asarray(grps, dtype=object),
                                index.reshape(len(blds), len(grps)), bi, gi)
        return self._grids[key]


class _Room:
    """One grid's true counts laid out as the grid (NaN where a building has no row), less a
    lower bound: how far each cell can fall. The cell (b2, g2) of a candidate rectangle moves
    with the sign of ``inner_g * inner_b`` (module docstring), which depends only on whether the
    failing row is an all row and a district row: the grid of the cells that move down (and up)
    is kept for each of the four cases."""

    def __init__(self, values: np.ndarray, index: np.ndarray, lb: float):
        self.room = np.where(index >= 0, values[np.maximum(index, 0)], np.nan) - lb
        self.missing = np.isnan(self.room)
        self._moving: dict[tuple[bool, bool], tuple[np.ndarray, np.ndarray]] = {}

    def moving(self, s2: np.ndarray, s3: np.ndarray, case: tuple[bool, bool]):
        """(room where the corner cell moves down, room where it moves up; inf elsewhere)."""
        if case not in self._moving:
            s4 = s3[:, None] * s2[None, :]
            self._moving[case] = (np.where(s4 > 0, self.room, np.inf),
                                  np.where(s4 < 0, self.room, np.inf))
        return self._moving[case]

    def widths(self, i: int, j: int, s2: np.ndarray, s3: np.ndarray,
               case: tuple[bool, bool]) -> np.ndarray:
        """How far the cycle through (i, j), (i, g2), (b2, j), (b2, g2) can shift (down plus up)
        before one of its cells falls below the bound, for every (b2, g2) of the grid; 0 where a
        cell has no count."""
        room = self.room
        row, col, corner = room[i, :], room[:, j], room[i, j]
        down4, up4 = self.moving(s2, s3, case)
        # (i, j) moves down with the shift; (i, g2) with s2, (b2, j) with s3, (b2, g2) with both
        row_down = np.minimum(np.where(s2 > 0, row, np.inf), corner)
        down = np.minimum(np.minimum(down4, row_down[None, :]),
                          np.where(s3 > 0, col, np.inf)[:, None])
        up = np.minimum(np.minimum(up4, np.where(s2 < 0, row, np.inf)[None, :]),
                        np.where(s3 < 0, col, np.inf)[:, None])
        down = np.where(np.isinf(down), UNBOUNDED, down)
        up = np.where(np.isinf(up), UNBOUNDED, up)
        w = np.maximum(down, 0) + np.maximum(up, 0)
        missing = self.missing | self.missing[i, :][None, :] | self.missing[:, j][:, None]
        if self.missing[i, j]:
            return np.zeros_like(w)
        return np.where(missing, 0.0, w)


def rectangle(grids: Grids, row_groups: np.ndarray, hidden: np.ndarray, ti: int, ri: int,
              protection: float, need_n: float):
    """The cheapest rectangle for row ``ri`` of table ``ti``: (rows, wide enough, price of the
    rows not yet hidden), or None when the row's grid has no rectangle. A cycle through the all
    rows comes with its pairs in the table's other group_bys (module docstring).

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
    if len(blds) < 2 or len(grps) < 2 or index[i, j] < 0:
        return None
    # the candidates (b2, g2): every cell of the grid outside row i and column j, with the
    # cells (i, g2), (b2, j) and (b2, g2) all present
    valid = (index >= 0) & (index[i, :] >= 0)[None, :] & (index[:, j] >= 0)[:, None]
    valid[i, :] = False
    valid[:, j] = False
    if not valid.any():
        return None
    case = (g0 != ALL, b != DISTRICT)
    s2 = np.where((grps != ALL) == case[0], -1, 1)
    s3 = np.where((blds != DISTRICT) == case[1], -1, 1)
    room_n, room_num, n_cost = grids.rooms(ti, gb)
    w_num = room_num.widths(i, j, s2, s3, case)
    wide = w_num >= protection
    short = w_num / protection
    if need_n > 0:
        w_n = room_n.widths(i, j, s2, s3, case)
        wide &= w_n >= need_n
        short = np.minimum(short, w_n / need_n)
    cost = np.where(hidden[row_groups[np.maximum(index, 0)]], 0.0, n_cost)
    price = cost[i, :][None, :] + cost[:, j][:, None] + cost
    # a cycle through the all column moves the all rows of b and b2, which are also the totals of
    # the table's other group_bys: each of those needs a pair of cells moving with them. Their
    # price is added where such a cycle could win on its four cells alone
    moves_all = np.full(len(grps), g0 == ALL) | (grps == ALL)
    best = _pick(valid & ~moves_all[None, :], wide, short, price)
    through_all = valid & moves_all[None, :]
    pairs = []
    if through_all.any() and (best is None or best[2] == 1 or (
            through_all & wide & (price <= price[best[0], best[1]])).any()):
        extra = np.zeros(len(blds))
        for other in grids.group_bys(ti):
            if other != gb:
                pair = _pairs(grids, row_groups, hidden, ti, gb, other, b)
                if pair is not None:
                    extra += pair[0]
                    pairs.append(pair)
        price = price + np.where(moves_all[None, :], extra[:, None], 0.0)
        valid &= ~(moves_all[None, :] & np.isinf(extra)[:, None])
        best = _pick(valid, wide, short, price)
    if best is None:
        return None
    k, m, first = best
    rows = [int(index[i, j]), int(index[i, m]), int(index[k, j]), int(index[k, m])]
    if moves_all[m]:
        for _, g2, k2, i2, index2 in pairs:
            rows += [int(index2[i2, g2[k]]), int(index2[k2[k], g2[k]])]
    return rows, first == 0, float(price[k, m])


def _pick(valid: np.ndarray, wide: np.ndarray, short: np.ndarray, price: np.ndarray):
    """The best candidate (k, m, 0 if wide enough else 1) of the grid, or None: wide enough
    first, then the cheapest if wide, else the widest, then the cheapest; ties to the first in
    grid order."""
    first = np.where(valid, np.where(wide, 0, 1), 2)
    best_first = int(first.min())
    if best_first == 2:
        return None
    second = np.where(wide, price, -short)
    tied = first == best_first
    tied &= second == second[tied].min()
    flat = np.flatnonzero(tied.ravel())
    best = flat[np.argmin(price.ravel()[flat])]
    k, m = np.unravel_index(best, valid.shape)
    return int(k), int(m), best_first


def _pairs(grids: Grids, row_groups: np.ndarray, hidden: np.ndarray, ti: int, gb: str,
           group_by: str, b: str):
    """For a cycle of ``grid(ti, gb)`` that moves the all rows of building ``b`` and of each
    building of the grid (the candidate b2): the cheapest pair of cells (b, g'), (b2, g') of
    ``group_by`` to move with them (ties to the widest), as (price per b2, inf where there is
    none; the group g' per b2; b2's row of the grid of ``group_by``; b's; that grid's index), or
    None where ``b`` has no cell of ``group_by`` (its all row is no total of it)."""
    index2, bi2 = grids.grid(ti, group_by)[2:4]
    i2 = bi2.get(b)
    if i2 is None:
        return None
    k2, room = grids.aligned(ti, gb, group_by)
    at = np.maximum(k2, 0)
    cost = np.where(hidden[row_groups[np.maximum(index2, 0)]], 0.0, grids.rooms(ti, group_by)[2])
    # a pair needs both cells (a NaN room: no cell). The prices are whole (n's), so the room
    # goes below 1 as the tie-break to the widest, and floor() gives the price back
    pair_room = np.maximum(np.minimum(room[at], room[i2][None, :]), 0.0)
    pair_room[k2 < 0] = np.nan
    key = cost[at] + cost[i2][None, :] + 0.5 / (1.0 + pair_room)
    key[np.isnan(key)] = np.inf
    g = np.argmin(key, axis=1)
    best = np.floor(key[np.arange(len(k2)), g])
    return best, g, k2, i2, index2
