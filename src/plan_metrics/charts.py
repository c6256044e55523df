"""Chart builders for the dashboards and exports (DESIGN.md sections 9, 10, 13).

Every builder takes rows of an edition (suppressed aggregates, the results columns of section 8)
and returns an ``alt.Chart`` (or layer); it never displays anything. One Altair theme,
``plan_metrics``, is registered and enabled when this module is imported: a colour-blind-safe
palette (Okabe-Ito), plain fonts, no chart border.

- ``trend_chart``: value by school year with its 95% interval band and the target;
  suppressed years are omitted (and named in the text alternative).
- ``breakdown_chart``: one horizontal bar per student group with its interval, the all-students
  value as a rule; suppressed groups are NOT drawn as bars, they are listed with their "not shown" text.
- ``alt_text(chart)``: the text alternative each builder wrote into the chart's ``description``
  (Vega-Lite puts it on the SVG as its aria label); ``trend_alt_text`` / ``breakdown_alt_text``
  build it from the rows directly.
- ``STATUS_COLORS``: one colour per status word (the word is always shown too).
"""

from __future__ import annotations

import json
import math
import textwrap
from typing import Any

import altair as alt
import pandas as pd

from . import texts
from .plan import Measure
from .results import ALL, DISTRICT

#: Okabe-Ito, the colour-blind-safe qualitative palette (Okabe & Ito 2008), black last.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000"]
VALUE_COLOR = "#0072B2"     # blue: the measure's values
TARGET_COLOR = "#000000"    # black, dashed: the target
ALL_COLOR = "#D55E00"       # vermillion: the all-students reference rule

#: Status word -> colour, Okabe-Ito hues, one per word (the word is always written on it too,
#: ``status_text_color``): reached = bluish green, on its way = sky blue, partway = orange, behind
#: = vermillion; without a target: better = blue, worse = reddish purple, unclear = greys. Every
#: hue differs from every other so that "off track" / "declining" and "met" / "improving" are
#: told apart, also by colour-blind readers (hue and lightness both differ).
STATUS_COLORS: dict[str, str] = {
    "met": "#009E73",
    "on track": "#56B4E9",
    "progressing": "#E69F00",
    "off track": "#D55E00",
    "improving": "#0072B2",
    "no clear change": "#BBBBBB",
    "declining": "#CC79A7",
    "not enough data": "#E4E4E4",
}


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of a '#rrggbb' colour."""
    c = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def text_color_on(color: str) -> str:
    """Black or white, whichever contrasts more with ``color`` (WCAG contrast ratio)."""
    lum = relative_luminance(color)
    return "#FFFFFF" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) else "#000000"


def status_text_color(status: str) -> str:
    """Black or white, whichever contrasts more with the status colour (WCAG contrast ratio)."""
    return text_color_on(STATUS_COLORS.get(status, "#BBBBBB"))


#: One colour per action-step status (Okabe-Ito; the word is always written on it too).
STEP_COLORS: dict[str, str] = {
    "complete": "#009E73",
    "in_progress": "#56B4E9",
    "not_started": "#E4E4E4",
    "discontinued": "#CC79A7",
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
            # marks and axes out of the accessibility tree: the SVG's own label is the chart's
            # text alternative (its description) and a data table sits beside every chart; an
            # empty layer (a filtered-out rule) would otherwise be an unnamed graphics-symbol
            "mark": {"aria": False},
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
    """A number as board text in its unit (0.784 -> '78%', -12.3 points -> '-12.3 pts'); the words
    are privacy.format_value's, so charts, cards and exports read the same."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    from .privacy import format_value as _format
    return _format(value, unit)


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


def _group_order(group_by: str, group: str) -> int:
    codes = list(_VALUE_LABELS.get(group_by, {}))
    g = str(group).lower()
    return codes.index(g) if g in codes else len(codes)


def records(rows: pd.DataFrame | list[dict]) -> list[dict]:
    """Results rows -> plain JSON records for the charts (None for missing; label, order, published).

    A list of records passes through unchanged, so callers can convert once and reuse.
    """
    if isinstance(rows, list):
        return rows
    out = []
    for r in rows.itertuples(index=False):
        value = None if r.suppressed else _num(r.value)
        out.append({
            "building_id": str(r.building_id), "group_by": str(r.group_by),
            "group": str(r.group), "label": group_label(str(r.group_by), str(r.group)),
            "order": _group_order(str(r.group_by), str(r.group)),
            "school_year": str(r.school_year), "value": value,
            "ci_low": None if value is None else _num(r.ci_low),
            "ci_high": None if value is None else _num(r.ci_high),
            "display": str(r.display) if not (r.display is None or r.display is pd.NA)
            else "no data",
            "published": value is not None, "zero": 0.0,
        })
    return out


