"""What a plan can compute from a data directory: one line per measure, and why not where it can't.

``plan_coverage(plan, tables, years)`` checks each measure of the plan against the validated tables
before anything runs: the source table is there; the survey, topic or item the spec names is in
``survey_items`` (and the survey has responses of the respondent type); the test and subject, the
program, action or incident category codes, the staff role, the rubric attribute and assessor,
the audit criterion, the action-step plan, goal and objective appear in the data; the years a
three-year window pools and the baseline year are present. Where a name is not found, the names
that are there are listed (a survey exported as ``sel_student`` while the plan reads
``student_sel``).

A measure is ``yes`` (computable), ``values only`` (values, but no status: its baseline year is
missing or the data has a single year) or ``no``. ``plan-metrics validate --plan`` prints the
table (``format_coverage``); ``plan-metrics run`` prints the lines that are not ``yes`` before it
starts. The words come from ``texts.yaml`` (``coverage``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import contract
from .texts import text

YES, VALUES_ONLY, NO = "yes", "values_only", "no"


@dataclass(frozen=True)
class Coverage:
    """One measure: whether the data can compute it (``state``) and, if not, why."""
    measure_id: str
    title: str
    source: str
    state: str                 # YES, VALUES_ONLY or NO
    reason: str = ""


class _Values:
    """Distinct values of table columns, computed once (a column of millions of rows is read
    once however many measures ask about it)."""

    def __init__(self, tables):
        self.tables = tables
        self._cache: dict = {}

    def has(self, table: str) -> bool:
        return self.tables.get(table) is not None

    def of(self, table: str, column: str, where: dict | None = None) -> list[str]:
        key = (table, column, tuple(sorted((where or {}).items())))
        if key not in self._cache:
            df = self.tables[table]
            col = df[column]
            if where:   # only the one column is filtered: a copy of the whole filtered table
                # (7 million survey answers at 50,000 students) was the run's peak of memory
                mask = np.ones(len(df), dtype=bool)
                for c, v in where.items():
                    mask &= _is(df[c], v)
                col = col[mask]
            # the distinct values first, then as text: a categorical column (most text columns
            # are) is never spelled out row by row
            vals = pd.Series(col.dropna().unique()).astype(str).unique().tolist()
            self._cache[key] = sorted(vals)
        return self._cache[key]

    def years(self, table: str) -> list[str]:
        col = contract.YEAR_COLUMN[table]
        return self.of(table, col) if col else []


def _is(col: pd.Series, value) -> np.ndarray:
    """Which rows of ``col`` hold ``value`` (compared as text), as a boolean array."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        hit = np.flatnonzero(np.asarray(col.cat.categories.astype(str)) == str(value))
        return np.isin(col.cat.codes.to_numpy(), hit)
    return (col.astype(str) == str(value)).to_numpy(dtype=bool)


def _names(values: list[str], limit: int = 12) -> str:
    if not values:
        return "none"
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _missing(what: str, wanted, present: list[str], table: str, column: str) -> str | None:
    """'program code 'gifted' not in programs.program (there: ap, honors)' or None."""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    absent = [w for w in wanted if w not in present]
    if not absent:
        return None
    s = "s" if len(absent) > 1 else ""
    return (f"{what}{s} {', '.join(repr(a) for a in absent)} not in {table}.{column} "
            f"(there: {_names(present)})")


