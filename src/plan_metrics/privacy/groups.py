"""The rows of the tables being published that must be hidden or shown together (step 1 of
``protect``): rows that carry the same cell (the same people counted by two measures, a
denominator that is another measure's n) form one *group*, and which new tables carry each cell."""

from __future__ import annotations

import numpy as np

from .model import Model
from .rectangle import Grids


class Groups:
    """Rows of the new tables that share a cell, by union-find over (table, row) -> cells."""

    def __init__(self, model: Model, new: list[int]):
        self.model = model
        self.new = new
        owner: dict[int, int] = {}
        self.row_ids: list[tuple[int, int]] = []
        parent: list[int] = []

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for ti in new:
            ids = model.cells.row_cells[ti]
            for ri in range(len(ids)):
                me = len(self.row_ids)
                self.row_ids.append((ti, ri))
                parent.append(me)
                for c in set(ids[ri].tolist()):
                    other = owner.get(c)
                    if other is None:
                        owner[c] = me
                    else:
                        a, b = find(me), find(other)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
        roots = np.asarray([find(i) for i in range(len(self.row_ids))], dtype=np.int64)
        _, self.of_row = np.unique(roots, return_inverse=True)
        self.count = int(self.of_row.max()) + 1 if len(roots) else 0
        self.carriers: dict[int, list[tuple[int, int]]] = {}
        for ti in new:
            for ri, cs in enumerate(model.cells.row_cells[ti].tolist()):
                for c in set(cs):
                    self.carriers.setdefault(c, []).append((ti, ri))
        self.table_groups: dict[int, np.ndarray] = {}
        at = 0
        for ti in new:
            size = len(model.cells.row_cells[ti])
            self.table_groups[ti] = np.asarray(self.of_row[at:at + size], dtype=np.int64)
            at += size
        self.grids = Grids(model.tables)
        self._linked: dict[int, list[frozenset[int]]] = {}

    def linked(self, ti: int, ri: int) -> frozenset[int]:
        """The new tables other than ``ti`` that carry one of the cells of row ``ri`` of
        ``ti`` (worked out for a whole table at its first use)."""
        if ti not in self._linked:
            self._linked[ti] = [
                frozenset(tj for c in set(cs) for tj, _ in self.carriers.get(c, ()) if tj != ti)
                for cs in self.model.cells.row_cells[ti].tolist()]
        return self._linked[ti][ri]

    def group(self, ti: int, ri: int) -> int:
        return int(self.table_groups[ti][ri])

    def fresh(self, hidden: np.ndarray, rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The rows (table, row) of ``rows`` whose group is not hidden yet (those of one table,
        the usual case, looked up together: a whole table's rows are thousands)."""
        if not rows:
            return []
        ti = rows[0][0]
        if all(t == ti for t, _ in rows):
            ris = np.fromiter((r for _, r in rows), np.int64, len(rows))
            return [rows[k] for k in np.flatnonzero(~hidden[self.table_groups[ti][ris]]).tolist()]
        return [x for x in rows if not hidden[self.group(*x)]]
