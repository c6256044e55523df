"""The scorecard of a goal (DESIGN.md sections 9 and 10): one row per measure, from an edition.

``scorecard(plan, goal_id, results, status, year, building)`` returns one ``ScoreRow`` per measure
of the goal, in plan order: this year's value, the change since last year and since the baseline
(each judged real or within noise by the status rules' own test, ``status.change_between``), the
target, the benchmark (``benchmark_for``), the status word with its rule, and the sparkline's
points. The board dashboard, the HTML report and the board packet all build their scorecard from
here, so they read the same.

Everything comes from the published rows (results ``display`` and non-hidden ``value``): a hidden
cell reads "not shown" and is a gap in the sparkline. At the district the status is the edition's
own (status.parquet); at a building it is the building's own, by the same rules on the building's
rows (``status.building_status``).

A measure that compares groups (a risk ratio, a proficiency gap) has no all-students value. Its row
follows one group, named: the widest disparity of ``group_by`` when given, else the group the
edition's status follows; its value, changes, sparkline and status are all that group's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import status as status_rules
from . import texts
from .plan import Measure, Plan
from .privacy import format_change, format_value, unit_of
from .results import ALL, DISTRICT

BENCHMARKS_FILE = "benchmarks.parquet"
#: The benchmark scopes in the order a scorecard prefers them (DESIGN.md section 5).
BENCHMARK_SCOPES = ("state", "peer", "national")


@dataclass
class Change:
    """A change between two published values: its text, whether it is real, and from when."""
    from_year: str | None
    text: str                       # "+3.0 pts", or why there is none ("not shown in 2022-23")
    real: bool | None = None        # None where there is no change to judge
    diff: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def verdict(self) -> str:
        """'real change' / 'within noise' / '' (no change to judge)."""
        if self.real is None:
            return ""
        return texts.text("scorecard.real" if self.real else "scorecard.noise")


@dataclass
class ScoreRow:
    """One measure's line of the scorecard."""
    measure_id: str
    title: str
    outcome_id: str | None
    unit: str
    whose: str                      # "all students", "all staff", "Black students" ...
    display: str                    # this year's value as published ("78%", "not shown")
    value: float | None             # this year's published value (None where hidden / none)
    focus: tuple[str, str] | None   # (group_by, group) the row follows, for a disparity measure
    headline: str                   # a sentence for a disparity measure, else ""
    since_last_year: Change
    since_baseline: Change
    target: str                     # "80% by 2024-25" or "—"
    benchmark: str                  # "91% (Missouri)" or "—"
    status: str
    rule_text: str
    place: str                      # "District" or the building's name
    spark: list[tuple[str, float | None]] = field(default_factory=list)  # (year, value|None)

    @property
    def anchor(self) -> str:
        """The id of the measure's card (the scorecard row links to ``#<anchor>``)."""
        return card_anchor(self.measure_id)

    @property
    def status_of(self) -> str:
        """Whose status it is: 'Beech Ridge Middle: improving', 'District: off track'."""
        return texts.fill("status_of", place=self.place, status=self.status)


def card_anchor(measure_id: str) -> str:
    """The HTML id of a measure's card: 'pm-card-G1.1-belonging' (ids may hold dots)."""
    return "pm-card-" + "".join(c if c.isalnum() or c in ".-_" else "-" for c in measure_id)


def compares_groups(measure: Measure) -> bool:
    """True for a measure whose value compares groups (risk ratio, gap): no all-students value."""
    if measure.kind == "risk_ratio":
        return True
    return measure.kind == "proficiency" and getattr(measure.spec, "statistic", "") == "gap"


def whose(measure: Measure) -> str:
    """Whose value the measure's all-students row is: 'all students', 'all staff', 'all
    families', 'all teachers' (texts.yaml ``whose``)."""
    spec = measure.spec
    respondent = getattr(spec, "respondent_type", None)
    if respondent == "staff":
        key = "staff"
    elif respondent == "family":
        key = "families"
    elif measure.kind == "representation_gap":
        key = "teachers_vs_students"
    elif measure.source == "staff":
        key = "teachers" if getattr(spec, "role", None) == "teacher" else "staff"
    elif measure.source == "educator_evaluations":
        key = "staff"
    elif measure.kind == "per_100":
        key = "incidents"
    else:
        key = "students"
    return texts.text(f"whose.{key}")


def reports_on_students(measure: Measure) -> bool:
    """True where the measure's rows break down by student group (not a staff/family measure)."""
    return whose(measure) in (texts.text("whose.students"), texts.text("whose.incidents"))


# ---- benchmarks ------------------------------------------------------------------------------

def read_benchmarks(edition_path: Path | str | None) -> pd.DataFrame | None:
    """The edition's optional ``benchmarks`` table (DESIGN.md section 5: school_year, measure_id,
    scope, label, value, source), or None when the edition carries none."""
    if edition_path is None:
        return None
    p = Path(edition_path) / BENCHMARKS_FILE
    if not p.exists():
        return None
    return pd.read_parquet(p)


