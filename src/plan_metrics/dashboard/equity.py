"""The Policy ACIB equity review dashboard (DESIGN.md section 7, seed 003): equity.ipynb.

A matrix of data category (the plan's goals EQ1..EQ10 and their measures) x student characteristic:
in each cell the largest disparity among the characteristic's groups for the latest year and the two
before it, side by side; a cell beyond the review's thresholds (risk ratio above ``risk_ratio_high``
or below ``risk_ratio_low``; a gap wider than ``gap_points``) is flagged with the word "flagged" and
a colour. A chart shows the three-year trend of every group's disparity for one chosen cell.

Disparity by unit: a risk ratio is the edition's value (group vs all other students); a gap in points
is the edition's value; a percentage (survey share, retention) becomes the gap in points between the
group and all other students (the row's comparison_value), or the all-students row when the edition
has no comparison.
"""

from __future__ import annotations

import html
import math

import ipywidgets as W
import pandas as pd

from .. import charts, texts
from ..errors import PlanMetricsError
from ..texts import fill
from ..privacy import format_value
from ..plan import Measure
from ..results import ALL, DISTRICT
from .data import PlanData, published_plans, reports_dir
from .page_title import page_title
from .style import CSS, table_html
from .widgets import new_chart, show_page

PLAN_ID = "equity-review"
#: The word "flagged": a darker vermilion, 5.3:1 on the flagged cell's #FBE3D6 (WCAG 1.4.3).
FLAG_COLOR = "#A04000"


