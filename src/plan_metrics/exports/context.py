"""What every export needs from one edition: the plan, the edition, its history and board words.

Exports read editions only (suppressed aggregates, DESIGN.md section 8): nothing here touches
student-level data. ``load_context`` is the single place that turns an unknown plan, year or goal
into one ``PlanMetricsError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import paths, privacy, texts
from ..editions import Edition, read_edition, read_history
from ..errors import PlanMetricsError
from ..plan import Goal, Measure, Plan, load_plan
from ..results import ALL, DISTRICT, is_missing

SYNTHETIC_NOTE = "Synthetic demo data"

#: Fallback status colours (Okabe-Ito, colour-blind safe) used only if charts.py has none.
_FALLBACK_STATUS_COLORS = {
    "met": "#009E73", "on track": "#0072B2", "progressing": "#56B4E9", "off track": "#D55E00",
    "improving": "#009E73", "no clear change": "#999999", "declining": "#D55E00",
    "not enough data": "#BBBBBB",
}

_GROUP_BY_LABELS = {
    "all": "All students", "race_ethnicity": "Race/ethnicity", "gender": "Gender",
    "econ_disadvantaged": "Economically disadvantaged", "disability": "Students with disabilities",
    "english_learner": "English learners", "grade_band": "Grade band",
}

_PERCENT_KINDS = {"percent_favorable", "rate", "graduation_rate", "share_at_or_above",
                  "action_completion"}


def status_colors() -> dict[str, str]:
    """The status word -> colour map of the dashboards (charts.STATUS_COLORS when available)."""
    try:
        from ..charts import STATUS_COLORS
        return {**_FALLBACK_STATUS_COLORS, **dict(STATUS_COLORS)}
    except Exception:  # charts.py not there (yet): the same palette family
        return dict(_FALLBACK_STATUS_COLORS)


def status_text_color(status: str) -> str:
    """Black or white, whichever reads better on the status colour (charts' WCAG rule)."""
    try:
        from ..charts import status_text_color as rule
        return rule(status)
    except ImportError:
        return "#FFFFFF"


def group_by_label(group_by: str) -> str:
    """'race_ethnicity' -> 'Race/ethnicity' (the dashboard's words, charts.GROUP_BY_LABELS)."""
    from ..charts import GROUP_BY_LABELS
    labels = {**_GROUP_BY_LABELS, **GROUP_BY_LABELS}
    return labels.get(str(group_by), str(group_by).replace("_", " ").capitalize())


def group_label(group_by: str, group: str) -> str:
    """'two_or_more' -> 'Two or more races'; disability 'true' -> 'With an IEP' (the
    dashboard's words, charts.group_label)."""
    from ..charts import group_label as chart_label
    return chart_label(str(group_by), str(group))


def unit_of(measure: Measure) -> str:
    """The unit of a measure's value: the plan's ``unit`` or the kind's natural one."""
    if measure.unit:
        return measure.unit
    if measure.kind in _PERCENT_KINDS:
        return "percent"
    if measure.kind == "proficiency":
        stat = getattr(measure.spec, "statistic", "percent_proficient")
        return {"mpi": "index", "gap": "points"}.get(stat, "percent")
    return {"risk_ratio": "ratio", "representation_gap": "points", "per_100": "per_100",
            "mean": "number"}.get(measure.kind, "number")


def format_value(value, unit: str) -> str:
    """A published value in board words (privacy.format_value's), "—" where there is none."""
    return "—" if is_missing(value) else privacy.format_value(value, unit)


def format_change(delta, unit: str) -> str:
    """A difference of two values in board words (privacy.format_change's), "—" where none."""
    return "—" if is_missing(delta) else privacy.format_change(delta, unit)


def slug(text: str) -> str:
    """A file-name-safe form: keeps letters, digits, '.', '-' and '_'."""
    return "".join(c if c.isalnum() or c in ".-_" else "-" for c in str(text)).strip("-")


@dataclass
class ExportContext:
    """One plan-year edition with the plan and the published history up to that year."""
    reports: Path
    plan: Plan
    edition: Edition
    history: pd.DataFrame           # results of every published year up to this one
    status_history: pd.DataFrame    # status of every published year up to this one
    goal: Goal | None = None
    _buildings: dict[str, str] = field(default_factory=dict)
    _scores: dict = field(default_factory=dict)

    # -- identity ---------------------------------------------------------------------------
    @property
    def year(self) -> str:
        return self.edition.school_year

    @property
    def results(self) -> pd.DataFrame:
        return self.edition.results

    @property
    def status(self) -> pd.DataFrame:
        return self.edition.status

    @property
    def synthetic(self) -> bool:
        return self.edition.synthetic

    @property
    def min_n(self) -> int:
        """The primary-suppression minimum the edition was computed with."""
        return self.edition.min_n

    @property
    def protection(self) -> int:
        """The width every hidden count's range keeps (the edition's privacy record)."""
        priv = self.edition.manifest.get("privacy") or {}
        params = self.edition.manifest.get("parameters") or {}
        return int(priv.get("protection") or params.get("protection") or 5)

    @property
    def edition_date(self) -> str:
        """When the edition was computed (manifest end time), else the files' date."""
        m = self.edition.manifest
        for key in ("ended", "end_time", "finished", "created"):
            if m.get(key):
                return str(m[key])[:10]
        ts = (self.edition.path / "results.parquet").stat().st_mtime
        return pd.Timestamp(ts, unit="s").strftime("%Y-%m-%d")

    # -- words ------------------------------------------------------------------------------
    def suppression_note(self) -> str:
        return texts.fill("legend.hidden", min_n=self.min_n)

    def source_line(self) -> str:
        """'Source: <plan title>, <year> edition (computed <date>). Synthetic demo data.'"""
        text = f"Source: {self.plan.title}, {self.year} edition (computed {self.edition_date})."
        if self.synthetic:
            text += f" {SYNTHETIC_NOTE}."
        return text

    def building_name(self, building_id: str) -> str:
        if building_id == DISTRICT:
            return "District"
        return self.buildings().get(str(building_id), str(building_id))

    def buildings(self) -> dict[str, str]:
        """building_id -> name where the edition's manifest records names, else the ids."""
        if not self._buildings:
            names = _building_names_from_manifest(self.edition.manifest)
            ids = sorted(set(self.results["building_id"]) - {DISTRICT})
            self._buildings = {b: names.get(b, b) for b in ids}
        return self._buildings

    # -- structure --------------------------------------------------------------------------
    def measures(self, goal_id: str | None = None) -> list[Measure]:
        """Measures of one goal (or of ``self.goal``; of the whole plan when neither)."""
        gid = goal_id or (self.goal.id if self.goal else None)
        ms = self.plan.measures()
        if gid:
            ms = [m for m in ms if (g := self.plan.goal_of(m.id)) is not None and g.id == gid]
        return ms

    def goals(self) -> list[Goal]:
        return [self.goal] if self.goal else list(self.plan.goals)

    def outcome_text(self, measure: Measure) -> str:
        o = self.plan.outcome_of(measure.id)
        if o is not None:
            return o.statement
        g = self.plan.goal_of(measure.id)
        return g.statement if g is not None else (self.plan.mission or self.plan.title)

    def goal_label(self, goal: Goal) -> str:
        return f"Goal {goal.id}" + (f": {goal.title}" if goal.title else "")

    # -- the scorecard and the narrative -------------------------------------------------------
    def benchmarks(self) -> pd.DataFrame | None:
        """The edition's benchmarks table (None when it carries none)."""
        from ..scorecard import read_benchmarks
        if "_bench" not in self._scores:
            self._scores["_bench"] = read_benchmarks(self.edition.path)
        return self._scores["_bench"]

    def score_rows(self, goal_id: str, building: str = DISTRICT,
                   group_by: str | None = None) -> list:
        """The goal's scorecard rows (scorecard.scorecard) at a place, computed once."""
        from ..scorecard import scorecard
        key = (goal_id, building, group_by)
        if key not in self._scores:
            self._scores[key] = scorecard(self.plan, goal_id, self.history, self.status,
                                          self.year, building, self.building_name(building),
                                          group_by=group_by, benchmarks=self.benchmarks(),
                                          min_n=self.min_n)
        return self._scores[key]

    def narrative(self, goal_id: str, building: str = DISTRICT, group_by: str | None = None):
        """The goal's narrative (narrative.GoalNarrative) from the same scorecard rows."""
        from ..narrative import goal_narrative
        return goal_narrative(self.plan, goal_id, self.score_rows(goal_id, building, group_by),
                              self.year)

    def measure_narrative(self, measure: Measure, building: str = DISTRICT,
                          group_by: str | None = None) -> str:
        """One measure's narrative sentences ('' for a measure outside every goal)."""
        goal = self.plan.goal_of(measure.id)
        if goal is None:
            return ""
        return dict(self.narrative(goal.id, building, group_by).measures).get(measure.id, "")

    # -- numbers ----------------------------------------------------------------------------
    def status_row(self, measure_id: str) -> dict | None:
        s = self.status[self.status["measure_id"] == measure_id]
        return None if s.empty else s.iloc[0].to_dict()

    def row(self, measure_id: str, building_id: str = DISTRICT, group_by: str = ALL,
            group: str = ALL, year: str | None = None) -> dict | None:
        """One results row (this year unless ``year``), None when the edition has none."""
        df = self.history if year else self.results
        sel = ((df["measure_id"] == measure_id) & (df["building_id"] == building_id)
               & (df["group_by"] == group_by) & (df["group"] == group))
        if year:
            sel &= df["school_year"] == year
        rows = df[sel]
        return None if rows.empty else rows.iloc[0].to_dict()

    def trend_rows(self, measure_id: str, building_id: str = DISTRICT) -> pd.DataFrame:
        """All published years of a measure for a building, all students."""
        h = self.history
        return h[(h["measure_id"] == measure_id) & (h["building_id"] == building_id)
                 & (h["group_by"] == ALL) & (h["group"] == ALL)].sort_values("school_year")

    def per_group(self, measure: Measure) -> bool:
        """True for a measure reported only per student group (risk ratios, gaps): no
        all-students row of any year or building has a value, and none is hidden for privacy.
        Its status follows one group's value, which the breakdown publishes."""
        h = self.history
        rows = h[(h["measure_id"] == measure.id) & (h["group_by"] == ALL)]
        return bool(len(rows)) and not rows["value"].notna().any() \
            and not rows["suppressed"].any()

    def headline(self, measure: Measure, building: str = DISTRICT) -> tuple[str, bool]:
        """(the value to show for all students, whether it is the status value instead).

        Where the all-students cell has no value but the measure has a status value (risk
        ratios, gaps), the status value is shown and flagged."""
        row = self.row(measure.id, building)
        if row is not None and not is_missing(row.get("value")) and not row.get("suppressed"):
            return str(row.get("display")), False
        st = self.status_row(measure.id) if building == DISTRICT else None
        if st and not is_missing(st.get("value")) and (row is None or not row.get("suppressed")):
            return format_value(st["value"], unit_of(measure)), True
        if row is None:
            return "no data", False
        return str(row.get("display") or "no value"), False

    def breakdown_rows(self, measure_id: str, building_id: str = DISTRICT,
                       group_by: str | None = None) -> pd.DataFrame:
        """This year's rows of a measure for a building by one student-group column."""
        r = self.results
        sel = (r["measure_id"] == measure_id) & (r["building_id"] == building_id)
        sel &= (r["group_by"] == group_by) if group_by else (r["group_by"] != ALL)
        return r[sel].reset_index(drop=True)

    def default_group_by(self, measure: Measure) -> str | None:
        """The first student-group column the measure is reported by (None when it has none)."""
        have = set(self.results.loc[self.results["measure_id"] == measure.id, "group_by"])
        for g in measure.groups:
            if g in have:
                return g
        return None

    def change_from_last_year(self, measure_id: str, building_id: str = DISTRICT):
        """This year's value minus the previous published year's (None when either is hidden)."""
        t = self.trend_rows(measure_id, building_id)
        t = t[t["school_year"] <= self.year]
        if len(t) < 2 or t.iloc[-1]["school_year"] != self.year:
            return None, None
        now, before = t.iloc[-1], t.iloc[-2]
        if is_missing(now["value"]) or is_missing(before["value"]):
            return None, before["school_year"]
        return float(now["value"]) - float(before["value"]), before["school_year"]


def _building_names_from_manifest(manifest: dict) -> dict[str, str]:
    """Names from the manifest's ``buildings``, else from the run's buildings.csv (the public
    list of school names in the data directory; no student data) when it is still there."""
    b = manifest.get("buildings")
    if b is None and manifest.get("data_dir"):
        csv = Path(str(manifest["data_dir"])) / "buildings.csv"
        try:
            table = pd.read_csv(csv, dtype=str, usecols=["building_id", "name"])
            return dict(zip(table["building_id"], table["name"]))
        except (OSError, ValueError):
            return {}
    if isinstance(b, dict):
        return {str(k): str(v) for k, v in b.items()}
    if isinstance(b, list):
        out = {}
        for item in b:
            if isinstance(item, dict) and "building_id" in item:
                out[str(item["building_id"])] = str(item.get("name", item["building_id"]))
        return out
    return {}


def load_context(reports: Path | str | None, plan_id: str, year: str,
                 goal_id: str | None = None) -> ExportContext:
    """Plan + edition + history; one PlanMetricsError for an unknown plan, year, goal or edition."""
    reports = Path(reports) if reports else paths.REPORTS_DIR
    plan = load_plan(plan_id)
    try:
        from ..contract import parse_school_year
        parse_school_year(year)
    except ValueError as e:
        raise PlanMetricsError(f"Unknown school year {year!r}", "--year",
                               f"write it as YYYY-YY, e.g. 2024-25 ({e})") from None
    edition = read_edition(reports, plan.id, year)
    goal = None
    if goal_id:
        goal = next((g for g in plan.goals if g.id == goal_id), None)
        if goal is None:
            raise PlanMetricsError(f"Plan {plan.id!r} has no goal {goal_id!r}", "--goal",
                                   f"use one of {', '.join(g.id for g in plan.goals)}")
    history, status_history = read_history(reports, plan.id, up_to=year)
    return ExportContext(reports, plan, edition, history, status_history, goal)


def finite(x) -> bool:
    return not is_missing(x) and math.isfinite(float(x))