def benchmark_for(benchmarks: pd.DataFrame | None, measure: Measure, year: str) -> dict | None:
    """The benchmark a scorecard shows beside a measure's value for ``year``: the first of the
    state, peer and national scopes with a value. dict(scope, label, value, source, display), or
    None when there is none (the scorecard then shows "—")."""
    if benchmarks is None or benchmarks.empty:
        return None
    b = benchmarks[(benchmarks["measure_id"].astype(str) == measure.id)
                   & (benchmarks["school_year"].astype(str) == str(year))]
    for scope in BENCHMARK_SCOPES:
        hit = b[b["scope"].astype(str) == scope]
        if len(hit) and not pd.isna(hit.iloc[0]["value"]):
            r = hit.iloc[0]
            label = "" if pd.isna(r.get("label")) else str(r.get("label"))
            shown = format_value(float(r["value"]), unit_of(measure))
            return {"scope": scope, "label": label, "value": float(r["value"]),
                    "source": None if pd.isna(r.get("source")) else str(r.get("source")),
                    "display": f"{shown} ({label})" if label else shown}
    return None


# ---- disparities -----------------------------------------------------------------------------

def _event_words(measure: Measure) -> str | None:
    events = getattr(measure.spec, "event", None) or []
    words = texts.all_texts().get("events", {})
    out: list[str] = []
    for e in events:
        w = words.get(str(e))
        if w is None:
            return None
        if w not in out:
            out.append(w)
    return " or ".join(out) if out else None


def disparity_sentence(measure: Measure, row: dict | None, place: str, year: str) -> str:
    """The headline of a measure that compares groups, its group named (texts.yaml
    ``disparity``): 'Black students are 2.20 times as likely as other students to be
    suspended or expelled'. ``row``: the group's published row (group_by, group, value,
    display), or None when no group's disparity is published."""
    if row is None or _missing(row.get("value")) or row.get("suppressed"):
        return texts.fill("disparity.none", place=place, year=year)
    group = texts.group_label(str(row["group_by"]), str(row["group"]))
    group = group[:1].upper() + group[1:]
    v = float(row["value"])
    title = measure.title[:1].lower() + measure.title[1:]
    if unit_of(measure) == "ratio":
        event = _event_words(measure)
        shown = format_value(v, "ratio")
        if event:
            return texts.fill("disparity.ratio", group=group, value=shown, event=event)
        return texts.fill("disparity.ratio_measure", group=group, value=shown, title=title)
    if abs(v) < 0.05:
        return texts.fill("disparity.gap_even", group=group, title=title)
    key = "disparity.gap_below" if v < 0 else "disparity.gap_above"
    return texts.fill(key, group=group, value=f"{abs(v):.1f}", title=title)


def widest(measure: Measure, rows: list[dict], year: str, group_by: str | None = None
           ) -> tuple[str, str] | None:
    """(group_by, group) of the widest published disparity at one place in ``year`` (of one
    student-group column when given): status.focus_group's choice, so card and status agree."""
    return status_rules.focus_group(measure, [r for r in rows if r["school_year"] == year],
                                    group_by)


# ---- the rows --------------------------------------------------------------------------------

def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _clean(v):
    return None if _missing(v) else v


def _published(r: dict | None) -> bool:
    return r is not None and not r.get("suppressed") and not _missing(r.get("value"))


def _display(r: dict | None) -> str:
    if r is None:
        return texts.text("display.no_data")
    d = r.get("display")
    if _missing(d) or d == "":
        return texts.text("display.hidden") if r.get("suppressed") else texts.text(
            "display.no_data")
    return str(d)


def _change(now: dict | None, then: dict | None, unit: str, from_year: str | None) -> Change:
    if not from_year:
        return Change(None, texts.text("scorecard.no_change"))
    if then is None:
        return Change(from_year, f"no data in {from_year}")
    if not _published(then):
        return Change(from_year, f"{_display(then)} in {from_year}")
    if not _published(now):
        return Change(from_year, texts.text("scorecard.no_change"))
    ch = status_rules.change_between(now, then)
    return Change(from_year, format_change(ch["diff"], unit), ch["real"], ch["diff"], ch["low"],
                  ch["high"])


def _target_text(measure: Measure, unit: str) -> str:
    t = measure.target
    if t is None:
        return texts.text("scorecard.no_target")
    return texts.fill("scorecard.target", value=format_value(float(t.value), unit), year=t.year)


def _status_rows(status: pd.DataFrame | None, year: str) -> dict[str, dict]:
    if status is None or status.empty:
        return {}
    s = status[status["school_year"].astype(str) == str(year)]
    return {str(r["measure_id"]): {k: _clean(v) for k, v in r.items()}
            for r in s.to_dict("records")}


def goal_measures(plan: Plan, goal_id: str) -> list[tuple[str | None, Measure]]:
    """(outcome or objective id or None, measure) of a goal, in the board's card order."""
    goal = next((g for g in plan.goals if g.id == goal_id), None)
    if goal is None:
        raise KeyError(goal_id)
    out: list[tuple[str | None, Measure]] = [(None, m) for m in goal.measures]
    for o in [*goal.outcomes, *goal.objectives]:
        out.extend((o.id, m) for m in o.measures)
    return out


