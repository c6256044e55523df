"""Chart builders for the dashboards and exports (DESIGN.md sections 9, 10, 13).

Every builder takes rows of an edition (suppressed aggregates, the results columns of section 8)
and returns an ``alt.Chart`` (or layer); it never displays anything. One Altair theme,
``plan_metrics``, is registered and enabled when this module is imported: a colour-blind-safe
palette (Okabe-Ito), plain fonts, no chart border.

- ``trend_chart``: value by school year with its 95% interval band and the target;
  suppressed years are omitted (and named in the text alternative).
- ``breakdown_chart``: one horizontal bar per student group with its interval, the all-students
  value as a rule; suppressed groups are NOT drawn as bars, they are listed as "n < 10" text.
- ``alt_text(chart)``: the text alternative each builder wrote into the chart's ``description``
  (Vega-Lite puts it on the SVG as its aria label); ``trend_alt_text`` / ``breakdown_alt_text``
  build it from the rows directly.
- ``STATUS_COLORS``: one colour per status word (the word is always shown too).
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from .plan import Measure
from .results import ALL

#: Okabe-Ito, the colour-blind-safe qualitative palette (Okabe & Ito 2008), black last.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000"]
VALUE_COLOR = "#0072B2"     # blue: the measure's values
TARGET_COLOR = "#000000"    # black, dashed: the target
ALL_COLOR = "#D55E00"       # vermillion: the all-students reference rule

#: Status word -> colour (Okabe-Ito hues, darkened where white text must sit on them).
#: Good = bluish green, on its way = blue, partway = orange, bad = vermillion, unknown = grey.
STATUS_COLORS: dict[str, str] = {
    "met": "#007A5E",              # bluish green (Okabe-Ito #009E73, darkened for contrast)
    "on track": "#0072B2",         # blue
    "progressing": "#B36B00",      # orange (Okabe-Ito #E69F00, darkened)
    "off track": "#B34700",        # vermillion (Okabe-Ito #D55E00, darkened)
    "improving": "#007A5E",
    "no clear change": "#5F5F5F",  # grey
    "declining": "#B34700",
    "not enough data": "#767676",
}

#: Board-facing names of the student-group columns and their values.
GROUP_BY_LABELS = {
    "all": "All students", "race_ethnicity": "Race/ethnicity", "gender": "Gender",
    "econ_disadvantaged": "Economically disadvantaged", "disability": "Disability (IEP)",
    "english_learner": "English learner", "grade_band": "Grade band",
}
_VALUE_LABELS = {
    "race_ethnicity": {"hispanic": "Hispanic", "american_indian": "American Indian",
                       "asian": "Asian", "black": "Black", "pacific_islander": "Pacific Islander",
                       "white": "White", "two_or_more": "Two or more races"},
    "gender": {"female": "Female", "male": "Male", "nonbinary": "Nonbinary",
               "not_reported": "Not reported"},
    "econ_disadvantaged": {"true": "Econ. disadvantaged", "false": "Not econ. disadvantaged"},
    "disability": {"true": "With an IEP", "false": "Without an IEP"},
    "english_learner": {"true": "English learners", "false": "Not English learners"},
    "grade_band": {"elementary": "Elementary (K-5)", "middle": "Middle (6-8)",
                   "high": "High (9-12)"},
}

CHART_WIDTH, CHART_HEIGHT = 300, 170
FONT = "Helvetica, Arial, sans-serif"


@alt.theme.register("plan_metrics", enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The one Altair theme of plan-metrics (readable sizes, Okabe-Ito palette, no border)."""
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"stroke": None, "continuousWidth": CHART_WIDTH,
                     "continuousHeight": CHART_HEIGHT},
            "range": {"category": OKABE_ITO},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#222222",
                     "titleColor": "#222222", "gridColor": "#e6e6e6", "domainColor": "#888888",
                     "tickColor": "#888888"},
            "title": {"fontSize": 14, "anchor": "start", "color": "#222222"},
            "text": {"fontSize": 12, "color": "#222222"},
            "line": {"strokeWidth": 2.5},
        }
    }


