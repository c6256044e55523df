"""The run's privacy step: the rows of every edition of the run, protected together with the
editions already in the reports folder (privacy.protect), before anything is published.

The compute notebooks save their domain's rows after the first, per-measure pass
(privacy.apply) with the true counts beside them (columns ``n_true``...; the scratch folder of the
run is the only place they are written). This step builds the model's tables from them, adds the
latent single-year tables that the three-year windows need (computed here from the snapshot), reads
the published editions already in the folder, decides the final pattern of hidden cells, proves it,
and returns each edition's final rows with their display texts and the manifest's privacy record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract, engine, privacy
from ..errors import PlanMetricsError
from ..params import options_of
from ..plan import Plan
from ..privacy import helper_processes
from ..privacy import model as M
from ..privacy.audit import edition_folders, read_tables
from ..privacy.local import finish
from ..privacy.protect import Unprotectable, protect
from ..privacy.tables import latent_table, measure_table, privacy_record


def protect_editions(editions, tables, reports: Path, log=None) -> dict:
    """{edition: (final results rows, privacy record)} for the run's complete ``editions``."""
    if not editions:
        return {}
    scope = M.scope_of(getattr(tables, "hashes", {}) or {})
    data_years = set(getattr(tables, "years", []) or [])
    rows_of, tables_of, new = {}, {}, []
    latent: dict[str, M.Table] = {}
    for ed in editions:
        rows = _rows(ed)
        rows_of[ed] = rows
        options = options_of(ed.params)
        mine = []
        for m in ed.plan.measures():
            mrows = rows[rows["measure_id"] == m.id]
            if mrows.empty:
                continue
            window = [contract.shift_school_year(ed.year, -k)
                      for k in range(M.window_of(m))][::-1]
            window = [y for y in window if y in data_years]
            t = measure_table(ed.plan.id, m, ed.year, mrows, scope, window)
            if t is None:
                continue
            mine.append(t)
            if t.window_years > 1:
                for y in window:
                    key = M.base_key(scope, m, y, "numerator", window=1)
                    if key not in latent:
                        latent[key] = _latent(ed, m, y, tables, options, scope)
        tables_of[ed] = mine
        new += mine
    latent_tables = [t for t in latent.values() if t is not None]
    # Every edition in the folder is published, the ones these replace too: republishing keeps
    # the replaced edition whole under history/, so what it shows stays shown.
    fixed, links, senses, _ = read_tables(edition_folders(reports))
    links = list(links) + M.link_equal_lines(new + latent_tables)
    protection = max(options_of(ed.params).protection for ed in editions)
    try:
        model, outcome = protect(new + latent_tables + fixed, links, protection, senses, log=log)
    except Unprotectable as e:
        raise PlanMetricsError(
            f"No pattern of hidden cells protects {e.cell} ({e.relation}); nothing was published",
            f"reports folder {reports}",
            "an edition already in the folder publishes counts that pin it: rerun every plan "
            "and year together (plan-metrics run --plan all --years all), or raise min_n") from None
    finally:
        helper_processes.close()
    out = {}
    for ed in editions:
        options = options_of(ed.params)
        final = _final_rows(ed, rows_of[ed], tables_of[ed], options)
        rec = privacy_record(tables_of[ed], links, model.senses | dict(senses), options.min_n,
                             options.protection, scope)
        counts = _counts(tables_of[ed], outcome, options.min_n)
        rec.update(counts)
        out[ed] = (final, rec)
    return out


@dataclass(frozen=True, eq=False)
class RowsEdition:
    """An edition computed in process (its first-pass rows with the true counts in hand): what
    ``protect_editions`` reads of an edition, for callers without a run's scratch folder."""
    plan: Plan
    year: str
    params: dict
    rows: pd.DataFrame
    target: Path


def _rows(ed) -> pd.DataFrame:
    if isinstance(ed, RowsEdition):
        return ed.rows
    parts = [pd.read_parquet(ed.rows_dir / f"{d}.parquet") for d in ed.domains]
    if not parts:
        from ..results import empty_results
        return empty_results()
    rows = pd.concat(parts, ignore_index=True)
    order = {m.id: i for i, m in enumerate(ed.plan.measures())}
    return rows.iloc[rows["measure_id"].map(order).argsort(kind="stable")].reset_index(drop=True)


def _latent(ed, measure, year, tables, options, scope):
    one = measure.model_copy(update={"spec": measure.spec.model_copy(update={"window_years": 1})})
    rows = engine.measure_rows(one, tables, year, options, display=False, keep_truth=True)
    if "n_true" not in rows.columns:  # no data that year
        return None
    rows = rows.assign(n=rows["n_true"], numerator=rows["numerator_true"],
                       denominator=rows["denominator_true"])
    return latent_table(ed.plan.id, measure, year, rows, scope)


def _final_rows(ed, rows: pd.DataFrame, tabs: list[M.Table], options) -> pd.DataFrame:
    """The edition's rows with the protected states written (numbers emptied, notes, display)."""
    by_measure = {t.measure_id: t for t in tabs}
    frames = []
    for m in ed.plan.measures():
        mrows = rows[rows["measure_id"] == m.id]
        if mrows.empty:
            continue
        t = by_measure.get(m.id)
        mrows = mrows.copy()
        if t is not None:  # the final pattern hides a superset of the first pass's

            state = pd.Series(M.PUBLISHED, index=mrows.index, dtype=object)
            state.loc[t.rows.index] = t.rows["state"].to_numpy()
            whole = pd.Series(False, index=mrows.index)
            if "whole_line" in t.rows.columns:
                whole.loc[t.rows.index] = t.rows["whole_line"].to_numpy(bool)
            band = pd.Series(None, index=mrows.index, dtype=object)
            band.loc[t.rows.index] = np.where(t.rows["state"] == M.BANDED, t.rows["band"], None)
            hidden = (state == M.HIDDEN).to_numpy()
            mrows["suppressed"] = False
            mrows["band"] = band.to_numpy()
            mrows = finish(mrows, hidden, options.min_n, whole_line=whole.to_numpy())
        mrows["display"] = privacy.display(mrows, privacy.unit_of(m), options.min_n,
                                           privacy.relation_of(m))
        frames.append(mrows)
    out = pd.concat(frames, ignore_index=True) if frames else rows
    return out.drop(columns=[c for c in privacy.PRIVATE_COLUMNS if c in out.columns])


def _counts(tabs: list[M.Table], outcome, min_n: int) -> dict:
    primary = complementary = banded = 0
    for t in tabs:
        st = t.rows["state"].to_numpy(dtype=object)
        small = (t.rows["n"] < min_n).to_numpy()
        primary += int(((st == M.HIDDEN) & small).sum())
        complementary += int(((st == M.HIDDEN) & ~small).sum())
        banded += int((st == M.BANDED).sum())
    return {"hidden_primary": primary, "hidden_complementary": complementary, "banded": banded,
            "rounds": outcome.rounds, "min_range": outcome.min_width,
            "whole_lines": [w for w in outcome.whole_lines
                            if any(w == t.name for t in tabs)],
            # hidden here but shown by an edition published before (kept under history/)
            "published_earlier": [c for c in outcome.published_earlier
                                  if any(f" of {t.name}, " in c for t in tabs)]}
