"""Complementary suppression over everything a reports folder publishes together (DESIGN.md
section 6), proven by the attacker's linear program.

``protect(new, existing, protection)`` takes the tables of the editions being published (true
counts, with the first pass of ``local.apply`` as their starting states), the latent tables their
windows need, and the tables of the editions already in the folder (fixed: they are published). It
decides which further rows to hide so that no unknown count can be narrowed to a range narrower
than ``protection`` (a banded numerator: to a single value):

1. Rows that carry the same cell (the same people counted by two measures, a denominator that is
   another measure's n) form one *group*: a group is hidden or not as a whole, so linked measures
   get one consistent pattern. A group holding a row under ``min_n`` is hidden; so is a group whose
   cell an existing edition hides.
2. Derived states: a banded row's numerator must be banded (or hidden) in every row that carries
   it; a gap or risk ratio in a building whose all row is not published is hidden.
3. The audit (``lp.ranges``) names the unknown cells whose range is too narrow. For each, the
   cheapest *rectangle* is hidden: three more cells of the same table that, with it, form a cycle
   of the two additive directions (groups and buildings) along which the counts can shift without
   changing any published total, wide enough for the protection where one exists; cells already
   hidden cost nothing, otherwise the cost is the cell's n (the smallest cells first). The cycle
   must close in the whole system, not in its grid alone: one through the all rows moves a pair
   of cells in each other group_by too (the all row is their total as well), and its rows are
   hidden at the same places in every measure that shares one of their counts. (Closed in one
   grid only, the cell stayed pinned, the LP found it too narrow round after round, and at 200,000
   students whole survey tables followed: 51,973 complementary cells hidden instead of 16,232.)
4. The rows hidden in 3 get a cycle of their own table before the next LP, as every hidden row
   gets one before the first (``_prepass``). Without it each round's complements were found too
   narrow by the next, a few at a time: 50,000 students took 8 rounds and hid 1,500 more cells
   than the 4 rounds with it.
5. Repeat from 2. A cell that still fails after a few rounds has its whole line and building row
   hidden, then its whole table ("hide the whole line and say so in the note"). If even that fails
   (the existing editions pin it), nothing is published: ``Unprotectable`` names the cell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..results import ALL
from . import lp
from .groups import Groups
from .rectangle import Grids, rectangle
from .model import (BANDED, HIDDEN, PUBLISHED, Model, Table, build_model, system_of,
                    violations)

MAX_ROUNDS = 60
#: how a failing cell is protected, cheapest first; a level that finds nothing new to hide
#: (or fails twice... once) gives way to the next
LEVELS = ("rectangle", "neighbours", "rectangle", "neighbours", "line", "table")


class Unprotectable(RuntimeError):
    """No pattern of hidden cells in the new editions protects a cell."""

    def __init__(self, cell: str, relation: str):
        super().__init__(f"{cell} ({relation})")
        self.cell, self.relation = cell, relation


@dataclass
class Outcome:
    """What ``protect`` did: the final states are in the tables' rows."""
    rounds: int = 0
    seconds: float = 0.0
    solves: int = 0
    hidden_primary: int = 0
    hidden_complementary: int = 0
    banded: int = 0
    whole_lines: list[str] = field(default_factory=list)
    min_width: float = float("inf")
    published_earlier: list[str] = field(default_factory=list)   # hidden now, shown before