# ---- units and formatting -------------------------------------------------------------------

def measure_unit(measure: Measure) -> str:
    """percent | points | ratio | index | per_100 | hours | number (the plan's unit, else the kind's)."""
    if measure.unit:
        return measure.unit
    kind = measure.kind
    if kind == "proficiency":
        stat = getattr(measure.spec, "statistic", "percent_proficient")
        return {"mpi": "index", "gap": "points"}.get(stat, "percent")
    return {"risk_ratio": "ratio", "representation_gap": "points", "per_100": "per_100",
            "mean": "number"}.get(kind, "percent")


def axis_format(unit: str) -> str:
    """The d3 format string for an axis of that unit."""
    return {"percent": ".0%", "points": "+.0f", "ratio": ".2f", "index": ".0f",
            "per_100": ".1f", "hours": ".1f"}.get(unit, ".1f")


def axis_title(unit: str) -> str:
    return {"percent": "Percent", "points": "Gap (percentage points)", "ratio": "Risk ratio",
            "index": "Index", "per_100": "Per 100 students", "hours": "Hours"}.get(unit, "Value")


def format_value(value: Any, unit: str) -> str:
    """A number as board text in its unit (0.784 -> '78%', -12.3 points -> '-12.3 pts')."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    v = float(value)
    if unit == "percent":
        return f"{v * 100:.0f}%"
    if unit == "points":
        return f"{v:+.1f} pts"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit == "index":
        return f"{v:.1f}"
    return f"{v:.1f}"


def group_label(group_by: str, group: str) -> str:
    """Board-facing name of a student group value ('two_or_more' -> 'Two or more races')."""
    if group_by == ALL or group == ALL:
        return "All students"
    labels = _VALUE_LABELS.get(group_by, {})
    return labels.get(str(group).lower(), str(group).replace("_", " ").capitalize())


def _num(x) -> float | None:
    if x is None or x is pd.NA:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _published(rows: pd.DataFrame) -> pd.Series:
    return (~rows["suppressed"].astype(bool)) & rows["value"].notna()


# ---- trend ----------------------------------------------------------------------------------

def trend_records(history: pd.DataFrame) -> list[dict]:
    """The plotted points of a trend: published years only, sorted, plain JSON values."""
    h = history[_published(history)].sort_values("school_year")
    return [{"school_year": str(r.school_year), "value": _num(r.value), "ci_low": _num(r.ci_low),
             "ci_high": _num(r.ci_high), "display": str(r.display)}
            for r in h.itertuples(index=False)]


def trend_chart(history: pd.DataFrame, measure: Measure, status_row: dict | None = None,
                place: str | None = None) -> alt.LayerChart:
    """Line and points of a measure's value by school year, its 95% interval band and its target.

    ``history``: results rows of one measure at one building and group, across years. Suppressed
    (or empty) years are omitted. ``status_row``: the status row of the latest year (dict with
    target_value, target_year, ...) or None; the target is drawn as a dashed rule and a labelled
    point at its year. The text alternative is the chart's ``description``.
    """
    unit = measure_unit(measure)
    records = trend_records(history)
    years = sorted(set(history["school_year"].astype(str)))
    target_value = _num((status_row or {}).get("target_value"))
    target_year = (status_row or {}).get("target_year")
    if target_value is None and measure.target is not None:
        target_value, target_year = measure.target.value, measure.target.year
    if target_year is not None and target_year is not pd.NA and target_value is not None:
        years = sorted(set(years) | {str(target_year)})
    x = alt.X("school_year:O", title="School year", scale=alt.Scale(domain=years),
              axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(zero=False, domain=[0, 1]) if unit == "percent" else alt.Scale(zero=False)
    y = alt.Y("value:Q", title=axis_title(unit), scale=y_scale,
              axis=alt.Axis(format=axis_format(unit), tickCount=5))
    tooltip = [alt.Tooltip("school_year:O", title="Year"), alt.Tooltip("display:N", title="Value")]
    base = alt.Chart(alt.Data(values=records))
    band = base.mark_area(opacity=0.18, color=VALUE_COLOR).encode(
        x=x, y=alt.Y("ci_low:Q", scale=y_scale), y2="ci_high:Q")
    line = base.mark_line(color=VALUE_COLOR).encode(x=x, y=y)
    points = base.mark_point(filled=True, size=60, color=VALUE_COLOR).encode(
        x=x, y=y, tooltip=tooltip)
    layers = [band, line, points]
    if target_value is not None:
        target = alt.Data(values=[{"school_year": str(target_year), "value": target_value,
                                   "label": f"Target {format_value(target_value, unit)}"}])
        tbase = alt.Chart(target)
        layers.append(tbase.mark_rule(color=TARGET_COLOR, strokeDash=[5, 4], strokeWidth=1.5)
                      .encode(y=alt.Y("value:Q", scale=y_scale)))
        if target_year:
            layers.append(tbase.mark_point(shape="diamond", size=90, filled=True,
                                           color=TARGET_COLOR).encode(x=x, y=alt.Y("value:Q")))
        layers.append(tbase.mark_text(align="right", dy=-8, color=TARGET_COLOR).encode(
            x=alt.value(CHART_WIDTH), y=alt.Y("value:Q"), text="label:N"))
    return alt.layer(*layers).properties(
        width=CHART_WIDTH, height=CHART_HEIGHT,
        description=trend_alt_text(history, measure, status_row, place))


def trend_alt_text(history: pd.DataFrame, measure: Measure, status_row: dict | None = None,
                   place: str | None = None) -> str:
    """Text alternative of a trend chart: every plotted year, the target, the omitted years."""
    unit = measure_unit(measure)
    recs = trend_records(history)
    where = f" for {place}" if place else ""
    if not recs:
        text = f"{measure.title}{where}: no published value in any year."
    else:
        pts = "; ".join(
            f"{r['school_year']} {r['display']}"
            + (f" (95% interval {format_value(r['ci_low'], unit)} to "
               f"{format_value(r['ci_high'], unit)})"
               if r["ci_low"] is not None and r["ci_high"] is not None else "")
            for r in recs)
        text = (f"Line chart of {measure.title}{where}, {recs[0]['school_year']} to "
                f"{recs[-1]['school_year']}: {pts}.")
    target_value = _num((status_row or {}).get("target_value"))
    target_year = (status_row or {}).get("target_year")
    if target_value is None and measure.target is not None:
        target_value, target_year = measure.target.value, measure.target.year
    if target_value is not None:
        text += f" Target: {format_value(target_value, unit)}" + (
            f" by {target_year}." if target_year and target_year is not pd.NA else ".")
    if status_row and status_row.get("status"):
        text += f" Status: {status_row['status']}."
    hidden = sorted(set(history.loc[~_published(history), "school_year"].astype(str)))
    if hidden:
        text += f" Not shown (fewer than 10 people or no data): {', '.join(hidden)}."
    return text


# ---- breakdown ------------------------------------------------------------------------------

def breakdown_records(rows: pd.DataFrame) -> tuple[list[dict], list[dict], dict | None]:
    """(published group bars, suppressed group labels, the all-students row) as plain values."""
    group_by = next((g for g in rows["group_by"].astype(str) if g != ALL), ALL)
    all_rows = rows[rows["group_by"].astype(str) == ALL]
    groups = rows[rows["group_by"].astype(str) != ALL]
    pub = _published(groups)
    bars = [{"group": group_label(group_by, r.group), "value": _num(r.value),
             "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high), "display": str(r.display)}
            for r in groups[pub].itertuples(index=False)]
    hidden = [{"group": group_label(group_by, r.group),
               "display": str(r.display) if r.suppressed else "no data", "value": 0.0}
              for r in groups[~pub].itertuples(index=False)]
    all_rec = None
    if len(all_rows) and _published(all_rows).iloc[0]:
        r = all_rows.iloc[0]
        all_rec = {"value": _num(r["value"]), "display": str(r["display"])}
    return bars, hidden, all_rec


def breakdown_chart(rows: pd.DataFrame, measure: Measure, place: str | None = None
                    ) -> alt.LayerChart:
    """Horizontal bars of a measure by student group for one year and building.

    ``rows``: the results rows of one measure, year and building for one group_by (optionally with
    the all-students row, group_by 'all', drawn as a rule). Suppressed groups get no bar: their
    display text ("n < 10") is written at the zero line instead.
    """
    unit = measure_unit(measure)
    bars, hidden, all_rec = breakdown_records(rows)
    order = [b["group"] for b in bars] + [h["group"] for h in hidden]
    x_scale = alt.Scale(domain=[0, 1]) if unit == "percent" else alt.Scale(zero=True, nice=True)
    x = alt.X("value:Q", title=axis_title(unit), scale=x_scale,
              axis=alt.Axis(format=axis_format(unit), tickCount=5))
    y = alt.Y("group:N", title=None, sort=order, scale=alt.Scale(domain=order),
              axis=alt.Axis(labelLimit=170))
    bar_base = alt.Chart(alt.Data(values=bars))
    tooltip = [alt.Tooltip("group:N", title="Group"), alt.Tooltip("display:N", title="Value")]
    layers = [
        bar_base.mark_bar(color=VALUE_COLOR, height={"band": 0.7}).encode(x=x, y=y,
                                                                          tooltip=tooltip),
        bar_base.mark_rule(color="#222222", strokeWidth=1.2).encode(
            x=alt.X("ci_low:Q", scale=x_scale), x2="ci_high:Q", y=y),
        alt.Chart(alt.Data(values=hidden)).mark_text(align="left", dx=4, fontStyle="italic",
                                                     color="#444444")
        .encode(x=alt.X("value:Q", scale=x_scale), y=y, text="display:N"),
    ]
    if all_rec is not None:
        ref = alt.Chart(alt.Data(values=[{**all_rec, "label": f"All: {all_rec['display']}"}]))
        layers.append(ref.mark_rule(color=ALL_COLOR, strokeDash=[4, 3], strokeWidth=2)
                      .encode(x=alt.X("value:Q", scale=x_scale)))
        layers.append(ref.mark_text(align="left", dx=4, baseline="top", color=ALL_COLOR,
                                    fontWeight="bold")
                      .encode(x=alt.X("value:Q", scale=x_scale), y=alt.value(-14),
                              text="label:N"))
    height = max(60, 24 * max(1, len(order)))
    return alt.layer(*layers).properties(
        width=CHART_WIDTH, height=height, description=breakdown_alt_text(rows, measure, place))


def breakdown_alt_text(rows: pd.DataFrame, measure: Measure, place: str | None = None) -> str:
    """Text alternative of a breakdown chart: each group's value, all students, the hidden groups."""
    bars, hidden, all_rec = breakdown_records(rows)
    group_by = next((g for g in rows["group_by"].astype(str) if g != ALL), ALL)
    year = next(iter(rows["school_year"].astype(str)), "")
    where = f" at {place}" if place else ""
    head = f"Bar chart of {measure.title} by {GROUP_BY_LABELS.get(group_by, group_by).lower()}" \
           f"{where}, {year}"
    body = "; ".join(f"{b['group']} {b['display']}" for b in bars) or "no group is published"
    text = f"{head}: {body}."
    if all_rec:
        text += f" All students: {all_rec['display']}."
    if hidden:
        text += " Not shown as bars (fewer than 10 people or no data): " + \
            ", ".join(f"{h['group']} ({h['display']})" for h in hidden) + "."
    return text


def alt_text(chart: alt.TopLevelMixin) -> str:
    """The text alternative a builder of this module wrote into the chart (its description)."""
    desc = getattr(chart, "description", alt.Undefined)
    return "" if desc is alt.Undefined else str(desc)
