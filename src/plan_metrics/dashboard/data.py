"""What a dashboard reads: one plan's published editions, indexed for fast filter changes.

Only editions (suppressed aggregates) are read, never district data; the plan YAML gives the words.
Every lookup a filter change needs is a dict access on records prepared once here.
"""

from __future__ import annotations

import csv
import math
import os
from functools import cached_property
from pathlib import Path

import pandas as pd

from .. import charts, editions, stats
from ..errors import PlanMetricsError
from ..paths import REPORTS_DIR
from ..plan import Measure, Plan, load_plan
from ..results import ALL, DISTRICT

REPORTS_ENV = "PLAN_METRICS_REPORTS"


def reports_dir() -> Path:
    """The reports folder: $PLAN_METRICS_REPORTS (set by ``plan-metrics serve``) or reports/."""
    return Path(os.environ.get(REPORTS_ENV) or REPORTS_DIR)


def published_plans(reports: Path, plan_type: str | None = None) -> list[str]:
    """Plan ids with at least one edition under ``reports`` (of one plan type, if given)."""
    eds = editions.list_editions(reports)
    out = []
    for pid in sorted(set(eds["plan_id"])):
        if plan_type is None:
            out.append(pid)
            continue
        try:
            if load_plan(pid).type == plan_type:
                out.append(pid)
        except PlanMetricsError:
            continue  # an edition whose plan file is gone: not offered
    return out