def protect(tables: list[Table], links, protection: float,
            senses: dict[str, str] | None = None, log=None) -> tuple[Model, Outcome]:
    """Decide the final states of the rows of the tables that are neither latent nor fixed.

    ``tables``: new tables (``fixed`` False, true counts, starting states), latent tables and the
    fixed tables of the editions already published. Returns the model and what was done; raises
    Unprotectable when no pattern works.
    """
    started = time.perf_counter()
    model = build_model(tables, links, senses)
    broken = violations(model)
    if broken:
        raise RuntimeError(f"privacy model defect: {len(broken)} relations do not hold for the "
                           f"true counts, e.g. {broken[0].where} {broken[0].coefs}")
    new = [i for i, t in enumerate(tables) if not t.latent and not getattr(t, "fixed", False)]
    groups = Groups(model, new)
    hidden = np.zeros(groups.count, bool)
    start_states = {}
    for ti in new:
        t = tables[ti]
        st = t.rows["state"].to_numpy(dtype=object)
        start_states[ti] = st.copy()
        for ri in np.flatnonzero(st == HIDDEN):
            hidden[groups.group(ti, ri)] = True
    primary = hidden.copy()
    # a count an existing edition keeps from view stays so: a new row that would show it, or
    # bound it by a band, is hidden. Only where an existing edition bands it already may a new
    # banded row carry it (a rerun's banded rows stay banded, as in the edition it replaces):
    # a band on a count some edition hides outright would narrow what it promised
    fixed_known, fixed_banded = _fixed_known(model, tables), _fixed_banded(model, tables)
    for ti in new:
        ids = model.cells.row_cells[ti]
        banded = np.isin(tables[ti].rows["band"].to_numpy(dtype=object), ["<", ">"])
        for j in range(3):
            cells = ids[:, j].tolist()
            kept = np.fromiter((fixed_known.get(c) is False for c in cells), bool, len(ids))
            if j > 0:
                kept &= ~(banded & np.fromiter((c in fixed_banded for c in cells), bool,
                                               len(ids)))
            hidden[groups.table_groups[ti][kept]] = True
    looked: set = set()
    _prepass(model, groups, hidden, start_states, protection, looked)
    out = Outcome()
    fails: dict[int, int] = {}
    whole: set[tuple[int, int]] = set()
    # the rounds only hide more, so a value a cell took in a feasible point of one round's system
    # stays feasible in every later one: witnesses carry over, by cell
    witnessed: dict[int, tuple[float, float]] = {}
    for rnd in range(1, MAX_ROUNDS + 1):
        out.rounds = rnd
        _derive(model, groups, hidden, start_states)
        sysm, var_cells, _ = system_of(model, protection)
        seen = {v: witnessed[int(c)] for v, c in enumerate(var_cells.tolist()) if c in witnessed}
        rng, figures = lp.ranges(sysm, seen)
        witnessed.update({int(var_cells[v]): span for v, span in seen.items()})
        out.solves += figures["solves"]
        short = [(v, r) for v, r in rng.items() if r.width < sysm.need[v] - 1e-9]
        if log:
            log(f"privacy round {rnd}: {len(var_cells)} unknown cells, {figures['components']} "
                f"components, {figures['solves']} LPs, {len(short)} too narrow")
        if not short:
            widths = [r.width for v, r in rng.items() if sysm.need[v] >= protection]
            out.min_width = min(widths) if widths else float("inf")
            break
        added = False
        stuck = None
        # states change only when the next round derives them, so what is known is the same for
        # every failing cell of this round
        known = model.known()
        for v, r in short:
            cell = int(var_cells[v])
            where = _carrier(model, groups, cell)
            if where is None:
                continue
            fresh, level = [], fails.get(cell, 0)
            while level < len(LEVELS):
                rows = _choose(LEVELS[level], model, groups, hidden, where, cell, protection,
                               known)
                fresh = groups.fresh(hidden, rows)
                if fresh:
                    break
                level += 1
            if not fresh:
                stuck = stuck or (cell, where, r)
                continue
            fails[cell] = level + 1
            if LEVELS[level] in ("line", "table"):
                whole.update(fresh)
            for x in fresh:
                hidden[groups.group(*x)] = True
            added = True
        if not added:
            if stuck is None:
                v, r = short[0]
                cell = int(var_cells[v])
                stuck = (cell, _any_carrier(model, cell), r)
            cell, where, r = stuck
            name = _cell_name(tables[where[0]], where[1], model.cells.kind[cell]) if where else \
                f"cell {cell}"
            err = Unprotectable(name, f"its range is {r.low:g} to {r.high:g} or narrower even "
                                "with its whole table hidden, given the editions already "
                                "published")
            err.model, err.cell_id = model, cell
            raise err
        # the rows hidden now get their own cycles before the next LP (point 4)
        _prepass(model, groups, hidden, start_states, protection, looked)
    else:
        raise Unprotectable("the reports folder", f"no pattern found in {MAX_ROUNDS} rounds")
    out.published_earlier = _check_known_hidden(model, groups, fixed_known)
    for ti in new:
        st = tables[ti].rows["state"].to_numpy(dtype=object)
        for ri in range(len(st)):
            g = groups.group(ti, ri)
            if st[ri] == HIDDEN:
                if primary[g]:
                    out.hidden_primary += 1
                else:
                    out.hidden_complementary += 1
            elif st[ri] == BANDED:
                out.banded += 1
        tables[ti].rows["whole_line"] = [(ti, ri) in whole for ri in range(len(st))]
    out.whole_lines = sorted({tables[ti].name for ti, _ in whole})
    out.seconds = time.perf_counter() - started
    return model, out