def _default(recs: list[dict], key: str, prefer=None, pick=max):
    vals = {r[key] for r in recs}
    if prefer is not None and prefer in vals:
        return prefer
    return pick(vals) if vals else None


# ---- trend ----------------------------------------------------------------------------------

def trend_selection(rows, select: dict | None = None) -> dict:
    """The building and year a trend shows: ``select`` filled in from the rows (district, last year)."""
    recs = records(rows)
    sel = dict(select or {})
    sel.setdefault("building", _default(recs, "building_id", DISTRICT, min) or DISTRICT)
    sel.setdefault("year", _default(recs, "school_year") or "")
    return sel


def trend_points(rows, select: dict | None = None) -> tuple[list[dict], list[str]]:
    """(published points sorted by year, years not shown) of the trend at the selection."""
    sel = trend_selection(rows, select)
    recs = [r for r in records(rows) if r["building_id"] == sel["building"]
            and r["group_by"] == ALL and r["school_year"] <= sel["year"]]
    recs.sort(key=lambda r: r["school_year"])
    return ([r for r in recs if r["published"]],
            [r["school_year"] for r in recs if not r["published"]])


def compares_groups(measure: Measure) -> bool:
    """A measure whose value compares groups (risk ratio, proficiency gap): no all-students value."""
    return measure.kind == "risk_ratio" or (
        measure.kind == "proficiency" and getattr(measure.spec, "statistic", "") == "gap")


def parity(measure: Measure) -> float | None:
    """The value of no disparity: 1 for a risk ratio, 0 for a gap; None for other measures."""
    if not compares_groups(measure) and measure.direction not in ("toward_one", "toward_zero"):
        return None
    return 1.0 if measure_unit(measure) == "ratio" else 0.0


def value_domain(recs: list[dict], unit: str, extra=()) -> list[float]:
    """An explicit axis domain covering every published value and interval of ``recs`` and the
    ``extra`` values (target, parity), padded by a tenth of the range. Explicit, so that a chart
    whose filter leaves a layer empty never makes Vega compute an infinite extent, and zoomed, so a
    4% rate is not a flat line at the bottom of 0-100% (the axis labels show where it starts)."""
    vals = [v for r in recs for v in (r.get("value"), r.get("ci_low"), r.get("ci_high"))
            if r.get("published") and v is not None and math.isfinite(v)]
    vals += [float(x) for x in extra if x is not None]
    if not vals:
        return [0.0, 1.0] if unit == "percent" else [0.0, 1.0]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 0.01)
    lo, hi = lo - pad, hi + pad
    if unit == "percent":
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    if unit in ("ratio", "per_100", "hours", "index") and lo < 0 <= min(vals):
        lo = 0.0
    return [lo, hi]


def _target(measure: Measure, status_row: dict | None) -> tuple[float | None, str | None]:
    value = _num((status_row or {}).get("target_value"))
    year = (status_row or {}).get("target_year")
    if value is None and measure.target is not None:
        value, year = measure.target.value, measure.target.year
    if year is pd.NA or (isinstance(year, float) and math.isnan(year)):
        year = None
    return value, (str(year) if year else None)