def measure_row(measure: Measure, rows: list[dict], status_row: dict | None, year: str,
                years: list[str], building: str = DISTRICT, place: str = "District",
                group_by: str | None = None, benchmarks: pd.DataFrame | None = None,
                outcome_id: str | None = None, plan_id: str = "", min_n: int = 10) -> ScoreRow:
    """One measure's scorecard row at one place (see ``scorecard``). ``rows``: the measure's
    results rows at ``building`` (dicts), years up to ``year``; ``years``: the published years
    (for "last year"); ``status_row``: the edition's district status row of the year."""
    unit = unit_of(measure)
    focus = None
    if compares_groups(measure):
        if group_by is not None:
            focus = widest(measure, rows, year, group_by)
        if focus is None and group_by is None:
            focus = widest(measure, rows, year)
    gb, g = focus or (ALL, ALL)
    series = {r["school_year"]: r for r in rows if r["group_by"] == gb and r["group"] == g}
    now = series.get(year)
    # the status: the edition's at the district (when it follows the same group), else the same
    # rules on this place's rows
    official = building == DISTRICT and status_row is not None and (
        focus is None or focus == widest(measure, rows, year) or not compares_groups(measure))
    if official:
        st = status_row
    else:
        st = status_rules.building_status(measure, rows, building, year, plan_id, min_n,
                                          group_by=gb if focus else None)
    base_year = st.get("baseline_year") or measure.baseline_year
    prev = [y for y in years if y < year]
    last = prev[-1] if prev else None
    spark = [(y, float(series[y]["value"]) if _published(series.get(y)) else None)
             for y in years if y <= year]
    if compares_groups(measure):
        who = texts.group_label(gb, g) if focus else texts.text("display.not_applicable")
        headline = disparity_sentence(measure, now if focus else None, place, year)
    else:
        who, headline = whose(measure), ""
    bench = benchmark_for(benchmarks, measure, year)
    return ScoreRow(
        measure_id=measure.id, title=measure.title, outcome_id=outcome_id, unit=unit, whose=who,
        display=_display(now) if (now is not None or not compares_groups(measure)) else
        texts.text("display.not_applicable"),
        value=float(now["value"]) if _published(now) else None, focus=focus, headline=headline,
        since_last_year=_change(now, series.get(last), unit, last),
        since_baseline=_change(now, series.get(base_year), unit,
                               base_year if base_year and base_year < year else None),
        target=_target_text(measure, unit),
        benchmark=bench["display"] if bench else texts.text("scorecard.no_benchmark"),
        status=st.get("status") or texts.status_word("not_enough_data"),
        rule_text=st.get("rule_text") or "", place=place, spark=spark)


def scorecard(plan: Plan, goal_id: str, results: pd.DataFrame, status: pd.DataFrame | None,
              year: str, building: str = DISTRICT, place: str | None = None,
              group_by: str | None = None, benchmarks: pd.DataFrame | None = None,
              min_n: int = 10) -> list[ScoreRow]:
    """The scorecard of one goal at one place: one ``ScoreRow`` per measure, in plan order.

    ``results``: the results rows of the published years up to ``year`` (more years are
    ignored); ``status``: the edition's status rows (of ``year`` at least); ``building``: ``ALL``
    for the district or a building id (``place`` its name); ``group_by``: the student-group
    column a disparity measure's row follows (default: the group its status follows);
    ``benchmarks``: the edition's benchmarks table, or None.
    """
    pairs = goal_measures(plan, goal_id)
    ids = {m.id for _, m in pairs}
    r = results[(results["building_id"].astype(str) == str(building))
                & results["measure_id"].astype(str).isin(ids)
                & (results["school_year"].astype(str) <= str(year))]
    years = sorted(set(results["school_year"].astype(str)) & {y for y in
                   results["school_year"].astype(str) if y <= str(year)})
    by: dict[str, list[dict]] = {}
    cols = ["measure_id", "building_id", "school_year", "group_by", "group", "n", "value",
            "ci_low", "ci_high", "suppressed", "display", "note"]
    for rec in r[[c for c in cols if c in r.columns]].to_dict("records"):
        rec = {k: _clean(v) for k, v in rec.items()}
        for k in ("measure_id", "building_id", "school_year", "group_by", "group"):
            rec[k] = str(rec[k]) if rec.get(k) is not None else ALL
        rec["suppressed"] = bool(rec.get("suppressed") or False)
        by.setdefault(rec["measure_id"], []).append(rec)
    sts = _status_rows(status, year)
    place = place or ("District" if building == DISTRICT else str(building))
    return [measure_row(m, by.get(m.id, []), sts.get(m.id), str(year), years, building, place,
                        group_by, benchmarks, oid, plan.id, min_n)
            for oid, m in pairs]