def _check_known_hidden(model: Model, groups: Groups, fixed_known: dict[int, bool]) -> list[str]:
    """A hidden row's counts must be hidden in every new row. One that an edition already
    published shows (a kept edition under a lower min_n, say) is public and cannot be taken back:
    it needs no protection and is returned by name, for the record; every count hidden
    everywhere has been protected with it as a known value."""
    known = model.known()
    earlier = []
    for ti in groups.new:
        st = model.tables[ti].rows["state"].to_numpy(dtype=object)
        ids = model.cells.row_cells[ti]
        for ri in np.flatnonzero(st == HIDDEN):
            for j in (0, 1):
                c = int(ids[ri, j])
                if not known[c]:
                    continue
                if fixed_known.get(c):
                    earlier.append(_cell_name(model.tables[ti], ri, j))
                    continue
                raise Unprotectable(_cell_name(model.tables[ti], ri, j),
                                    f"it is hidden here but published by "
                                    f"{_any_published(model, c)}")
    return earlier


def _any_published(model: Model, cell: int) -> str:
    for t, ids in zip(model.tables, model.cells.row_cells):
        st = t.rows["state"].to_numpy(dtype=object)
        hit = np.flatnonzero((ids == cell).any(axis=1) & (st != HIDDEN))
        if len(hit) and not t.latent:
            return t.name
    return "another edition"


def _fixed_known(model: Model, tables: list[Table]) -> dict[int, bool]:
    """{cell: published?} over the cells the fixed (already published) tables carry."""
    out: dict[int, bool] = {}
    for t, ids in zip(tables, model.cells.row_cells):
        if not getattr(t, "fixed", False):
            continue
        st = t.rows["state"].to_numpy(dtype=object)
        for j in range(3):
            pub = (st == PUBLISHED) | ((st == BANDED) & (j == 0))
            for c, p in zip(ids[:, j].tolist(), pub.tolist()):
                out[c] = out.get(c, False) or p
    return out


def _fixed_banded(model: Model, tables: list[Table]) -> set[int]:
    """The numerators and denominators of the rows the fixed tables show banded: public within
    their band, and no more."""
    out: set[int] = set()
    for t, ids in zip(tables, model.cells.row_cells):
        if getattr(t, "fixed", False):
            st = t.rows["state"].to_numpy(dtype=object)
            out.update(ids[st == BANDED][:, 1:].ravel().tolist())
    return out