def trend_chart(history: pd.DataFrame | list[dict], measure: Measure,
                status_row: dict | None = None, place: str | None = None, *,
                select: dict | None = None, description: str | None = None) -> alt.LayerChart:
    """Line and points of a measure's value by school year, its 95% interval band and its target.

    ``history``: results rows of one measure for all students (group_by 'all') across years, at
    one building -- or at several, with ``select={'building': ..., 'year': ...}`` choosing which
    (the chart then carries Vega-Lite params ``building`` and ``year``, so a dashboard changes
    them in place without rebuilding). Only years up to ``year`` are drawn; suppressed years are
    omitted. ``status_row``: the status row (target_value, target_year, status...) or None; the
    target is a dashed rule with a diamond at its year. The text alternative is the chart's
    ``description``.
    """
    unit = measure_unit(measure)
    sel = trend_selection(history, select)
    target_value, target_year = _target(measure, status_row)
    x = alt.X("school_year:O", title="School year", axis=alt.Axis(labelAngle=0))
    building = alt.param(name="building", value=sel["building"])
    year = alt.param(name="year", value=sel["year"])
    if compares_groups(measure):
        return _disparity_trend(history, measure, sel, target_value, target_year, description,
                                place)
    recs = [r for r in records(history) if r["group_by"] == ALL and r["published"]]
    y_scale = alt.Scale(domain=value_domain(recs, unit, [target_value]), nice=False)
    y = alt.Y("value:Q", title=axis_title(unit), scale=y_scale,
              axis=alt.Axis(format=axis_format(unit), tickCount=5))
    tooltip = [alt.Tooltip("school_year:O", title="Year"), alt.Tooltip("display:N", title="Value")]
    base = alt.Chart(alt.Data(values=recs)).transform_filter(
        "datum.building_id == building && datum.school_year <= year")
    layers = [
        base.mark_area(opacity=0.18, color=VALUE_COLOR).encode(
            x=x, y=alt.Y("ci_low:Q", scale=y_scale), y2="ci_high:Q"),
        base.mark_line(color=VALUE_COLOR).encode(x=x, y=y),
        base.mark_point(filled=True, size=60, color=VALUE_COLOR, opacity=1).encode(
            x=x, y=y, tooltip=tooltip),
    ]
    if target_value is not None:
        tbase = alt.Chart(alt.Data(values=[{
            "school_year": target_year or "", "value": target_value,
            "label": f"Target {format_value(target_value, unit)}"
                     + (f" ({target_year})" if target_year else "")}]))
        layers.append(tbase.mark_rule(color=TARGET_COLOR, strokeDash=[5, 4], strokeWidth=1.5)
                      .encode(y=alt.Y("value:Q", scale=y_scale)))
        if target_year:
            layers.append(tbase.mark_point(shape="diamond", size=90, filled=True, opacity=1,
                                           color=TARGET_COLOR).encode(x=x, y=alt.Y("value:Q")))
        layers.append(tbase.mark_text(align="left", dy=-8, color=TARGET_COLOR).encode(
            x=alt.value(2), y=alt.Y("value:Q"), text="label:N"))
    return alt.layer(*layers).add_params(building, year).properties(
        width=CHART_WIDTH, height=CHART_HEIGHT,
        description=description or trend_alt_text(history, measure, status_row, place,
                                                  select=sel))


def _disparity_trend(history, measure: Measure, sel: dict, target_value, target_year,
                     description: str | None, place: str | None) -> alt.LayerChart:
    """The trend of a measure that compares groups: one line per group of the chosen student
    column (Vega-Lite param ``group_by``) over the years, a hidden year a gap in its line (not a
    zero), a solid rule at parity and the target as a dashed rule."""
    unit = measure_unit(measure)
    recs = [r for r in records(history) if r["group_by"] != ALL]
    par = parity(measure)
    extra = [par, target_value]
    if unit == "ratio" and target_value is not None:
        extra.append(1 / target_value if target_value else None)
    y_scale = alt.Scale(domain=value_domain(recs, unit, extra), nice=False)
    x = alt.X("school_year:O", title="School year", axis=alt.Axis(labelAngle=0))
    title = "Risk ratio (group vs all others)" if unit == "ratio" else axis_title(unit)
    y = alt.Y("value:Q", title=title, scale=y_scale,
              axis=alt.Axis(format=axis_format(unit), tickCount=5))
    color = alt.Color("label:N", title="Group", scale=alt.Scale(range=OKABE_ITO),
                      legend=alt.Legend(orient="right", labelLimit=120))
    params = [alt.param(name="building", value=sel["building"]),
              alt.param(name="year", value=sel["year"]),
              alt.param(name="group_by", value=sel.get("group_by") or ALL)]
    base = alt.Chart(alt.Data(values=recs)).transform_filter(
        "datum.building_id == building && datum.school_year <= year && datum.group_by == group_by")
    tooltip = [alt.Tooltip("label:N", title="Group"), alt.Tooltip("school_year:O", title="Year"),
               alt.Tooltip("display:N", title="Value")]
    layers = [
        alt.Chart(alt.Data(values=[{"p": par, "label": texts_parity()}])).mark_rule(
            color="#555555", strokeWidth=1.5).encode(y=alt.Y("p:Q", scale=y_scale)),
        base.mark_line(invalid="break-paths-filter-domains").encode(x=x, y=y, color=color, detail="group:N"),
        base.transform_filter("datum.published").mark_point(filled=True, size=45, opacity=1)
        .encode(x=x, y=y, color=color, tooltip=tooltip),
    ]
    if target_value is not None:
        layers.append(alt.Chart(alt.Data(values=[{"t": target_value}])).mark_rule(
            color=TARGET_COLOR, strokeDash=[5, 4], strokeWidth=1.2).encode(
            y=alt.Y("t:Q", scale=y_scale)))
    return alt.layer(*layers).add_params(*params).properties(
        width=CHART_WIDTH - 60, height=CHART_HEIGHT,
        description=description or f"Trend of {measure.title} by group.")