def _spec_problem(m, v: _Values) -> str | None:
    """Why the data cannot compute measure ``m`` (None when it can)."""
    spec, src = m.spec, m.source
    if not v.has(src):
        return f"table {src} absent (no {src}.csv in the data)"
    kind = m.kind
    if kind == "percent_favorable":
        if not v.has("survey_items"):
            return "table survey_items absent (it names each survey's topics and items)"
        surveys = v.of("survey_items", "survey")
        miss = _missing("survey", spec.survey, surveys, "survey_items", "survey")
        if miss:
            return miss
        if spec.topic is not None:
            miss = _missing("topic", spec.topic,
                            v.of("survey_items", "topic", {"survey": spec.survey}),
                            "survey_items", f"topic of survey {spec.survey}")
        else:
            miss = _missing("item", spec.item,
                            v.of("survey_items", "item_id", {"survey": spec.survey}),
                            "survey_items", f"item_id of survey {spec.survey}")
        if miss:
            return miss
        answered = v.of("survey_responses", "survey")
        miss = _missing("survey", spec.survey, answered, "survey_responses", "survey")
        if miss:
            return miss
        types = v.of("survey_responses", "respondent_type", {"survey": spec.survey})
        return _missing("respondent type", spec.respondent_type, types, "survey_responses",
                        f"respondent_type of survey {spec.survey}")
    if kind == "rate":
        if spec.condition == "has_action":
            return _missing("action", spec.actions or [], v.of("discipline", "action"),
                            "discipline", "action")
        if spec.condition == "not_separated" and spec.role:
            return _missing("role", spec.role, v.of("staff", "role"), "staff", "role")
        return None
    if kind == "proficiency":
        miss = _missing("test", spec.test, v.of("assessments", "test"), "assessments", "test")
        return miss or _missing("subject", spec.subject,
                                v.of("assessments", "subject", {"test": spec.test}),
                                "assessments", f"subject of test {spec.test}")
    if kind == "risk_ratio":
        col = "program" if src == "programs" else "action"
        what = "program code" if src == "programs" else "action"
        return _missing(what, spec.event, v.of(src, col), src, col)
    if kind == "representation_gap":
        return _missing("role", spec.role, v.of("staff", "role"), "staff", "role")
    if kind == "per_100":
        if spec.category == "all":
            return None
        return _missing("category", spec.category, v.of("discipline", "category"), "discipline",
                        "category")
    if kind == "mean":
        cols = list(v.tables[src].columns)
        return None if spec.column in cols else \
            f"column {spec.column!r} not in {src} (there: {_names(cols)})"
    if kind == "share_at_or_above":
        if src == "progression_rubrics":
            if spec.attribute is not None:
                miss = _missing("attribute", spec.attribute, v.of(src, "attribute"), src,
                                "attribute")
                if miss:
                    return miss
            if spec.assessor is not None:
                return _missing("assessor", spec.assessor, v.of(src, "assessor"), src,
                                "assessor")
        if src == "curriculum_audit" and spec.criterion is not None:
            return _missing("criterion", spec.criterion, v.of(src, "criterion"), src,
                            "criterion")
        return None
    if kind == "action_completion":
        miss = _missing("plan", spec.plan_id, v.of(src, "plan_id"), src, "plan_id")
        if miss or spec.goal is None:
            return miss
        miss = _missing("goal", spec.goal, v.of(src, "goal_id", {"plan_id": spec.plan_id}), src,
                        f"goal_id of plan {spec.plan_id}")
        if miss or spec.objective is None:
            return miss
        return _missing("objective", spec.objective,
                        v.of(src, "objective_id", {"plan_id": spec.plan_id}), src,
                        f"objective_id of plan {spec.plan_id}")
    return None


def _year_problem(m, v: _Values, years: list[str]) -> tuple[str, str] | None:
    """(state, reason) when the years of the source table fall short, else None."""
    present = v.years(m.source)
    if not present:
        return None
    first, last = present[0], present[-1]
    missing_run = [y for y in years if y not in present]
    if missing_run and len(missing_run) == len(years):
        return NO, (f"{m.source} has no rows for {', '.join(missing_run)} (it has "
                    f"{first} to {last})")
    window = getattr(m.spec, "window_years", 1) or 1
    if window > 1:
        short = []
        for y in years:
            need = [contract.shift_school_year(y, -k) for k in range(window)][::-1]
            if [n for n in need if n not in present]:
                short.append((y, need))
        if short:
            y, need = short[0]
            have = [n for n in need if n in present]
            return NO if not have else VALUES_ONLY, (
                f"a {window}-year window ending in {y} needs {need[0]} to {need[-1]} in "
                f"{m.source}; the data has {_names(have) if have else 'none of them'}"
                + (f" (also for {', '.join(s for s, _ in short[1:])})" if len(short) > 1 else "")
                + "; the ratio pools fewer years")
    if m.baseline_year:
        if m.baseline_year not in present:
            return VALUES_ONLY, (f"baseline year {m.baseline_year} not in {m.source} (it has "
                                 f"{first} to {last}): no change from baseline or status")
    elif len(present) < 2:
        return VALUES_ONLY, (f"{m.source} has one school year ({first}): a status needs a "
                             f"baseline year before it")
    return None


def plan_coverage(plan, tables, years: list[str] | None = None) -> list[Coverage]:
    """One Coverage per measure of ``plan`` over the validated ``tables`` (``loading.Tables``).

    years: the school years to be computed (``run``); default the latest year of the data.
    """
    v = _Values(tables)
    years = list(years) if years else (list(tables.years[-1:]) if tables.years else [])
    out = []
    for m in plan.measures():
        why = _spec_problem(m, v)
        if why:
            out.append(Coverage(m.id, m.title, m.source, NO, why))
            continue
        short = _year_problem(m, v, years) if years else None
        if short:
            out.append(Coverage(m.id, m.title, m.source, short[0], short[1]))
        else:
            out.append(Coverage(m.id, m.title, m.source, YES))
    return out


def format_coverage(plan, rows: list[Coverage], only_problems: bool = False) -> str:
    """The short table: measure id, state, reason (a header line with the counts)."""
    n_yes = sum(r.state == YES for r in rows)
    head = text("coverage.heading").format(plan=plan.id, yes=n_yes, total=len(rows))
    shown = [r for r in rows if r.state != YES] if only_problems else rows
    if not shown:
        return head + "\n"
    w_id = max(len(r.measure_id) for r in shown)
    w_state = max(len(text(f"coverage.state.{r.state}")) for r in shown)
    lines = [head]
    for r in shown:
        state = text(f"coverage.state.{r.state}")
        lines.append(f"  {r.measure_id:<{w_id}}  {state:<{w_state}}  {r.reason}".rstrip())
    return "\n".join(lines) + "\n"
