"""The model's tables from what exists: an edition being computed (true counts), the latent
single-year tables of its three-year windows, and the editions already in a reports folder
(published counts plus the privacy record of their manifests).

The privacy record (``manifest["privacy"]``) holds what the audit needs beyond the published rows,
and nothing an attacker is not assumed to know already: per measure the base keys of its counts,
its relation and window; the links between lines that count the same people; the senses of the
families whose counts do not add up exactly; the parameters min_n and protection.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..results import ALL
from . import model as M
from .local import BANDED_RELATIONS

KEEP = ["building_id", "group_by", "group", "n", "numerator", "denominator"]


def _people_rows(rows: pd.DataFrame, reset: bool = True) -> pd.DataFrame:
    """Rows that count people (an n, or hidden): 'no data' rows and action steps take no part.
    ``reset`` False keeps the rows' index (to write the final states back)."""
    sup = rows["suppressed"].fillna(False).astype(bool) if "suppressed" in rows.columns else False
    n = rows["n_true"] if "n_true" in rows.columns else rows["n"]
    keep = n.notna() | sup
    out = rows[keep]
    return out.reset_index(drop=True) if reset else out


def measure_table(plan_id: str, measure, school_year: str, rows: pd.DataFrame, scope: str,
                  window_years: list[str] | None = None) -> M.Table | None:
    """A new edition's table for one measure: ``rows`` after ``local.apply`` (true counts kept
    in ``n_true``/``numerator_true``/``denominator_true``), states from the first pass."""
    relation = M.relation_of(measure)
    if relation == "none":
        return None
    rows = _people_rows(rows, reset=False)
    if rows.empty:
        return None
    r = pd.DataFrame({c: rows[c] for c in ("building_id", "group_by", "group")})
    for q in M.QTYS:
        r[q] = pd.to_numeric(rows[f"{q}_true"], errors="coerce").astype("float64")
    band = rows["band"] if "band" in rows.columns else pd.Series(None, index=rows.index)
    r["band"] = band.astype("object").where(band.notna(), None)
    sup = rows["suppressed"].fillna(False).astype(bool).to_numpy()
    r["state"] = np.where(sup, M.HIDDEN, np.where(r["band"].isin(["<", ">"]), M.BANDED,
                                                    M.PUBLISHED))
    keys = {q: M.base_key(scope, measure, school_year, q) for q in M.QTYS}
    t = M.Table(plan_id, measure.id, school_year, relation, keys, r, compares=M.compares(measure),
                window_years=M.window_of(measure))
    if t.window_years > 1 and window_years:
        t.window = {q: [M.base_key(scope, measure, y, q, window=1) for y in window_years]
                    for q in ("numerator", "denominator")}
    return t


def latent_table(plan_id: str, measure, school_year: str, rows: pd.DataFrame,
                 scope: str) -> M.Table | None:
    """The single-year counts of a risk ratio's window year (computed with window_years 1)."""
    rows = _people_rows(rows)
    if rows.empty:
        return None
    r = rows[KEEP].copy()
    for q in M.QTYS:
        r[q] = pd.to_numeric(r[q], errors="coerce").astype("float64")
    r["band"] = None
    r["state"] = M.HIDDEN
    keys = {q: M.base_key(scope, measure, school_year, q, window=1) for q in M.QTYS}
    keys["n"] = keys["denominator"]  # one year: the student-years are the students
    return M.Table(plan_id, f"{measure.id} ({school_year} alone)", school_year, "rr", keys, r,
                   latent=True, window_years=1)


def privacy_record(tables: list[M.Table], links, senses: dict[str, str], min_n: int,
                   protection: int, scope: str) -> dict:
    """The manifest's privacy section for one edition's tables (see the module docstring)."""
    mine: set[str] = set()
    measures = {}
    for t in tables:
        measures[t.measure_id] = {"relation": t.relation, "keys": t.keys,
                                  "window_years": t.window_years, "window": t.window,
                                  "compares": t.compares}
        mine.update(t.keys.values())
        for ks in t.window.values():
            mine.update(ks)
    own_links = [[a, b] for a, b in links if a.split("|")[0] in mine or b.split("|")[0] in mine]
    own_senses = {k: v for k, v in senses.items() if k.split("|")[0] in mine}
    return {"scope": scope, "min_n": int(min_n), "protection": int(protection),
            "measures": measures, "links": own_links, "senses": own_senses}