def texts_parity() -> str:
    """The words of the parity line ('1 = parity ...')."""
    return texts.text("disparity.parity")


def trend_alt_text(history: pd.DataFrame | list[dict], measure: Measure,
                   status_row: dict | None = None, place: str | None = None, *,
                   select: dict | None = None) -> str:
    """Text alternative of a trend chart: every plotted year, the target, the omitted years."""
    unit = measure_unit(measure)
    pts, hidden = trend_points(history, select)
    where = f" for {place}" if place else ""
    if not pts:
        text = f"{measure.title}{where}: no published value in any year."
    else:
        body = "; ".join(
            f"{r['school_year']} {r['display']}"
            + (f" (95% interval {format_value(r['ci_low'], unit)} to "
               f"{format_value(r['ci_high'], unit)})"
               if r["ci_low"] is not None and r["ci_high"] is not None else "")
            for r in pts)
        text = (f"Line chart of {measure.title}{where}, {pts[0]['school_year']} to "
                f"{pts[-1]['school_year']}: {body}.")
    target_value, target_year = _target(measure, status_row)
    if target_value is not None:
        text += f" Target: {format_value(target_value, unit)}" + (
            f" by {target_year}." if target_year else ".")
    if status_row and status_row.get("status"):
        text += f" Status: {status_row['status']}."
    if hidden:
        text += " " + texts.fill("legend.hidden_list", items=", ".join(hidden))
    return text


# ---- breakdown ------------------------------------------------------------------------------

def breakdown_selection(rows, select: dict | None = None) -> dict:
    """The building, year and group_by a breakdown shows (``select`` filled in from the rows)."""
    recs = records(rows)
    sel = dict(select or {})
    sel.setdefault("building", _default(recs, "building_id", DISTRICT, min) or DISTRICT)
    sel.setdefault("year", _default(recs, "school_year") or "")
    groups = [r["group_by"] for r in recs if r["group_by"] != ALL]
    sel.setdefault("group_by", groups[0] if groups else ALL)
    return sel


def breakdown_parts(rows, select: dict | None = None
                    ) -> tuple[list[dict], list[dict], dict | None]:
    """(published groups, suppressed or empty groups, the all-students record) at the selection."""
    sel = breakdown_selection(rows, select)
    here = [r for r in records(rows) if r["building_id"] == sel["building"]
            and r["school_year"] == sel["year"]]
    groups = sorted((r for r in here if r["group_by"] == sel["group_by"] != ALL),
                    key=lambda r: (r["order"], r["label"]))
    all_rec = next((r for r in here if r["group_by"] == ALL and r["published"]), None)
    return ([r for r in groups if r["published"]], [r for r in groups if not r["published"]],
            all_rec)