def _clean(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


class PlanData:
    """One plan's editions: results and status of every published year, plus plan words."""

    def __init__(self, reports: Path, plan_id: str):
        self.reports = Path(reports)
        self.plan: Plan = load_plan(plan_id)
        self.results, self.status = editions.read_history(self.reports, plan_id)
        self.years: list[str] = sorted(set(self.results["school_year"].astype(str))
                                       | set(self.status["school_year"].astype(str)))
        latest = editions.read_edition(self.reports, plan_id, self.years[-1])
        self.manifests = {y: editions.read_edition(self.reports, plan_id, y).manifest
                          for y in self.years}
        self.latest_manifest = latest.manifest
        #: the primary-suppression minimum of the latest edition (the legend's words)
        self.min_n = latest.min_n
        self.measures: dict[str, Measure] = {m.id: m for m in self.plan.measures()}
        self._recs: dict[str, list[dict]] = {}
        self._status = {(r["measure_id"], r["school_year"]): {k: _clean(v) for k, v in r.items()}
                        for r in self.status.to_dict("records")}
        by = {}
        for mid, part in self.results.groupby("measure_id", sort=False):
            by[str(mid)] = part
        self._rows = by

    @property
    def plan_id(self) -> str:
        return self.plan.id

    # ---- lists for the filters --------------------------------------------------------------
    @cached_property
    def building_ids(self) -> list[str]:
        ids = sorted(set(self.results["building_id"].astype(str)) - {DISTRICT})
        return [DISTRICT, *ids]

    @cached_property
    def building_names(self) -> dict[str, str]:
        """building id -> name: from the manifests ('buildings'), else the run's buildings.csv,
        else the id itself. The district row is 'District'."""
        names: dict[str, str] = {}
        for m in self.manifests.values():
            b = m.get("buildings")
            if isinstance(b, dict):
                names.update({str(k): str(v) for k, v in b.items()})
            elif isinstance(b, list):
                names.update({str(x.get("building_id")): str(x.get("name")) for x in b
                              if isinstance(x, dict)})
        data_dir = self.latest_manifest.get("data_dir")
        if not names and data_dir and (Path(data_dir) / "buildings.csv").exists():
            with open(Path(data_dir) / "buildings.csv", encoding="utf-8-sig") as f:
                names = {r["building_id"]: r["name"] for r in csv.DictReader(f)}
        out = {b: names.get(b, b) for b in self.building_ids}
        out[DISTRICT] = "District"
        return out

    @cached_property
    def group_bys(self) -> list[str]:
        present = set(self.results["group_by"].astype(str)) - {ALL}
        return [g for g in charts.GROUP_BY_LABELS if g in present]

    @property
    def synthetic(self) -> bool:
        return bool(self.latest_manifest.get("synthetic_data"))

    def goal_measures(self, goal_id: str) -> list[tuple[object, Measure]]:
        """(outcome or objective or None, measure) pairs of a goal, in plan order."""
        goal = next(g for g in self.plan.goals if g.id == goal_id)
        out = [(None, m) for m in goal.measures]
        for o in [*goal.outcomes, *goal.objectives]:
            out.extend((o, m) for m in o.measures)
        return out

    # ---- per-measure lookups ----------------------------------------------------------------
    def records(self, measure_id: str) -> list[dict]:
        """Chart records of every row of a measure (all years, buildings, groups), cached."""
        if measure_id not in self._recs:
            rows = self._rows.get(measure_id)
            self._recs[measure_id] = [] if rows is None else charts.records(rows)
        return self._recs[measure_id]

    def status_row(self, measure_id: str, year: str) -> dict | None:
        return self._status.get((measure_id, year))

    def cell(self, measure_id: str, year: str, building: str, group_by: str = ALL,
             group: str = ALL) -> dict | None:
        for r in self.records(measure_id):
            if r["school_year"] == year and r["building_id"] == building and \
                    r["group_by"] == group_by and r["group"] == group:
                return r
        return None

    def change(self, measure_id: str, year: str, building: str, from_year: str | None
               ) -> dict | None:
        """The change of the all-students value from ``from_year`` to ``year`` at a building:
        dict(diff, low, high, real, from_year) by stats.change (MOVER), or None if either is empty."""
        if not from_year or from_year == year:
            return None
        now, then = self.cell(measure_id, year, building), self.cell(measure_id, from_year,
                                                                       building)
        if not now or not then or not now["published"] or not then["published"]:
            return None
        nan = float("nan")
        c = stats.change(now["value"], now["ci_low"] if now["ci_low"] is not None else nan,
                         now["ci_high"] if now["ci_high"] is not None else nan,
                         then["value"], then["ci_low"] if then["ci_low"] is not None else nan,
                         then["ci_high"] if then["ci_high"] is not None else nan)
        return {**{k: float(c[k]) for k in ("diff", "low", "high")}, "real": bool(c["real"]),
                "from_year": from_year}

    def baseline_year(self, measure_id: str, year: str) -> str | None:
        """The measure's baseline: the status row's, the plan's, else the first published year."""
        st = self.status_row(measure_id, year) or {}
        if st.get("baseline_year"):
            return st["baseline_year"]
        m = self.measures.get(measure_id)
        if m is not None and m.baseline_year:
            return m.baseline_year
        years = sorted({r["school_year"] for r in self.records(measure_id)
                        if r["published"] and r["group_by"] == ALL})
        return years[0] if years else None

    def previous_year(self, year: str) -> str | None:
        i = self.years.index(year) if year in self.years else -1
        return self.years[i - 1] if i > 0 else None

    def revisions(self, year: str) -> dict[str, dict]:
        """The year's revised measures (compare.revisions: measure id -> the date of the edition
        the current one replaced and the cells' displays then), read once per year."""
        cache = self.__dict__.setdefault("_revisions", {})
        if year not in cache:
            from ..compare import revisions
            cache[year] = revisions(self.reports, self.plan_id, year)
        return cache[year]

    def status_counts(self, year: str) -> dict[str, dict[str, int]]:
        """goal id -> {status word: number of the goal's measures with it} for the year."""
        out = {}
        for g in self.plan.goals:
            counts: dict[str, int] = {}
            for _, m in self.goal_measures(g.id):
                st = (self.status_row(m.id, year) or {}).get("status") or "not enough data"
                counts[st] = counts.get(st, 0) + 1
            out[g.id] = counts
        return out
