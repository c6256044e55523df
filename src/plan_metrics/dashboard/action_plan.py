"""Action-step status by goal and objective (DESIGN.md section 9): action_plan.ipynb.

For the professional learning plan (clayton-pl): the share of action steps complete for the plan,
each goal and each objective (the edition's action_completion rows, with their display text and
note), a bar chart of the goals, and under each objective its numbered steps in the plan's words.
"""

from __future__ import annotations

import html

import ipywidgets as W

from .. import charts
from ..errors import PlanMetricsError
from ..texts import fill
from ..results import ALL, DISTRICT
from .data import PlanData, published_plans, reports_dir
from .page_title import page_title
from .style import CSS, table_html
from .widgets import new_chart, show_page

PLAN_ID = "clayton-pl"


class ActionPlanApp:
    """Completion of the action plan for one reports folder; ``root`` is the widget to display."""

    def __init__(self, reports=None, plan_id: str = PLAN_ID):
        self.reports = reports_dir() if reports is None else reports
        if plan_id not in published_plans(self.reports):
            raise PlanMetricsError(f"No published edition of the {plan_id} plan",
                                   str(self.reports),
                                   f"run 'plan-metrics run --plan {plan_id} --data DIR --years all'"
                                   " first, then reopen this page")
        self.data = PlanData(self.reports, plan_id)
        self.w_year = W.Dropdown(description="School year", options=list(reversed(self.data.years)),
                                 style={"description_width": "initial"})
        self.header = W.HTML()
        self.chart = new_chart()
        self.chart_text = W.HTML()
        self.body = W.HTML()
        self.w_year.observe(lambda _: self.render(), names="value")
        self.root = W.VBox([page_title(fill("home.action_plan", plan=self.data.plan.title)),
                            W.HTML(CSS), self.header, self.w_year, self.chart, self.chart_text,
                            self.body])
        self.root.add_class("pm-board")
        self.render()

    def completion(self, measures, year: str) -> list[dict]:
        """label, value (None when suppressed), display, note of each measure's district row."""
        out = []
        for label, m in measures:
            c = self.data.cell(m.id, year, DISTRICT, ALL, ALL)
            rows = self.data._rows.get(m.id)
            note = ""
            if rows is not None:
                r = rows[(rows["school_year"] == year) & (rows["building_id"] == DISTRICT)]
                note = "" if r.empty or r["note"].isna().iloc[0] else str(r["note"].iloc[0])
            out.append({"label": label, "measure_id": m.id,
                        "value": c["value"] if c and c["published"] else None,
                        "display": c["display"] if c else "no data", "note": note})
        return out

    def render(self) -> None:
        p, year = self.data.plan, self.w_year.value
        synth = ('<p class="pm-synthetic" role="note"><strong>Synthetic demo data:</strong> '
                 'generated district, not real records.</p>' if self.data.synthetic else "")
        overall = self.completion([("Whole plan", m) for m in p.measures_], year)
        head = "".join(f'<p class="pm-value"><span class="pm-value-text">'
                       f'{html.escape(o["display"])}</span> of the plan\'s action steps complete in '
                       f'{html.escape(year)} <span class="pm-ci">{html.escape(o["note"])}</span></p>'
                       for o in overall)
        self.header.value = (f'<header class="pm-header"><h1>{html.escape(p.title)}</h1>{synth}'
                             f'{head}</header>')
        goals = self.completion([(f"{g.id}: {(g.title or g.statement)[:60]}", m)
                                 for g in p.goals for m in g.measures], year)
        chart = charts.completion_chart(goals)
        self.chart.spec = chart.to_dict(validate=False)
        self.chart_text.value = (
            f'<details class="pm-details" data-kind="completion"><summary>Text description and '
            f'data table</summary><p class="pm-alt">{html.escape(charts.alt_text(chart))}</p>'
            f'{table_html(("Goal", "Complete", "Steps"), [(g["label"], g["display"], g["note"]) for g in goals], "completion")}'
            f'</details>')
        parts = []
        for g in p.goals:
            g_done = self.completion([(g.id, m) for m in g.measures], year)
            g_txt = ", ".join(x["display"] for x in g_done) or "no measure"
            objs = []
            for o in g.objectives:
                o_done = self.completion([(o.id, m) for m in o.measures], year)
                o_txt = ", ".join(x["display"] for x in o_done) or "no measure"
                steps = "".join(f'<li value="{html.escape(s.number.rstrip("abcdefgh") or "1")}">'
                                f'{html.escape(s.text)}</li>' for s in o.action_steps)
                objs.append(f'<div class="pm-objective" data-objective="{html.escape(o.id)}">'
                            f'<h4>{html.escape(o.id)}: {html.escape(o.statement)} &middot; '
                            f'<span class="pm-complete">{html.escape(o_txt)}</span> complete</h4>'
                            f'<ol>{steps}</ol></div>')
            parts.append(f'<section class="pm-card" data-goal="{html.escape(g.id)}">'
                         f'<h3>{html.escape(g.id)}: {html.escape(g.statement)} &middot; '
                         f'<span class="pm-complete">{html.escape(g_txt)}</span> complete</h3>'
                         f'{"".join(objs)}</section>')
        self.body.value = "".join(parts)


def action_plan_page(reports=None) -> ActionPlanApp | None:
    """Build and display the action-plan dashboard (one clear message if nothing is published)."""
    return show_page(lambda: ActionPlanApp(reports))