def breakdown_chart(rows: pd.DataFrame | list[dict], measure: Measure, place: str | None = None,
                    *, select: dict | None = None, description: str | None = None
                    ) -> alt.LayerChart:
    """Horizontal bars of a measure by student group for one year and building.

    ``rows``: results rows of one measure, year and building for one group_by (with the
    all-students row, drawn as a dashed rule, if present) -- or rows of several buildings, years
    and group_bys with ``select={'building', 'year', 'group_by'}`` choosing (Vega-Lite params of
    those names, changeable in place). Suppressed groups get NO bar: their display text
    ("not shown") is written at the zero line instead.
    """
    unit = measure_unit(measure)
    sel = breakdown_selection(rows, select)
    recs = records(rows)
    params = [alt.param(name="building", value=sel["building"]),
              alt.param(name="year", value=sel["year"]),
              alt.param(name="group_by", value=sel["group_by"])]
    here = "datum.building_id == building && datum.school_year == year"
    par = parity(measure)
    x_scale = alt.Scale(domain=value_domain(recs, unit, [par, 0.0 if par is None else None]),
                        nice=False)
    x = alt.X("value:Q", title=axis_title(unit), scale=x_scale,
              axis=alt.Axis(format=axis_format(unit), tickCount=5))
    y = alt.Y("label:N", title=None, sort=alt.EncodingSortField("order", op="min"),
              axis=alt.Axis(labelLimit=170))
    tooltip = [alt.Tooltip("label:N", title="Group"), alt.Tooltip("display:N", title="Value")]
    base = alt.Chart().transform_filter(f"{here} && datum.group_by == group_by")
    ref = alt.Chart().transform_filter(f"{here} && datum.group_by == 'all' && datum.published")
    pub = base.transform_filter("datum.published")
    # a disparity is a distance from parity, not an amount from zero: a dot and its interval
    mark = (pub.mark_point(filled=True, size=70, color=VALUE_COLOR, opacity=1) if par is not None
            else pub.mark_bar(color=VALUE_COLOR))
    layers = [
        mark.encode(x=x, y=y, tooltip=tooltip),
        base.transform_filter("datum.published && datum.ci_low != null").mark_rule(
            color="#222222", strokeWidth=1.2).encode(x=alt.X("ci_low:Q", scale=x_scale),
                                                     x2="ci_high:Q", y=y),
        base.transform_filter("!datum.published").transform_calculate(
            pos=str(x_scale.domain[0])).mark_text(
            align="left", dx=4, fontStyle="italic", color="#444444").encode(
            x=alt.X("pos:Q", scale=x_scale), y=y, text="display:N"),
        ref.mark_rule(color=ALL_COLOR, strokeDash=[4, 3], strokeWidth=2).encode(
            x=alt.X("value:Q", scale=x_scale)),
        ref.transform_calculate(text="'All: ' + datum.display").mark_text(
            align="left", dx=4, baseline="top", color=ALL_COLOR, fontWeight="bold").encode(
            x=alt.X("value:Q", scale=x_scale), y=alt.value(-14), text="text:N"),
    ]
    if par is not None:
        layers.append(alt.Chart(alt.Data(values=[{"p": par}])).mark_rule(
            color="#555555", strokeWidth=1.5).encode(x=alt.X("p:Q", scale=x_scale)))
    return alt.layer(*layers, data=alt.Data(values=recs)).add_params(*params).properties(
        width=CHART_WIDTH, height=alt.Step(24),
        description=description or breakdown_alt_text(rows, measure, place, select=sel))


def breakdown_alt_text(rows: pd.DataFrame | list[dict], measure: Measure,
                       place: str | None = None, *, select: dict | None = None) -> str:
    """Text alternative of a breakdown chart: each group's value, all students, hidden groups."""
    sel = breakdown_selection(rows, select)
    bars, hidden, all_rec = breakdown_parts(rows, sel)
    where = f" at {place}" if place else ""
    head = (f"Bar chart of {measure.title} by "
            f"{GROUP_BY_LABELS.get(sel['group_by'], sel['group_by']).lower()}{where}, "
            f"{sel['year']}")
    body = "; ".join(f"{b['label']} {b['display']}" for b in bars) or "no group is published"
    text = f"{head}: {body}."
    if all_rec:
        text += f" All students: {all_rec['display']}."
    if hidden:
        text += " " + texts.fill("legend.hidden_list", items=", ".join(
            f"{h['label']} ({h['display']})" for h in hidden))
    return text


def alt_text(chart: alt.TopLevelMixin) -> str:
    """The text alternative a builder of this module wrote into the chart (its description)."""
    desc = getattr(chart, "description", alt.Undefined)
    return "" if desc is alt.Undefined else str(desc)


# ---- equity review and action plan ---------------------------------------------------------

