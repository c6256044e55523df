"""The action-plan dashboard (DESIGN.md section 9): action_plan.ipynb.

For a plan of action steps (clayton-pl): at the top, what changed since last year (steps completed,
started, slipped back, discontinued); the share of steps complete for the plan and by goal (a chart
with the goals' full names and its data table); then every step, under its goal and objective, with
its status (a word on a colour), owner, note and change since last year. Filters: year, goal, status
and owner, read from and written to the URL (``?plan=clayton-pl&year=2023-24&goal=G1&status=
in_progress&owner=...``) like the board's.

The completion shares are the edition's action_completion rows; each step's status, owner and note
are the edition's ``action_steps`` list (its manifest; no person's data), the change is
``kinds.action_completion.step_change`` of last year's edition and this one's.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

import ipywidgets as W

from .. import charts
from ..errors import PlanMetricsError
from ..kinds.action_completion import STEP_CHANGES, STEP_STATUSES, step_change
from ..results import ALL, DISTRICT
from ..texts import fill, text
from . import state
from .data import PlanData, published_plans, reports_dir
from .page_title import page_title
from .style import CSS, step_badge, table_html
from .widgets import new_chart, show_page

PLAN_ID = "clayton-pl"
ANY = ""     # the filter value that keeps every goal / status / owner
KEYS = ("plan", "year", "goal", "status", "owner")

STEP_CSS = """<style>
.pm-steps { border-collapse: collapse; font-size: 13px; width: 100%; margin: 4px 0 10px; }
.pm-steps caption { text-align: left; font-weight: bold; padding: 2px 0; }
.pm-steps th, .pm-steps td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left;
  vertical-align: top; }
