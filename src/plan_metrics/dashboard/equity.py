"""The Policy ACIB equity review dashboard (DESIGN.md sections 7 and 9, seed 003): equity.ipynb.

A heatmap of data category (the plan's goals EQ1..EQ10 and their measures) x student
characteristic, the latest year and the two before it side by side. Each cell follows ONE group
across the years (equity_cells.row_group: the group farthest from parity in the latest year, ranked
by its interval's end nearest parity) and says its name once; each year is a box coloured by how far
the disparity is beyond the review's threshold (a risk ratio above ``risk_ratio_high`` or below
``risk_ratio_low``; a gap wider than ``gap_points``), with its value and the word "flagged" (the
whole interval beyond the threshold) or "flagged, uncertain" (the value only). A hidden cell is a
grey box that says "not shown", never a number. A chart shows the trend of every group of one
chosen cell; deep links ``?year=2023-24&measure=EQ7-suspension-rr&by=race_ethnicity``.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

import ipywidgets as W

from .. import charts, texts
from ..charts import text_color_on
from ..errors import PlanMetricsError
from ..plan import Measure
from ..results import ALL
from ..texts import fill, text
from . import state
from .data import PlanData, published_plans, reports_dir
from .equity_cells import (HIDDEN_COLOR, LEVELS, _f, disparities, flag, level, row_group,
                           severity)
from .page_title import page_title
from .style import CSS, table_html
from .widgets import new_chart, show_page

PLAN_ID = "equity-review"
KEYS = ("year", "measure", "by")

HEAT_CSS = """<style>
.pm-heat { border-collapse: collapse; font-size: 12px; width: 100%; table-layout: fixed; }
.pm-heat caption { text-align: left; font-size: 13px; color: #333; padding: 0 0 4px; }
.pm-heat th, .pm-heat td { border: 1px solid #d0d7de; padding: 2px 3px; vertical-align: top; }
.pm-heat thead th { text-align: center; }
.pm-heat th[scope=row] { text-align: left; font-weight: normal; width: 230px; }
.pm-heat .pm-eq-who { font-weight: bold; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.pm-heat .pm-eq-who a { color: #0060A0; }
.pm-eq-years { display: flex; gap: 2px; }
.pm-eq-y { flex: 1 1 0; border-radius: 3px; padding: 1px 2px; text-align: center; line-height: 1.2;
  min-height: 30px; }
.pm-eq-y.pm-eq-uncertain { outline: 2px dashed #555; outline-offset: -2px; }
.pm-eq-y.pm-eq-flagged { outline: 2px solid #222; outline-offset: -2px; }
.pm-eq-y small { display: block; font-size: 10px; font-weight: bold; }
.pm-eq-years-head { display: flex; gap: 2px; font-weight: normal; font-size: 10px; color: #444; }
.pm-eq-years-head span { flex: 1 1 0; }
.pm-heat-legend { display: flex; flex-wrap: wrap; gap: 10px; font-size: 12px; margin: 4px 0; }
.pm-heat-legend span.sw { display: inline-block; width: 14px; height: 14px; border: 1px solid #999;
  vertical-align: middle; margin-right: 3px; }
.pm-sr { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
</style>"""


def _esc(x) -> str:
    return html.escape(str(x))


class EquityApp:
    """The review heatmap for one reports folder; ``root`` is the widget to display."""

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
        self.notices: list[str] = []
        self._busy = False
        lab = {"description_width": "initial"}
        self.w_year = W.Dropdown(description="Latest year", options=list(reversed(self.data.years)),
                                 style=lab)
        self.w_measure = W.Dropdown(description="Trend of", style=lab,
                                    options=[(f"{g.id}: {m.title}", m.id)
                                             for g, m in self.measures],
                                    layout=W.Layout(width="auto"))
        chars = list(self.review.characteristics)
        self.w_char = W.Dropdown(description="by", style=lab,
                                 options=[(charts.GROUP_BY_LABELS.get(c, c), c) for c in chars])
        self.header = W.HTML()
        self.matrix = W.HTML()
        self.chart = new_chart()
        self.chart_text = W.HTML()
        for w in (self.w_year, self.w_measure, self.w_char):
            w.observe(self._on_change, names="value")
        self.root = W.VBox([page_title(fill("home.equity", plan=self.data.plan.title)),
                            W.HTML(CSS + HEAT_CSS), self.header, W.HBox([self.w_year]),
                            self.matrix, W.HBox([self.w_measure, self.w_char]), self.chart,
                            self.chart_text])
        self.root.add_class("pm-board")
        self.render()

    # ---- filters and deep links ---------------------------------------------------------------
    def _on_change(self, _change) -> None:
        if self._busy:
            return
        self.notices = []
        self.render()

    def query(self, measure: str | None = None, by: str | None = None) -> str:
        """The deep link's query string of this view (or of another cell's trend)."""
        return urlencode({"year": self.w_year.value, "measure": measure or self.w_measure.value,
                          "by": by or self.w_char.value})

    def apply_query(self, query: str) -> list[str]:
        """Show the view a URL query string asks for; invalid values fall back with a notice."""
        q = state.parse_query(query, KEYS)
        notices: list[str] = []
        d = self.data
        year = state.checked("year", q.get("year"), d.years, d.years[-1],
                             "a published year of the review", d.years[-1], notices)
        ids = [m.id for _, m in self.measures]
        measure = state.checked("measure", q.get("measure"), ids, ids[0],
                                "a measure of the review", ids[0], notices)
        chars = list(self.review.characteristics)
        by = state.checked("by", q.get("by"), chars, chars[0], "a characteristic of the review",
                           charts.GROUP_BY_LABELS.get(chars[0], chars[0]).lower(), notices)
        self._busy = True
        try:
            self.w_year.value, self.w_measure.value, self.w_char.value = year, measure, by
        finally:
            self._busy = False
        self.notices = notices
        self.render()
        return notices

    def follow_link(self) -> list[str]:
        """Wait for the page request (preheated kernels) and apply its query string."""
        return self.apply_query(state.request_query())

    # ---- cells --------------------------------------------------------------------------------
    def years(self) -> list[str]:
        ys = [y for y in self.data.years if y <= self.w_year.value]
        return ys[-self.review.years_side_by_side:]

    def cell(self, measure: Measure, characteristic: str) -> dict:
        """One heatmap cell: the group it follows (None if no year publishes one), its words, and
        per year: display, severity, heat level and colour, flag ('flagged', 'uncertain' or None),
        hidden (no published disparity for that group that year)."""
        ratio = charts.measure_unit(measure) == "ratio"
        years = self.years()
        d = self._disp[measure.id]
        d = d[d["group_by"] == characteristic]
        group = row_group(d, years, ratio, self.review)
        if group is None:
            # every group hidden (or absent) in every year: grey boxes that say so, no group named
            shown = d[d["school_year"].isin(years)]
            if shown.empty:
                return {"group": None, "who": text("equity.not_reported"), "years": []}
            return {"group": None, "who": text("equity.no_group"),
                    "years": [{"year": y, "display": (shown[shown["school_year"] == y]["display"]
                                                      .iloc[0] if (shown["school_year"] == y).any()
                                                      else text("display.no_data")),
                               "hidden": True, "flag": None, "level": None,
                               "color": HIDDEN_COLOR} for y in years]}
        who = (text("equity.staff_vs_students") if characteristic == ALL else
               charts.group_label(characteristic, group))
        out = []
        for y in years:
            r = d[(d["school_year"] == y) & (d["group"] == group)]
            rec = r.iloc[0].to_dict() if len(r) else None
            v = None if rec is None else _f(rec["disparity"])
            if v is None:
                shown = rec["display"] if rec is not None else text("display.no_data")
                out.append({"year": y, "display": shown, "hidden": True, "flag": None,
                            "level": None, "color": HIDDEN_COLOR})
                continue
            lo, hi = _f(rec["low"]), _f(rec["high"])
            sev = severity(v, ratio, self.review)
            key, color = level(sev)
            out.append({"year": y, "display": rec["display"], "hidden": False, "severity": sev,
                        "flag": flag(v, lo, hi, ratio, self.review), "level": key,
                        "color": color})
        return {"group": group, "who": who, "years": out}

    # ---- rendering ----------------------------------------------------------------------------
    def render(self) -> None:
        p, r = self.data.plan, self.review
        synth = ('<p class="pm-synthetic" role="note"><strong>Synthetic demo data:</strong> '
                 'generated district, not real students.</p>' if self.data.synthetic else "")
        notices = "".join(f'<div class="pm-notice" role="alert">{n}</div>' for n in self.notices)
        link = state.page_url(self.query())
        intro = fill("equity.intro", years=", ".join(self.years()), high=f"{r.risk_ratio_high:g}",
                     low=f"{r.risk_ratio_low:g}", gap=f"{r.gap_points:g}")
        self.header.value = (
            f'<header class="pm-header"><h1>{_esc(p.title)}</h1>{synth}<p>{_esc(intro)}</p>'
            f'</header>{notices}<p class="pm-link">Link to this view: '
            f'<a href="{_esc(link)}">{_esc(link)}</a></p>')
        self.matrix.value = self.legend_html() + self.matrix_html()
        self.render_trend()

    def legend_html(self) -> str:
        """The colour key (every level in words), the flags' rule and the hidden cells' legend."""
        items = "".join(f'<span><span class="sw" style="background:{c}"></span>'
                        f'{_esc(text(f"equity.levels.{k}"))}</span>' for _, k, c in LEVELS)
        items += (f'<span><span class="sw" style="background:{HIDDEN_COLOR}"></span>'
                  f'{_esc(text("legend.hidden_short"))}</span>')
        return (f'<div class="pm-heat-legend" data-kind="legend">{items}</div>'
                f'<p class="pm-rule">{_esc(text("equity.flag_rule"))} '
                f'{_esc(text("equity.gap_interval"))} '
                f'{_esc(fill("legend.hidden", min_n=self.data.min_n))}</p>')

    def _cell_html(self, m: Measure, category: str, c: str, span: int = 1) -> str:
        cell = self.cell(m, c)
        attrs = (f'data-measure="{_esc(m.id)}" data-characteristic="{_esc(c)}" '
                 f'data-group="{_esc(cell["group"] or "")}"' + (f' colspan="{span}"' if span > 1
                                                               else ""))
        if not cell["years"]:
            return f'<td {attrs}><div class="pm-eq-who">{_esc(cell["who"])}</div></td>'
        boxes = []
        for y in cell["years"]:
            word = {"flagged": text("equity.flagged"), "uncertain": text("equity.uncertain")}.get(
                y["flag"] or "", "")
            cls = "pm-eq-y" + (f" pm-eq-{y['flag']}" if y["flag"] else "") + \
                (" pm-eq-hidden" if y["hidden"] else "")
            fg = "#000000" if y["hidden"] else text_color_on(y["color"])
            what = "" if y["hidden"] else ", " + text(f"equity.levels.{y['level']}")
            boxes.append(
                f'<span class="{cls}" data-year="{_esc(y["year"])}" data-flag="{_esc(y["flag"] or "")}"'
                f' style="background:{y["color"]};color:{fg}" title="{_esc(y["year"])}: '
                f'{_esc(y["display"])}{_esc(what)}"><span class="pm-sr">{_esc(y["year"])}: '
                f'</span>{_esc(y["display"])}{f"<small>{_esc(word)}</small>" if word else ""}'
                f'</span>')
        href = "?" + self.query(m.id, c if c != ALL else None)
        name = _esc(cell["who"]) if cell["group"] is None else (f'<a href="{_esc(href)}" title="{_esc(fill("equity.to_trend", group=cell["who"], category=category))}">'
                f'{_esc(cell["who"])}</a>')
        return (f'<td {attrs}><div class="pm-eq-who">{name}</div>'
                f'<div class="pm-eq-years">{"".join(boxes)}</div></td>')

    def matrix_html(self) -> str:
        years = self.years()
        chars = list(self.review.characteristics)
        yhead = "".join(f"<span>{_esc(y)}</span>" for y in years)
        head = "".join(f'<th scope="col">{_esc(charts.GROUP_BY_LABELS.get(c, c))}'
                       f'<div class="pm-eq-years-head" aria-hidden="true">{yhead}</div></th>'
                       for c in chars)
        body = []
        for g in self.data.plan.goals:
            ms = [m for gg, m in self.measures if gg.id == g.id]
            if not ms:
                notes = "; ".join(o.note or "" for o in g.outcomes if o.note)
                body.append(f'<tr><th scope="row">{_esc(g.id)}: {_esc(g.statement)}</th>'
                            f'<td colspan="{len(chars)}">{_esc(notes or text("equity.qualitative"))}'
                            f'</td></tr>')
                continue
            for m in ms:
                category = f"{g.id}: {m.title}"
                district_only = len(self._disp[m.id]) and self._disp[m.id]["group_by"].eq(ALL).all()
                cells = (self._cell_html(m, category, ALL, len(chars)) if district_only else
                         "".join(self._cell_html(m, category, c) for c in chars))
                body.append(f'<tr><th scope="row">{_esc(category)}</th>{cells}</tr>')
        caption = fill("equity.caption", latest=years[-1] if years else "")
        return (f'<table class="pm-heat pm-equity"><caption>{_esc(caption)}</caption><thead><tr>'
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
            f'data table</summary><p class="pm-alt">{_esc(charts.alt_text(chart))}</p>'
            f'{table_html(("Group", "School year", "Disparity"), rows, "equity-trend")}</details>')


def equity_page(reports=None) -> EquityApp | None:
    """Build and display the equity review dashboard (one clear message if nothing is published)."""
    return show_page(lambda: EquityApp(reports))