_BAND = re.compile(r"([<>])\s*\d+%")


def edition_tables(results: pd.DataFrame, manifest: dict, plans=None
                   ) -> tuple[list[M.Table], list, dict]:
    """The fixed tables of a published edition, with its recorded links and senses.

    ``plans``: {plan_id: Plan} for editions written before the privacy record existed (their
    measures' relations come from the plan; their lines link to nothing).
    """
    rec = manifest.get("privacy") or {}
    measures = rec.get("measures") or {}
    plan_id = str(manifest.get("plan_id", ""))
    year = str(manifest.get("school_year", ""))
    out: list[M.Table] = []
    if results.empty:
        return out, [], {}
    for mid, rows in results.groupby("measure_id", sort=False):
        mid = str(mid)
        info = measures.get(mid)
        if info is None:
            info = _legacy(plan_id, mid, year, plans)
            if info is None:
                continue
        if info["relation"] == "none":
            continue
        rows = _people_rows(rows)
        if rows.empty:
            continue
        r = rows[KEEP].copy()
        for q in M.QTYS:
            r[q] = pd.to_numeric(r[q], errors="coerce").astype("float64")
        sup = rows["suppressed"].fillna(False).astype(bool).to_numpy()
        band = [_band_side(d, nt) for d, nt in zip(rows["display"].fillna("").tolist(),
                                                   rows["note"].fillna("").tolist())]
        banded = (~sup) & r["n"].notna().to_numpy() & r["numerator"].isna().to_numpy() \
            & np.asarray([b is not None for b in band])
        if info["relation"] not in BANDED_RELATIONS:
            banded[:] = False
        r["band"] = np.where(banded, np.asarray(band, dtype=object), None)
        r["state"] = np.where(sup, M.HIDDEN, np.where(banded, M.BANDED, M.PUBLISHED))
        # a published row whose counts are empty (a value withheld) publishes only what it shows
        t = M.Table(plan_id, mid, year, info["relation"], info["keys"], r,
                    window=info.get("window") or {}, window_years=int(info.get("window_years", 1)),
                    compares=bool(info.get("compares")), fixed=True)
        out.append(t)
    return out, [tuple(x) for x in rec.get("links") or []], dict(rec.get("senses") or {})


def _band_side(display: str, note: str) -> str | None:
    for text in (display, note):
        m = _BAND.search(str(text or ""))
        if m:
            return m.group(1)
    return None


def _legacy(plan_id, measure_id, year, plans):
    plan = (plans or {}).get(plan_id)
    if plan is None:
        try:
            from ..plan import load_plan
            plan = load_plan(plan_id)
        except Exception:  # noqa: BLE001 - a plan no longer shipped: read its rows as shares
            plan = None
    m = next((x for x in plan.measures() if x.id == measure_id), None) if plan else None
    relation = M.relation_of(m) if m is not None else "share"
    scope = f"edition {plan_id} {year}"
    keys = {q: M._digest(scope, measure_id, q) for q in M.QTYS}
    if relation in M.DEN_IS_N:
        keys["denominator"] = keys["n"]
    return {"relation": relation, "keys": keys, "window_years": 1, "window": {},
            "compares": bool(m is not None and M.compares(m))}


def latent_for_audit(tables: list[M.Table]) -> list[M.Table]:
    """Latent tables the audit must add for the recorded windows of published tables: one per
    window year not already present, with the window table's cells, nothing known."""
    have = {t.keys["numerator"] for t in tables}
    out = []
    for t in tables:
        if not t.window:
            continue
        nums, dens = t.window.get("numerator", []), t.window.get("denominator", [])
        for kn, kd in zip(nums, dens):
            if kn in have:
                continue
            have.add(kn)
            r = t.rows[["building_id", "group_by", "group"]].copy()
            for q in M.QTYS:
                r[q] = np.nan
            r["band"] = None
            r["state"] = M.HIDDEN
            keys = {"n": kd, "numerator": kn, "denominator": kd}
            out.append(M.Table(t.plan_id, f"{t.measure_id} (a window year)", t.school_year, "rr",
                               keys, r, latent=True))
    return out


def is_all_row(rows: pd.DataFrame) -> np.ndarray:
    return (rows["group_by"] == ALL).to_numpy()
