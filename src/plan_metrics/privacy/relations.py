"""The relations among the model's cells, all true of the real counts (DESIGN.md section 6; the
list is in ``model``'s docstring): additivity, within a row by the measure's relation, what a
banded row's display says, and a window as the sum of its years. Each is a ``Relation`` over cell
ids, with the counts published on the right-hand side left to ``model.system_of``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import ALL, DISTRICT
from . import model as M


@dataclass
class Relation:
    coefs: dict[int, float]
    sense: str                 # '=', '<=', '>='
    rhs: float = 0.0
    where: str = ""            # for messages: what the relation says


def _rel(terms, sense: str, rhs: float, where: str) -> Relation:
    """A relation from (cell, coefficient) terms; terms on one cell (two linked lines) add up."""
    coefs: dict[int, float] = {}
    for c, a in terms:
        coefs[int(c)] = coefs.get(int(c), 0.0) + a
    return Relation({c: a for c, a in coefs.items() if a != 0}, sense, rhs, where)


def additivity(tables: list[M.Table], uf: M.UnionFind, cells: M.Cells,
               senses: dict[str, str] | None = None) -> tuple[list[Relation], dict[str, str]]:
    """The groups-add-up and buildings-add-up relations of every line family, once per family.

    ``senses``: known senses of families that do not add up exactly (from manifests); families
    whose cells all have true counts get their sense from them. Returns the relations and the
    senses of the inexact families (to record).
    """
    senses = dict(senses or {})
    found: dict[str, str] = {}
    rels: list[Relation] = []
    seen: set[tuple] = set()
    for t in tables:
        r = t.rows
        blds = r["building_id"].astype(str).tolist()
        gbs, gs = r["group_by"].astype(str).tolist(), r["group"].astype(str).tolist()
        for j, qty in enumerate(M.QTYS):
            base = t.keys[qty]
            if qty == "denominator" and base == t.keys["n"]:
                continue
            cid = {}
            for i in range(len(r)):
                line = uf.find(M.line_key(base, gbs[i], gs[i]))
                cid[(blds[i], gbs[i], gs[i])] = cells.index[(line, blds[i])]
            fams: dict[tuple, tuple[int, list[int]]] = {}
            for (b, gb, g), c in cid.items():
                if gb != ALL and (b, ALL, ALL) in cid:
                    fams.setdefault(("g", b, gb), (cid[(b, ALL, ALL)], []))[1].append(c)
                if b != DISTRICT and (DISTRICT, gb, g) in cid:
                    fams.setdefault(("b", gb, g), (cid[(DISTRICT, gb, g)], []))[1].append(c)
            for fkey, (total, parts) in fams.items():
                sig = (total, tuple(sorted(parts)))
                if sig in seen:
                    continue
                seen.add(sig)
                name = f"{base}|{'|'.join(fkey)}"
                sense = senses.get(name)
                if sense is None:
                    vals = cells.truth[[total, *parts]]
                    if np.isnan(vals).any():
                        sense = "="
                    else:
                        diff = vals[1:].sum() - vals[0]
                        sense = "=" if abs(diff) < 1e-6 else (">=" if diff > 0 else "<=")
                    if sense != "=":
                        found[name] = sense
                coefs = {}
                for p in parts:
                    coefs[p] = coefs.get(p, 0.0) + 1.0
                coefs[total] = coefs.get(total, 0.0) - 1.0
                coefs = {c: a for c, a in coefs.items() if a != 0}
                if not coefs:
                    continue
                what = (f"{t.name}: the groups of {fkey[2]} in {fkey[1]} add up to its all row"
                        if fkey[0] == "g" else
                        f"{t.name}: the buildings of {fkey[1]} {fkey[2]} add up to the district")
                rels.append(Relation(coefs, sense, 0.0, what))
    return rels, found


def row_relations(t: M.Table, ids: np.ndarray) -> list[Relation]:
    """The relations within each row of ``t`` (by its relation, see the module docstring)."""
    out: list[Relation] = []
    w = t.window_years
    for i, (cn, cx, cd) in enumerate(ids.tolist()):
        where = f"{t.name}: the counts of one row"
        if t.relation == "share":
            out.append(_rel([(cx, 1.0), (cn, -1.0)], "<=", 0.0, where))
        elif t.relation == "favorable":
            out.append(_rel([(cx, 1.0), (cd, -1.0)], "<=", 0.0, where))
            out.append(_rel([(cd, 1.0), (cn, -1.0)], ">=", 0.0, where))
        elif t.relation == "rr":
            out.append(_rel([(cx, 1.0), (cd, -1.0)], "<=", 0.0, where))
            if cd != cn:
                out.append(_rel([(cd, 1.0), (cn, -1.0)], ">=", 0.0, where))
                out.append(_rel([(cd, 1.0), (cn, -float(w))], "<=", 0.0, where))
        elif t.relation == "mpi":
            out.append(_rel([(cx, 1.0), (cn, -100.0)], ">=", 0.0, where))
            out.append(_rel([(cx, 1.0), (cn, -500.0)], "<=", 0.0, where))
    return out


def band_relations(t: M.Table, ids: np.ndarray) -> list[Relation]:
    """What a banded row's display says: 100 numerator < x denominator (or > (100 - x) den)."""
    from .display import band_x

    out = []
    st = t.rows["state"].to_numpy(dtype=object)
    side = t.rows["band"].to_numpy(dtype=object)
    ns = pd.to_numeric(t.rows["n"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    for i in np.flatnonzero(st == M.BANDED):
        if math.isnan(ns[i]) or side[i] not in ("<", ">"):
            continue
        x = band_x(ns[i])
        cx, cd = int(ids[i, 1]), int(ids[i, 2])
        where = f"{t.name}: the band of a small group's share"
        if side[i] == "<":
            out.append(_rel([(cx, 100.0), (cd, -float(x))], "<=", -1e-3, where))
        else:
            out.append(_rel([(cx, 100.0), (cd, -float(100 - x))], ">=", 1e-3, where))
    return out


def window_relations(tables: list[M.Table], uf: M.UnionFind, cells: M.Cells) -> list[Relation]:
    """A window's numerator and student-years are the sums of its years' single-year counts."""
    out = []
    for t in tables:
        if not t.window:
            continue
        r = t.rows
        blds = r["building_id"].astype(str).tolist()
        gbs, gs = r["group_by"].astype(str).tolist(), r["group"].astype(str).tolist()
        for qty in ("numerator", "denominator"):
            years = t.window.get(qty) or []
            if not years:
                continue
            for i in range(len(r)):
                total = cells.index[(uf.find(M.line_key(t.keys[qty], gbs[i], gs[i])), blds[i])]
                years_c = [cells.index.get((uf.find(M.line_key(yk, gbs[i], gs[i])), blds[i]))
                           for yk in years]
                coefs = {total: -1.0}
                for c in years_c:
                    if c is not None:
                        coefs[c] = coefs.get(c, 0.0) + 1.0
                # a year no table of the model carries (a published edition's window reaching
                # back before the years this run computes) is a count of 0 or more: the window
                # is then at least the sum of the years it has, not equal to it
                whole = None not in years_c
                out.append(Relation(coefs, "=" if whole else "<=", 0.0,
                                    f"{t.name}: the {qty} of a three-year window is " +
                                    ("the sum of its years" if whole else
                                     "at least the sum of the years known")))
    return out