.pm-steps td.pm-num { width: 2.5em; }
.pm-steps .pm-owner { width: 15em; }
.pm-change { font-weight: bold; }
.pm-changes { border: 2px solid #0072B2; border-radius: 8px; padding: 8px 14px; margin: 10px 0; }
.pm-changes ul { margin: 4px 0; padding-left: 20px; font-size: 14px; }
</style>"""


def _esc(x) -> str:
    return html.escape(str(x))


@dataclass
class StepFilters:
    """What the action plan shows: plan id, school year, goal id, step status and owner ('' = any)."""
    plan: str
    year: str
    goal: str = ANY
    status: str = ANY
    owner: str = ANY

    def query(self) -> str:
        """The URL query string of these filters (the page's own deep link); empty ones left out."""
        return urlencode({k: v for k, v in asdict(self).items() if v})


class ActionPlanApp:
    """The action plan of one reports folder; ``root`` is the widget to display."""

    def __init__(self, reports=None, plan_id: str = PLAN_ID):
        self.reports = reports_dir() if reports is None else reports
        if plan_id not in published_plans(self.reports):
            raise PlanMetricsError(f"No published edition of the {plan_id} plan",
                                   str(self.reports),
                                   f"run 'plan-metrics run --plan {plan_id} --data DIR --years all'"
                                   " first, then reopen this page")
        self.data = PlanData(self.reports, plan_id)
        p = self.data.plan
        self.steps_text = {s.id: (s.number, s.text) for g in p.goals for o in g.objectives
                           for s in o.action_steps}
        self.filters = StepFilters(plan_id, self.data.years[-1])
        self.notices: list[str] = []
        self._busy = False
        lab, lay = {"description_width": "initial"}, W.Layout(width="auto", margin="0 18px 0 0")
        self.w_year = W.Dropdown(description="School year", options=list(reversed(self.data.years)),
                                 style=lab, layout=lay)
        self.w_goal = W.Dropdown(description="Goal", style=lab, layout=W.Layout(width="440px", margin="0 18px 0 0"),
                                 options=[(text("action_plan.any_goal"), ANY)] +
                                 [(f"{g.id}: {g.title or g.statement}", g.id) for g in p.goals])
        self.w_status = W.Dropdown(description="Status", style=lab, layout=lay,
                                   options=[(text("action_plan.any_status"), ANY)] +
                                   [(text(f"action_plan.statuses.{s}"), s) for s in STEP_STATUSES])
        self.w_owner = W.Dropdown(description="Owner", style=lab, layout=lay)
        self.dropdowns = {"year": self.w_year, "goal": self.w_goal, "status": self.w_status,
                          "owner": self.w_owner}
        bar = W.HBox(list(self.dropdowns.values()), layout=W.Layout(flex_flow="row wrap"))
        bar.add_class("pm-filters")
        self.header = W.HTML()
        self.changes = W.HTML()
        self.chart = new_chart()
        self.chart_text = W.HTML()
        self.body = W.HTML()
        self.root = W.VBox([page_title(fill("home.action_plan", plan=p.title)),
                            W.HTML(CSS + STEP_CSS), self.header, bar, self.changes, self.chart,
                            self.chart_text, self.body])
        self.root.add_class("pm-board")
        self._fill_options()
        self.render()
        for w in self.dropdowns.values():
            w.observe(self._on_change, names="value")

    # ---- the published steps ------------------------------------------------------------------
    def steps(self, year: str) -> list[dict] | None:
        """The edition's steps of ``year`` (step_id, goal_id, objective_id, owner, status, note),
        or None when that edition does not list them."""
        man = self.data.manifests.get(year) or {}
        steps = man.get("action_steps")
        return None if steps is None else list(steps)

    def owners(self, year: str) -> list[str]:
        return sorted({s["owner"] for s in self.steps(year) or [] if s.get("owner")})

    def shown_steps(self) -> list[dict]:
        """This year's steps that pass the goal, status and owner filters, each with ``before`` (last
        year's status, None if the step was not listed) and ``change`` (step_change; None = same).
        Without last year's list, ``change`` is None for every step."""
        f = self.filters
        prev = self.data.previous_year(f.year)
        before = {s["step_id"]: s["status"] for s in self.steps(prev) or []} if prev else {}
        compare = prev is not None and self.steps(prev) is not None
        out = []
        for s in self.steps(f.year) or []:
            if (f.goal and s["goal_id"] != f.goal) or (f.status and s["status"] != f.status) or \
                    (f.owner and s["owner"] != f.owner):
                continue
            b = before.get(s["step_id"])
            out.append({**s, "before": b,
                        "change": step_change(b, s["status"]) if compare else None})
        return out

    # ---- filters and deep links ---------------------------------------------------------------
    def _fill_options(self) -> None:
        f = self.filters
        owners = self.owners(f.year)
        if f.owner and f.owner not in owners:
            f.owner = ANY
        self._busy = True
        try:
            self.w_year.value = f.year
            self.w_goal.value = f.goal
            self.w_status.value = f.status
            self.w_owner.options = [(text("action_plan.any_owner"), ANY)] + [(o, o) for o in owners]
            self.w_owner.value = f.owner
        finally:
            self._busy = False

    def _on_change(self, change) -> None:
        if self._busy:
            return
        key = next(k for k, w in self.dropdowns.items() if w is change.owner)
        setattr(self.filters, key, change.new)
        self.notices = []
        if key == "year":
            self._fill_options()
        self.render()

    def apply_query(self, query: str) -> list[str]:
        """Show the view a URL query string asks for; invalid values fall back with a notice."""
        q = state.parse_query(query, KEYS)
        notices: list[str] = []
        d = self.data
        state.checked("plan", q.get("plan"), [d.plan_id], d.plan_id,
                      "the plan of this page", f"the {d.plan_id} plan", notices)
        year = state.checked("year", q.get("year"), d.years, d.years[-1],
                             "a published year of this plan", d.years[-1], notices)
        goal = state.checked("goal", q.get("goal"), [g.id for g in d.plan.goals], ANY,
                             "a goal of this plan", "all goals", notices)
        status = state.checked("status", q.get("status"), list(STEP_STATUSES), ANY,
                               "a step status (complete, in_progress, not_started, discontinued)",
                               "any status", notices)
        owner = state.checked("owner", q.get("owner"), self.owners(year), ANY,
                              f"an owner of a step in {year}", "any owner", notices)
        self.filters = StepFilters(d.plan_id, year, goal, status, owner)
        self._fill_options()
        self.notices = notices
        self.render()
        return notices

    def follow_link(self) -> list[str]:
        """Wait for the page request (preheated kernels) and apply its query string."""
        return self.apply_query(state.request_query())

    # ---- rendering ----------------------------------------------------------------------------
    def completion(self, measures, year: str) -> list[dict]:
        """label, value (None when hidden or empty), display and note of each measure's district
        row (the edition's action_completion rows)."""
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
                        "display": c["display"] if c else text("display.no_data"), "note": note})
        return out

    def render(self) -> None:
        """Redraw the page for ``self.filters``."""
        d, f = self.data, self.filters
        p, year = d.plan, f.year
        synth = ('<p class="pm-synthetic" role="note"><strong>Synthetic demo data:</strong> '
                 'generated district, not real records.</p>' if d.synthetic else "")
        overall = self.completion([("Whole plan", m) for m in p.measures_], year)
        head = "".join(f'<p class="pm-value"><span class="pm-value-text">{_esc(o["display"])}'
                       f'</span> {_esc(fill("action_plan.complete_of", year=year))}'
                       f' <span class="pm-ci">{_esc(o["note"])}</span></p>' for o in overall)
        notices = "".join(f'<div class="pm-notice" role="alert">{n}</div>' for n in self.notices)
        link = state.page_url(f.query())
        self.header.value = (f'<header class="pm-header"><h1>{_esc(p.title)}</h1>{synth}{head}'
                             f'</header>{notices}<p class="pm-link">Link to this view: '
                             f'<a href="{_esc(link)}">{_esc(link)}</a></p>')
        shown = self.shown_steps()
        self.changes.value = self._changes_html(shown)
        goals = [g for g in p.goals if not f.goal or g.id == f.goal]
        done = self.completion([(f"{g.id}: {g.title or g.statement}", m)
                                for g in goals for m in g.measures], year)
        chart = charts.completion_chart(done)
        self.chart.spec = chart.to_dict(validate=False)
        self.chart_text.value = (
            f'<details class="pm-details" data-kind="completion"><summary>Text description and '
            f'data table</summary><p class="pm-alt">{_esc(charts.alt_text(chart))}</p>'
            f'{table_html(("Goal", "Complete", "Steps"), [(g["label"], g["display"], g["note"]) for g in done], "completion")}'
            f'</details>')
        self.body.value = self._steps_html(goals, shown)

    def _changes_html(self, shown: list[dict]) -> str:
        """The box at the top: counts of each kind of change and the changed steps listed."""
        d, f = self.data, self.filters
        prev = d.previous_year(f.year)
        if prev is None:
            msg = fill("action_plan.changed_first", year=f.year)
            title = fill("action_plan.changed_heading", year="last year")
            return (f'<section class="pm-changes" data-kind="changes"><h2>{_esc(title)}</h2>'
                    f'<p>{_esc(msg)}</p></section>')
        title = fill("action_plan.changed_heading", year=prev)
        if self.steps(f.year) is None:
            body = f'<p>{_esc(fill("action_plan.no_steps", year=f.year, plan=d.plan_id))}</p>'
        elif self.steps(prev) is None:
            body = f'<p>{_esc(fill("action_plan.changed_unknown", year=prev))}</p>'
        else:
            changed = [s for s in shown if s["change"]]
            counts = ", ".join(f'{sum(s["change"] == c for s in changed)} '
                               f'{text(f"action_plan.changes.{c}")}' for c in STEP_CHANGES
                               if c in ("completed", "started", "slipped_back", "discontinued")
                               or any(s["change"] == c for s in changed))
            body = f'<p>{_esc(fill("action_plan.changed_summary", n=len(shown), counts=counts))}</p>'
            if changed:
                items = []
                for c in STEP_CHANGES:
                    for s in (s for s in changed if s["change"] == c):
                        num, words = self.steps_text.get(s["step_id"], ("", s["step_id"]))
                        items.append(
                            f'<li data-step="{_esc(s["step_id"])}" data-change="{_esc(c)}">'
                            f'<span class="pm-change">{_esc(self._change_words(s))}</span>: '
                            f'{_esc(s["objective_id"])} step {_esc(num)}, {_esc(words)} '
                            f'({_esc(s["owner"] or text("action_plan.no_owner"))})</li>')
                body += f'<ul>{"".join(items)}</ul>'
            else:
                body += f'<p>{_esc(fill("action_plan.changed_none", year=prev))}</p>'
        return (f'<section class="pm-changes" data-kind="changes" aria-labelledby="pm-changes-h">'
                f'<h2 id="pm-changes-h">{_esc(title)}</h2>{body}</section>')

    @staticmethod
    def _change_words(s: dict) -> str:
        """'completed (was in progress)', 'new this year', or 'no change'."""
        c = s.get("change")
        if not c:
            return text("action_plan.unchanged")
        word = text(f"action_plan.changes.{c}")
        if not s.get("before"):
            return word
        return fill("action_plan.change_detail", change=word,
                    before=text(f"action_plan.statuses.{s['before']}"))

    def _steps_html(self, goals, shown: list[dict]) -> str:
        """One section per goal (its full statement and completion), a table of steps per objective."""
        f, year = self.filters, self.filters.year
        if self.steps(year) is None:
            return (f'<p class="pm-notice" role="note">'
                    f'{_esc(fill("action_plan.no_steps", year=year, plan=self.data.plan_id))}</p>')
        prev = self.data.previous_year(year)
        by_obj: dict[str, list[dict]] = {}
        for s in shown:
            by_obj.setdefault(s["objective_id"], []).append(s)
        cols = [c.format(year=prev or "last year") for c in text("action_plan.columns")]
        head = "".join(f'<th scope="col">{_esc(c)}</th>' for c in cols)
        parts = []
        for g in goals:
            g_done = ", ".join(x["display"] for x in self.completion([(g.id, m) for m in g.measures],
                                                                     year)) or "no measure"
            objs = []
            for o in g.objectives:
                steps = by_obj.get(o.id, [])
                if not steps and (f.status or f.owner):
                    continue      # filtered out: the objective has no step to show
                o_done = ", ".join(x["display"] for x in self.completion(
                    [(o.id, m) for m in o.measures], year)) or "no measure"
                rows = []
                for s in steps:
                    num, words = self.steps_text.get(s["step_id"], ("", s["step_id"]))
                    word = text(f"action_plan.statuses.{s['status']}")
                    rows.append(
                        f'<tr data-step="{_esc(s["step_id"])}"><td class="pm-num">{_esc(num)}</td>'
                        f'<th scope="row">{_esc(words)}</th>'
                        f'<td>{step_badge(s["status"], word)}'
                        f'</td><td class="pm-owner">{_esc(s["owner"] or text("action_plan.no_owner"))}'
                        f'</td><td>{_esc(s["note"] or text("action_plan.no_note"))}</td>'
                        f'<td class="pm-step-change" data-change="{_esc(s["change"] or "")}">'
                        f'{_esc(self._change_words(s)) if prev else "—"}</td></tr>')
                table = (f'<table class="pm-steps"><caption>'
                         f'{_esc(fill("action_plan.steps_caption", objective=o.id))}</caption>'
                         f'<thead><tr><th scope="col">No.</th>{head}</tr></thead><tbody>'
                         f'{"".join(rows)}</tbody></table>' if rows else
                         f'<p>{_esc(text("action_plan.no_match"))}</p>')
                objs.append(f'<div class="pm-objective" data-objective="{_esc(o.id)}">'
                            f'<h4>{_esc(o.id)}: {_esc(o.statement)} &middot; '
                            f'<span class="pm-complete">{_esc(o_done)}</span> complete</h4>'
                            f'{table}</div>')
            if not objs:
                continue
            parts.append(f'<section class="pm-card" data-goal="{_esc(g.id)}">'
                         f'<h3>{_esc(g.id)}: {_esc(g.statement)} &middot; '
                         f'<span class="pm-complete">{_esc(g_done)}</span> complete</h3>'
                         f'{"".join(objs)}</section>')
        return "".join(parts) or f'<p>{_esc(text("action_plan.no_match"))}</p>'


def action_plan_page(reports=None) -> ActionPlanApp | None:
    """Build and display the action-plan dashboard (one clear message if nothing is published)."""
    return show_page(lambda: ActionPlanApp(reports))