def _f(x) -> float | None:
    if x is None or x is pd.NA:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def disparities(results: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Per school year and student group of a measure (district rows): the disparity and its text.

    Columns: school_year, group_by, group, disparity, display. Suppressed or empty cells have
    disparity None (their display says why).
    """
    unit = charts.measure_unit(measure)
    rows = results[(results["measure_id"] == measure.id) & (results["building_id"] == DISTRICT)]
    all_rows = {r["school_year"]: _f(r["value"]) for r in rows[rows["group_by"] == ALL]
                .to_dict("records")}
    out = []
    for r in rows[rows["group_by"] != ALL].to_dict("records"):
        v = None if r["suppressed"] else _f(r["value"])
        if v is None:
            out.append({**_key(r), "disparity": None, "display": str(r["display"])})
            continue
        if unit == "percent":
            ref = _f(r["comparison_value"])
            ref = all_rows.get(r["school_year"]) if ref is None else ref
            if ref is None:
                out.append({**_key(r), "disparity": None, "display": "no comparison"})
                continue
            d = (v - ref) * 100
            out.append({**_key(r), "disparity": d, "display": format_value(d, "points")})
        elif unit == "ratio":
            out.append({**_key(r), "disparity": v, "display": format_value(v, "ratio")})
        else:
            out.append({**_key(r), "disparity": v, "display": format_value(v, "points")})
    # measures reported for the district only (e.g. staff vs students gaps): the 'all' row itself
    if not out and unit == "points":
        for yr, v in all_rows.items():
            out.append({"school_year": yr, "group_by": ALL, "group": ALL, "disparity": v,
                        "display": "no value" if v is None else format_value(v, "points")})
    return pd.DataFrame(out, columns=["school_year", "group_by", "group", "disparity", "display"])


def _key(r) -> dict:
    return {"school_year": str(r["school_year"]), "group_by": str(r["group_by"]),
            "group": str(r["group"])}


def flagged(disparity: float | None, unit: str, review) -> bool:
    """True where a disparity is beyond the review's thresholds."""
    if disparity is None:
        return False
    if unit == "ratio":
        return disparity > review.risk_ratio_high or disparity < review.risk_ratio_low
    return abs(disparity) > review.gap_points


def extreme(d: pd.DataFrame, unit: str) -> dict | None:
    """The row of the largest disparity (|log RR| for ratios, |gap| otherwise), or None."""
    d = d[d["disparity"].notna()]
    if d.empty:
        return None
    size = d["disparity"].astype(float).map(
        lambda x: abs(math.log(x)) if unit == "ratio" and x > 0 else abs(x))
    return d.loc[size.idxmax()].to_dict()


class EquityApp:
    """The review matrix for one reports folder; ``root`` is the widget to display."""

    def __init__(self, reports=None):
        self.reports = reports_dir() if reports is None else reports
        if PLAN_ID not in published_plans(self.reports):
            raise PlanMetricsError("No published edition of the equity review",
                                   str(self.reports),
                                   f"run 'plan-metrics run --plan {PLAN_ID} --data DIR --years all'"
                                   " first, then reopen this page")
        self.data = PlanData(self.reports, PLAN_ID)
        self.review = self.data.plan.review
        self.measures = [(g, m) for g in self.data.plan.goals for _, m in
                         self.data.goal_measures(g.id)]
        self._disp = {m.id: disparities(self.data.results, m) for _, m in self.measures}
        lab = {"description_width": "initial"}
        self.w_year = W.Dropdown(description="Latest year", options=list(reversed(self.data.years)),
                                 style=lab)
        self.w_measure = W.Dropdown(description="Trend of", style=lab,
                                    options=[(f"{g.id}: {m.title}", m.id)
                                             for g, m in self.measures],
                                    layout=W.Layout(width="auto"))
        chars = [c for c in self.review.characteristics]
        self.w_char = W.Dropdown(description="by", style=lab,
                                 options=[(charts.GROUP_BY_LABELS.get(c, c), c) for c in chars])
        self.header = W.HTML()
        self.matrix = W.HTML()
        self.chart = new_chart()
        self.chart_text = W.HTML()
        for w in (self.w_year, self.w_measure, self.w_char):
            w.observe(lambda _: self.render(), names="value")
        self.root = W.VBox([page_title(fill("home.equity", plan=self.data.plan.title)),
                            W.HTML(CSS), self.header, W.HBox([self.w_year]), self.matrix,
                            W.HBox([self.w_measure, self.w_char]), self.chart, self.chart_text])
        self.root.add_class("pm-board")
        self.render()

    def years(self) -> list[str]:
        ys = [y for y in self.data.years if y <= self.w_year.value]
        return ys[-self.review.years_side_by_side:]

    def render(self) -> None:
        p, r = self.data.plan, self.review
        synth = ('<p class="pm-synthetic" role="note"><strong>Synthetic demo data:</strong> '
                 'generated district, not real students.</p>' if self.data.synthetic else "")
        self.header.value = (
            f'<header class="pm-header"><h1>{html.escape(p.title)}</h1>{synth}'
            f'<p>Disparity by student characteristic, {", ".join(self.years())} side by side. '
            f'Flagged: a risk ratio above {r.risk_ratio_high:g} or below {r.risk_ratio_low:g}, or a '
            f'gap wider than {r.gap_points:g} percentage points. '
            f'{html.escape(texts.fill("legend.hidden", min_n=self.data.min_n))}</p></header>')
        self.matrix.value = self.matrix_html()
        self.render_trend()

    def cell(self, measure: Measure, characteristic: str, year: str) -> tuple[str, bool]:
        """(text, flagged) of one matrix cell for one year."""
        unit = charts.measure_unit(measure)
        d = self._disp[measure.id]
        d = d[(d["school_year"] == year) & (d["group_by"].isin([characteristic, ALL]))]
        if characteristic != ALL:
            d = d[d["group_by"] == characteristic]
        top = extreme(d, unit)
        if top is None:
            return ("no published group" if len(d) else "not reported"), False
        who = "staff vs students" if top["group_by"] == ALL else \
            charts.group_label(characteristic, top["group"])
        return f"{who} {top['display']}", flagged(top["disparity"], unit, self.review)

    def matrix_html(self) -> str:
        years = self.years()
        chars = list(self.review.characteristics)
        head = "".join(f'<th scope="col">{html.escape(charts.GROUP_BY_LABELS.get(c, c))}</th>'
                       for c in chars)
        body = []
        for g in self.data.plan.goals:
            ms = [m for gg, m in self.measures if gg.id == g.id]
            if not ms:
                notes = "; ".join(o.note or "" for o in g.outcomes if o.note)
                body.append(f'<tr><th scope="row">{html.escape(g.id)}: {html.escape(g.statement)}'
                            f'</th><td colspan="{len(chars)}">{html.escape(notes or "reviewed qualitatively")}'
                            f'</td></tr>')
                continue
            for m in ms:
                district_only = self._disp[m.id]["group_by"].eq(ALL).all() and \
                    len(self._disp[m.id])
                cells = []
                for c in ([ALL] if district_only else chars):
                    lines = []
                    any_flag = False
                    for y in years:
                        text, flag = self.cell(m, c, y)
                        any_flag |= flag
                        mark = (f' <strong class="pm-flag" style="color:{FLAG_COLOR}">flagged'
                                f'</strong>' if flag else "")
                        lines.append(f'<div><span class="pm-year">{html.escape(y)}</span>: '
                                     f'{html.escape(text)}{mark}</div>')
                    style = ' style="background:#FBE3D6"' if any_flag else ""
                    span = f' colspan="{len(chars)}"' if district_only else ""
                    cells.append(f'<td{style}{span} data-measure="{html.escape(m.id)}" '
                                 f'data-characteristic="{html.escape(c)}">{"".join(lines)}</td>')
                body.append(f'<tr><th scope="row">{html.escape(g.id)}: {html.escape(m.title)}</th>'
                            f'{"".join(cells)}</tr>')
        return (f'<table class="pm-table pm-equity" aria-label="Equity review matrix"><thead><tr>'
                f'<th scope="col">Data category</th>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>')

    def render_trend(self) -> None:
        m = self.data.measures[self.w_measure.value]
        c = self.w_char.value
        d = self._disp[m.id]
        d = d[d["school_year"].isin(self.years()) & d["group_by"].isin([c, ALL])]
        r = self.review
        ratio = charts.measure_unit(m) == "ratio"
        chart = charts.disparity_trend_chart(
            d, m, c, high=r.risk_ratio_high if ratio else r.gap_points,
            low=r.risk_ratio_low if ratio else -r.gap_points)
        self.chart.spec = chart.to_dict(validate=False)
        rows = [(charts.group_label(c, x["group"]), x["school_year"], x["display"])
                for x in d.sort_values(["group", "school_year"]).to_dict("records")]
        self.chart_text.value = (
            f'<details class="pm-details" data-kind="equity-trend"><summary>Text description and '
            f'data table</summary><p class="pm-alt">{html.escape(charts.alt_text(chart))}</p>'
            f'{table_html(("Group", "School year", "Disparity"), rows, "equity-trend")}</details>')


def equity_page(reports=None) -> EquityApp | None:
    """Build and display the equity review dashboard (one clear message if nothing is published)."""
    return show_page(lambda: EquityApp(reports))
