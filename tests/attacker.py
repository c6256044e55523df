"""An attacker written apart from the library (DESIGN.md section 6): from published rows alone it
solves integer programs (scipy.optimize.milp) for the smallest and largest value every hidden
count can take. It knows what a reader of the editions knows:

- every listed group holds at least one person; counts are whole and not negative; 0 <= k <= n;
- the groups of a group_by partition a building's people, the buildings partition the district's;
- a banded display ("< 4%", "> 96%") bounds the share: 100 k < x n, or 100 k > y n;
- measures in ``same_people`` count the same people: their n of a cell is one unknown.

It does not use plan_metrics.privacy: it is the independent check of it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

ALL = "ALL"


def ranges(results: pd.DataFrame, same_people: list[list[str]] = ()) -> dict:
    """{(measure_id, building, group_by, group, 'n'|'k'): (low, high)} of every hidden count."""
    rows = results[results["n"].notna() | results["suppressed"].astype(bool)
                   | results["display"].astype(str).str.contains("not shown|%", regex=True)]
    people = {m: g[0] for g in same_people for m in g}
    index: dict = {}

    def var(key):
        if key not in index:
            index[key] = len(index)
        return index[key]

    A, lo_c, hi_c = [], [], []

    def add(terms, low, high):
        A.append(terms)
        lo_c.append(low)
        hi_c.append(high)

    upper = float(np.nansum(results.loc[results["building_id"] == ALL, "n"].to_numpy(float))) + 1e4
    for rec in rows.to_dict("records"):
        m = rec["measure_id"]
        cell = (rec["building_id"], rec["group_by"], rec["group"])
        n = var((people.get(m, m), *cell, "n"))
        k = var((m, *cell, "k"))
        add({n: 1}, 1, np.inf)  # a listed group holds someone
        add({k: 1, n: -1}, -np.inf, 0)
        if pd.notna(rec["n"]):
            add({n: 1}, rec["n"], rec["n"])
        if pd.notna(rec.get("numerator")):
            add({k: 1}, rec["numerator"], rec["numerator"])
        band = re.match(r"^(?:share |risk )?([<>]) (\d+(?:\.\d+)?)%$", str(rec["display"]))
        if band:
            x = float(band.group(2))
            if band.group(1) == "<":
                add({k: 100, n: -x}, -np.inf, -1e-6)
            else:
                add({k: 100, n: -x}, 1e-6, np.inf)
    # additivity in both directions, for n and for each measure's k
    keys = pd.DataFrame([(*k, i) for k, i in index.items()],
                        columns=["who", "b", "gb", "g", "q", "i"])
    for (who, q), part in keys.groupby(["who", "q"]):
        by = {(r.b, r.gb, r.g): r.i for r in part.itertuples()}
        for b in {r.b for r in part.itertuples()}:
            total = by.get((b, "all", "all"))
            for gb in {r.gb for r in part.itertuples()} - {"all"}:
                members = [i for (bb, ggb, _), i in by.items() if bb == b and ggb == gb]
                if total is not None and members:
                    add({**{i: 1 for i in members}, total: -1}, 0, 0)
        for gb, g in {(r.gb, r.g) for r in part.itertuples()}:
            total = by.get((ALL, gb, g))
            members = [i for (bb, ggb, gg), i in by.items() if bb != ALL and ggb == gb and gg == g]
            if total is not None and members:
                add({**{i: 1 for i in members}, total: -1}, 0, 0)
    nv = len(index)
    M = np.zeros((len(A), nv))
    for r, terms in enumerate(A):
        for i, c in terms.items():
            M[r, i] += c
    cons = LinearConstraint(M, lo_c, hi_c)
    bounds = Bounds(np.zeros(nv), np.full(nv, upper))
    hidden = {}
    for rec in rows.to_dict("records"):
        m = rec["measure_id"]
        cell = (rec["building_id"], rec["group_by"], rec["group"])
        for q, who in (("n", people.get(m, m)), ("k", m)):
            if q == "n" and pd.notna(rec["n"]) or q == "k" and pd.notna(rec.get("numerator")):
                continue
            i = index[(who, *cell, q)]
            c = np.zeros(nv)
            c[i] = 1
            out = []
            for sign in (1, -1):
                res = milp(sign * c, constraints=cons, integrality=np.ones(nv), bounds=bounds)
                assert res.status == 0, f"the published rows are inconsistent: {res.message}"
                out.append(sign * res.fun)
            hidden[(m, *cell, q)] = (round(out[0]), round(out[1]))
    return hidden


def narrowest(hidden: dict) -> tuple:
    """The hidden count with the narrowest range: (key, (low, high))."""
    return min(hidden.items(), key=lambda kv: kv[1][1] - kv[1][0])