def disparity_trend_chart(rows: pd.DataFrame | list[dict], measure: Measure, characteristic: str,
                          high: float | None = None, low: float | None = None) -> alt.LayerChart:
    """Each group's disparity (risk ratio, or gap in points) by school year for one measure and one
    student characteristic, with the review's thresholds as dashed rules.

    ``rows``: records or a frame with school_year, group, disparity, display (see
    dashboard.equity_cells.disparities). Groups without a disparity in a year are omitted that year.
    """
    recs = rows if isinstance(rows, list) else rows.to_dict("records")
    recs = [{"school_year": str(r["school_year"]), "label": group_label(characteristic, r["group"]),
             "disparity": _num(r["disparity"]), "display": str(r["display"])}
            for r in recs if _num(r["disparity"]) is not None]
    ratio = measure_unit(measure) == "ratio"
    title = "Risk ratio (group vs all others)" if ratio else "Gap (percentage points)"
    x = alt.X("school_year:O", title="School year", axis=alt.Axis(labelAngle=0))
    y = alt.Y("disparity:Q", title=title,
              scale=alt.Scale(type="log") if ratio else alt.Scale(zero=True))
    color = alt.Color("label:N", title=GROUP_BY_LABELS.get(characteristic, characteristic),
                      scale=alt.Scale(range=OKABE_ITO))
    base = alt.Chart(alt.Data(values=recs))
    layers = [base.mark_line(point=alt.OverlayMarkDef(filled=True, size=60)).encode(
        x=x, y=y, color=color, tooltip=[alt.Tooltip("label:N", title="Group"),
                                        alt.Tooltip("school_year:O", title="Year"),
                                        alt.Tooltip("display:N", title="Value")])]
    for t in (high, low):
        if t is not None:
            layers.append(alt.Chart(alt.Data(values=[{"t": t}])).mark_rule(
                color=TARGET_COLOR, strokeDash=[5, 4]).encode(y="t:Q"))
    desc = (f"Line chart of {measure.title} by {GROUP_BY_LABELS.get(characteristic, characteristic).lower()}: "
            + "; ".join(f"{r['label']} {r['school_year']} {r['display']}" for r in recs) + "."
            + (f" Flag thresholds: {', '.join(str(t) for t in (high, low) if t is not None)}."
               if high is not None or low is not None else ""))
    return alt.layer(*layers).properties(width=CHART_WIDTH + 120, height=CHART_HEIGHT,
                                         description=desc)


def completion_chart(rows: pd.DataFrame | list[dict]) -> alt.LayerChart:
    """Horizontal bars of action-step completion (share complete) per goal or objective; suppressed
    rows get no bar, their display text instead. ``rows``: records with label, value, display."""
    recs = rows if isinstance(rows, list) else rows.to_dict("records")
    recs = [{"label": str(r["label"]), "value": _num(r["value"]), "display": str(r["display"]),
             "order": i} for i, r in enumerate(recs)]
    # whole labels (a goal's full statement), wrapped onto lines of ~42 characters, never cut
    lines = {r["label"]: textwrap.wrap(r["label"], 42) or [""] for r in recs}
    tallest = max((len(v) for v in lines.values()), default=1)
    x_scale = alt.Scale(domain=[0, 1])
    expr = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in lines.items()) + "}"
    y = alt.Y("label:N", title=None, sort=alt.EncodingSortField("order", op="min"),
              axis=alt.Axis(labelLimit=0, labelExpr=f"{expr}[datum.value] || datum.label"))
    base = alt.Chart(alt.Data(values=recs))
    bars = base.transform_filter("datum.value != null").mark_bar(color=VALUE_COLOR).encode(
        x=alt.X("value:Q", title="Action steps complete", scale=x_scale,
                axis=alt.Axis(format=".0%")), y=y,
        tooltip=[alt.Tooltip("label:N", title="Part"), alt.Tooltip("display:N", title="Complete")])
    labels = base.transform_calculate(pos="datum.value != null ? datum.value : 0").mark_text(
        align="left", dx=4).encode(x=alt.X("pos:Q", scale=x_scale), y=y, text="display:N")
    desc = "Bar chart of action steps complete: " + "; ".join(
        f"{r['label']} {r['display']}" for r in recs) + "."
    return alt.layer(bars, labels).properties(width=CHART_WIDTH + 100,
                                              height=alt.Step(max(22, 14 * tallest + 8)),
                                              description=desc)