def _derive(model: Model, groups: Groups, hidden: np.ndarray, start: dict) -> None:
    """Row states from the hidden groups, with the consistency rules (module docstring, 2)."""
    tables = model.tables
    while True:
        for ti in groups.new:
            st = start[ti].copy()
            g = groups.table_groups[ti]
            st[hidden[g]] = HIDDEN
            st[(st == HIDDEN) & ~hidden[g]] = PUBLISHED  # a start state HIDDEN is a hidden group
            band = tables[ti].rows["band"].to_numpy(dtype=object)
            st[(st != HIDDEN) & np.isin(band, ["<", ">"])] = BANDED
            tables[ti].rows["state"] = st
        more = set()
        # a banded numerator must not be published by any other row
        states = {ti: tables[ti].rows["state"].to_numpy(dtype=object) for ti in groups.new}
        banded_num = np.unique(np.concatenate(
            [model.cells.row_cells[ti][states[ti] == BANDED, 1] for ti in groups.new]
            or [np.zeros(0, dtype=np.int64)]))
        for ti in groups.new:
            shown = (states[ti] == PUBLISHED) & np.isin(model.cells.row_cells[ti][:, 1],
                                                         banded_num)
            more.update(groups.table_groups[ti][shown].tolist())
        # a comparison value in a building whose all row is not published
        for ti in groups.new:
            t = tables[ti]
            if not t.compares:
                continue
            st = t.rows["state"].to_numpy(dtype=object)
            r = t.rows
            is_all = (r["group_by"] == ALL).to_numpy()
            bld = r["building_id"].astype(str).to_numpy()
            closed = np.isin(bld, bld[is_all & (st != PUBLISHED)])
            for ri in np.flatnonzero(closed & ~is_all & (st != HIDDEN)):
                more.add(groups.group(ti, ri))
        more = {g for g in more if not hidden[g]}
        if not more:
            return
        hidden[list(more)] = True


def _prepass(model: Model, groups: Groups, hidden: np.ndarray, start: dict,
             protection: float, seen: set, passes: int = 6) -> None:
    """Before any LP: give every hidden row (and every banded numerator) of the new tables a cycle
    of hidden cells wide enough in its own table (the hypercube method of tau-ARGUS, on two
    dimensions at a time); the LP then only finds what crosses tables.

    A row is looked at once per state: after that it has its cycle (hiding only adds cells, so it
    keeps it) or no cycle of its grid is wide enough (the widths depend on the true counts alone),
    so a later pass only looks at the rows hidden or banded since. ``seen``: the (table, row,
    state) looked at (kept between calls)."""
    for _ in range(passes):
        _derive(model, groups, hidden, start)
        changed = False
        for ti in groups.new:
            t = model.tables[ti]
            st = t.rows["state"].to_numpy(dtype=object)
            for ri in np.flatnonzero((st == HIDDEN) | (st == BANDED)):
                if (ti, ri, st[ri]) in seen:
                    continue
                seen.add((ti, ri, st[ri]))
                need = protection if st[ri] == HIDDEN else 1.0
                rows, wide, price = _rectangle(model, groups, hidden, ti, int(ri), need,
                                               need_n=need if st[ri] == HIDDEN else 0.0,
                                               with_price=True)
                if price == 0 or not wide:
                    continue  # covered already, or no cycle here can do it (the LP decides)
                for x in rows:
                    g = groups.group(*x)
                    if not hidden[g]:
                        hidden[g] = True
                        changed = True
        if not changed:
            return


def _choose(level: str, model: Model, groups: Groups, hidden: np.ndarray,
            where: tuple[int, int], cell: int, protection: float,
            known: np.ndarray) -> list[tuple[int, int]]:
    """The rows (table, row) to hide for a failing cell at one level of LEVELS."""
    ti, ri = where
    if level == "rectangle":
        return _rectangle(model, groups, hidden, ti, ri, protection)
    if level == "neighbours":
        return _neighbours(model, groups, hidden, cell, known)
    if level == "line":
        return [(ti, x) for x in _line_and_row(groups.grids, ti, ri)]
    return [(ti, x) for x in range(len(model.tables[ti].rows))]


def _neighbours(model: Model, groups: Groups, hidden: np.ndarray, cell: int,
                known: np.ndarray) -> list[tuple[int, int]]:
    """For each relation of ``cell`` with a published (or banded) cell of a new table in it (a
    window sum, a linked table's total...), the cheapest row publishing or bounding such a cell.
    ``known``: ``model.known()`` of the round."""
    states: dict[int, np.ndarray] = {}   # table -> its rows' states, read as needed

    def state(ti, ri):
        if ti not in states:
            states[ti] = model.tables[ti].rows["state"].to_numpy(dtype=object)
        return states[ti][ri]

    out = []
    for rel in model.relations_of(cell):
        best, best_n = None, None
        for c in rel.coefs:
            if c == cell:
                continue
            for ti, ri in groups.carriers.get(c, []):
                if hidden[groups.group(ti, ri)]:
                    continue
                # a row that publishes the cell, or bounds it by its band
                if not (known[c] or state(ti, ri) == BANDED):
                    continue
                n = groups.grids.arrays(ti)[0][ri]
                n = 1e9 if np.isnan(n) else float(n)
                if best_n is None or n < best_n:
                    best, best_n = (ti, ri), n
        if best is not None:
            out.append(best)
    return out


def _carrier(model: Model, groups: Groups, cell: int) -> tuple[int, int] | None:
    """A row of a new table that carries ``cell`` (a hidden or banded one first)."""
    rows = groups.carriers.get(cell, [])
    for ti, ri in rows:
        if model.tables[ti].rows["state"].iloc[ri] != PUBLISHED:
            return ti, ri
    return rows[0] if rows else None


def _any_carrier(model: Model, cell: int) -> tuple[int, int] | None:
    for ti, ids in enumerate(model.cells.row_cells):
        hit = np.flatnonzero((ids == cell).any(axis=1))
        if len(hit) and not model.tables[ti].latent:
            return ti, int(hit[0])
    return None


def _cell_name(t: Table, ri: int, kind: int) -> str:
    r = t.rows.iloc[ri]
    qty = ("n", "numerator", "denominator")[int(kind)]
    return (f"the {qty} of {t.name}, {r['building_id']}, {r['group_by']} = {r['group']}")


def _line_and_row(grids: Grids, ti: int, ri: int) -> list[int]:
    """The rows of a cell's whole line (every building of its group) and of its building's row
    of its group_by."""
    buildings, group_bys, groups = grids.key_arrays(ti)
    b, gb, g = buildings[ri], group_bys[ri], groups[ri]
    mask = (group_bys == gb) & ((groups == g) | (buildings == b))
    return np.flatnonzero(mask).tolist()


def _rectangle(model: Model, groups: Groups, hidden: np.ndarray, ti: int, ri: int,
               protection: float, need_n: float | None = None, with_price: bool = False):
    """Rows of table ``ti`` that, hidden with row ``ri``, form the cheapest cycle wide enough for
    ``protection`` (or the widest one); see ``rectangle``. Without a rectangle in its grid, the
    row's whole line and building row. ``with_price``: (rows, wide enough, price)."""
    need_n = protection if need_n is None else need_n
    found = rectangle(groups.grids, groups.table_groups[ti], hidden, ti, ri, protection, need_n)
    if found is None:
        rows = [(ti, x) for x in _line_and_row(groups.grids, ti, ri)]
        return (rows, False, float(len(rows))) if with_price else rows
    rows = _at_linked_tables(model, groups, ti, found[0])
    return (rows, found[1], found[2]) if with_price else rows


def _at_linked_tables(model: Model, groups: Groups, ti: int, rows: list[int]
                      ) -> list[tuple[int, int]]:
    """A cycle's rows of table ``ti``, with the rows at the same places (building, group_by,
    group) of every new table that carries one of their cells (and so on): a count two measures
    share moves in both, so the cycle must close in each (two survey measures over partly the
    same respondents, say)."""
    keys = groups.grids.keys(ti)
    places = [(keys[0][r], keys[1][r], keys[2][r]) for r in rows]
    out = [(ti, r) for r in rows]
    done, frontier = {ti}, out
    while frontier:
        linked = set().union(*(groups.linked(t, r) for t, r in frontier)) - done
        done |= linked
        frontier = [(tj, at[p]) for tj in sorted(linked)
                    for at in (groups.grids.row_at(tj),) for p in places if p in at]
        out += frontier
    return out
