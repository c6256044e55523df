"""The board dashboard (DESIGN.md sections 1, 9, 12): header, filters, goal overview, measure cards.

Speed: the widgets are built once. Each measure's two chart specs (trend, breakdown) carry ALL of the
measure's published rows and Vega-Lite params ``building``, ``year`` and ``group_by``; a building,
year or student-group change only sets those params on the visible charts (no re-embed, no Altair
work) and rewrites the cards' HTML from dicts prepared at load. Cards come from a pool that grows to
the largest goal seen; a goal change hands each card the next measure's cached spec. Under preheated
kernels everything up to the query string (data, every spec) runs before the page is requested.

First paint: the browser creates every widget model before it draws anything, so the page starts
with few widgets (three HTML blocks, the filters and ONE card); the goal's other cards are added as
soon as the first chart reports that it has rendered.
"""

from __future__ import annotations

import html
import os
from contextlib import contextmanager

import ipywidgets as W

from .. import charts, editions, narrative, scorecard, texts
from ..errors import PlanMetricsError
from ..plan import Measure, load_plan
from ..privacy import format_change
from ..results import ALL, DISTRICT, STATUSES
from ..scorecard_html import SCORECARD_CSS, scorecard_html
from . import state
from .data import PlanData, published_plans, reports_dir
from .page_title import page_title
from .style import CSS, badge, table_html
from .widgets import new_chart, set_params, show_page, spec_with_params

DEFAULT_PLAN = "clayton"
DEFAULT_GROUP = "race_ethnicity"


def _esc(x) -> str:
    return html.escape(str(x))


def _whose_suffix(whose: str) -> str:
    """', all staff' after the place and year; nothing where no group is shown ('—')."""
    return "" if whose == texts.text("display.not_applicable") else f", {_esc(whose)}"


class Card:
    """One measure's card: words, value, change, status, trend and breakdown with their texts."""

    def __init__(self):
        self.head = W.HTML()
        self.trend = new_chart()
        self.breakdown = new_chart()
        self.trend_text = W.HTML()
        self.breakdown_text = W.HTML()
        left = W.VBox([self.trend, self.trend_text], layout=W.Layout(width="48%"))
        right = W.VBox([self.breakdown, self.breakdown_text], layout=W.Layout(width="48%"))
        self.box = W.VBox([self.head, W.HBox([left, right],
                                             layout=W.Layout(justify_content="space-between"))])
        self.box.add_class("pm-card")
        self.measure_id: str | None = None
        self.plan_id: str | None = None
        self.key: tuple | None = None       # (plan, measure, building, year, group) of its specs

    def hide(self):
        self.box.layout.display = "none"
        self.measure_id = None

    def show(self):
        self.box.layout.display = None


class BoardApp:
    """The board dashboard of one reports folder. ``root`` is the widget to display."""

    #: Cards in the page's first paint; the rest are added once the first chart has rendered
    #: (fewer widget models for the browser to create before anything shows).
    FIRST_CARDS = 1

    def __init__(self, reports=None):
        self.reports = reports_dir() if reports is None else reports
        self.plans = published_plans(self.reports, "strategic")
        if not self.plans:
            raise PlanMetricsError("No published edition of a strategic plan", str(self.reports),
                                   "run 'plan-metrics run --plan clayton --data DIR --years all' "
                                   "first, then reopen this page")
        self.plan_titles = {p: load_plan(p).title for p in self.plans}
        self._data: dict[str, PlanData] = {}
        self._specs: dict[tuple[str, str], tuple[dict, dict]] = {}
        self._busy = False
        self._first_cards: int | None = self.FIRST_CARDS
        self.cards: list[Card] = []

        lab = {"description_width": "initial"}
        lay = W.Layout(width="auto", margin="0 18px 0 0")
        self.w_plan = W.Dropdown(description="Plan", style=lab, layout=lay)
        self.w_year = W.Dropdown(description="School year", style=lab, layout=lay)
        self.w_goal = W.Dropdown(description="Goal", style=lab, layout=lay)
        self.w_building = W.Dropdown(description="Building", style=lab, layout=lay)
        self.w_group = W.Dropdown(description="Student group", style=lab, layout=lay)
        self.dropdowns = {"plan": self.w_plan, "year": self.w_year, "goal": self.w_goal,
                          "building": self.w_building, "group": self.w_group}
        # few widgets on purpose: the browser creates every widget model before the first paint
        self.top = W.HTML()        # stylesheet, header, notices
        self.info = W.HTML()       # own link, goal overview, the goal's heading
        self.notices: list[str] = []
        self.card_box = W.VBox()
        bar = W.HBox(list(self.dropdowns.values()), layout=W.Layout(flex_flow="row wrap"))
        bar.add_class("pm-filters")
        self.tools = W.HBox([])    # slot for "download what I see" buttons (add_tool)
        self.title = page_title("")
        self.root = W.VBox([self.title, self.top, bar, self.tools, self.info, self.card_box])
        self.root.add_class("pm-board")

        self.filters = self._defaults(self._plan_default())
        self._fill_options()
        self._render(new_specs=True)
        for key, w in self.dropdowns.items():
            w.observe(self._on_change, names="value")

    # ---- data and defaults --------------------------------------------------------------------
    def data(self, plan_id: str | None = None) -> PlanData:
        pid = plan_id or self.filters.plan
        if pid not in self._data:
            self._data[pid] = PlanData(self.reports, pid)
        return self._data[pid]

    def _plan_default(self) -> str:
        return DEFAULT_PLAN if DEFAULT_PLAN in self.plans else self.plans[0]

    def _defaults(self, plan_id: str) -> state.Filters:
        d = self.data(plan_id)
        groups = d.group_bys or [ALL]
        return state.Filters(plan=plan_id, year=d.years[-1], goal=d.plan.goals[0].id,
                             building=DISTRICT,
                             group=DEFAULT_GROUP if DEFAULT_GROUP in groups else groups[0])

    def allowed(self, plan_id: str) -> dict[str, list[str]]:
        """The allow-lists of every filter for a plan (used for deep links and the dropdowns)."""
        d = self.data(plan_id)
        return {"plan": self.plans, "year": d.years, "goal": [g.id for g in d.plan.goals],
                "building": d.building_ids, "group": d.group_bys or [ALL]}

    def warm(self) -> None:
        """Build every chart spec of the default plan now (preheated kernels do this before the
        page is requested, so a goal change later costs no Altair work)."""
        d = self.data()
        for m in d.measures.values():
            self._spec(d, m)

    def add_tool(self, widget: W.Widget) -> None:
        """Add a widget (e.g. a download button) to the bar under the filters; it can read
        ``self.filters`` (plan, year, goal, building, group) and ``self.data()`` when used."""
        self.tools.children = (*self.tools.children, widget)

    # ---- deep links ---------------------------------------------------------------------------
    def apply_query(self, query: str) -> list[str]:
        """Show the view a URL query string asks for; invalid values fall back with a notice."""
        q = state.parse_query(query)
        notices: list[str] = []
        plan = state.checked("plan", q.get("plan"), self.plans, self._plan_default(),
                             "a published plan", f"the {self._plan_default()} plan", notices)
        self.data(plan)
        dflt = self._defaults(plan)
        allow = self.allowed(plan)
        year = state.checked("year", q.get("year"), allow["year"], dflt.year,
                             "a published year of this plan", f"{dflt.year}", notices)
        goal = state.checked("goal", q.get("goal"), allow["goal"], dflt.goal,
                             "a goal of this plan", f"goal {dflt.goal}", notices)
        building = state.checked("building", q.get("building"), allow["building"], DISTRICT,
                                 "a building of this report", "the district", notices)
        group = state.checked("group", q.get("group"), allow["group"], dflt.group,
                              "a student group of this report",
                              charts.GROUP_BY_LABELS.get(dflt.group, dflt.group).lower(), notices)
        self.filters = state.Filters(plan, year, goal, building, group)
        self._fill_options()
        self.notices = notices
        # Specs, not params: the page may not have rendered its charts yet, and a chart that renders
        # later starts from its spec's param values.
        self._render(new_specs=True)
        return notices

    def follow_link(self) -> list[str]:
        """Wait for the page request (preheated kernels) and apply its query string."""
        return self.apply_query(state.request_query())

    # ---- widgets ------------------------------------------------------------------------------
    @contextmanager
    def _quiet(self):
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _fill_options(self) -> None:
        d = self.data()
        f = self.filters
        self.title.title = texts.fill("home.board", plan=self.plan_titles[f.plan])
        with self._quiet():
            self.w_plan.options = [(self.plan_titles[p], p) for p in self.plans]
            self.w_plan.value = f.plan
            self.w_year.options = list(reversed(d.years))
            self.w_year.value = f.year
            self.w_goal.options = [(f"{g.id}: {g.title or g.statement}"[:70], g.id)
                                   for g in d.plan.goals]
            self.w_goal.value = f.goal
            self.w_building.options = [(d.building_names[b], b) for b in d.building_ids]
            self.w_building.value = f.building
            self.w_group.options = [(charts.GROUP_BY_LABELS.get(g, g), g)
                                    for g in (d.group_bys or [ALL])]
            self.w_group.value = f.group

    def _on_first_render(self, change) -> None:
        """The first chart has rendered (its view reports the browser time zone after embedding):
        the page is up; add the remaining cards."""
        if self._first_cards is not None and change.new:
            self._first_cards = None
            self._render(new_specs=True)

    def _on_change(self, change) -> None:
        if self._busy:
            return
        key = next(k for k, w in self.dropdowns.items() if w is change.owner)
        f = self.filters
        # a filter used before the first chart reported back: show every card from now on
        grow = self._first_cards is not None
        self._first_cards = None
        if key == "plan":
            self.filters = self._defaults(change.new)
            self.notices = []
            self._fill_options()
            self._render(new_specs=True)
            return
        setattr(f, key, change.new)
        self.notices = []
        self._render(new_specs=(key == "goal" or grow))

    # ---- rendering ----------------------------------------------------------------------------
    def _spec(self, d: PlanData, m: Measure) -> tuple[dict, dict]:
        key = (d.plan_id, m.id)
        if key not in self._specs:
            recs = d.records(m.id)
            status = d.status_row(m.id, d.years[-1])
            trend = charts.trend_chart(
                recs, m, status, select={"building": DISTRICT, "year": d.years[-1],
                                         "group_by": (d.group_bys or [ALL])[0]},
                description=f"Trend of {m.title}; the values are listed in the text "
                            f"description below the chart.")
            bd = charts.breakdown_chart(
                recs, m, select={"building": DISTRICT, "year": d.years[-1],
                                 "group_by": (d.group_bys or [ALL])[0]},
                description=f"{m.title} by student group; the values are listed in the text "
                            f"description below the chart.")
            self._specs[key] = (trend.to_dict(validate=False), bd.to_dict(validate=False))
        return self._specs[key]

    def _render(self, new_specs: bool) -> None:
        d, f = self.data(), self.filters
        trend_params = {"building": f.building, "year": f.year}
        bd_params = {**trend_params, "group_by": f.group}
        pairs = d.goal_measures(f.goal)
        shown = pairs if self._first_cards is None else pairs[:self._first_cards]
        if new_specs:
            while len(self.cards) < len(shown):
                self.cards.append(Card())
                if len(self.cards) == 1:
                    self.cards[0].trend.observe(self._on_first_render, names="local_tz")
            if len(self.card_box.children) != len(self.cards):
                self.card_box.children = [c.box for c in self.cards]
            for card, (_, m) in zip(self.cards, shown):
                key = (d.plan_id, m.id, f.building, f.year, f.group)
                if card.key != key:  # unchanged cards keep their rendered charts
                    t_spec, b_spec = self._spec(d, m)
                    card.trend.spec = spec_with_params(
                        t_spec, bd_params if charts.compares_groups(m) else trend_params)
                    card.breakdown.spec = spec_with_params(b_spec, bd_params)
                    card.key = key
                card.measure_id, card.plan_id = m.id, d.plan_id
                card.show()
            for card in self.cards[len(shown):]:
                card.hide()
        else:
            for card, (_, m) in zip(self.cards, shown):
                set_params(card.trend,
                           bd_params if charts.compares_groups(m) else trend_params)
                set_params(card.breakdown, bd_params)
                card.key = (d.plan_id, m.id, f.building, f.year, f.group)
        rows = {r.measure_id: r for r in self.score_rows(d)}
        for card, (outcome, m) in zip(self.cards, shown):
            self._fill_card(card, d, outcome, m, rows[m.id])
        notices = "".join(f'<div class="pm-notice" role="alert">{n}</div>' for n in self.notices)
        self.top.value = (CSS + SCORECARD_CSS + narrative.NARRATIVE_CSS + self._header_html(d)
                          + notices)
        url = state.page_url(f.query())
        self.info.value = (f'<p class="pm-link">Link to this view: '
                           f'<a href="{_esc(url)}" id="pm-view-link">{_esc(url)}</a></p>'
                           + self._overview_html(d) + self._goal_html(d)
                           + self._scorecard_html(d, list(rows.values()))
                           + self._narrative_html(d, list(rows.values())))

    def score_rows(self, d: PlanData) -> list[scorecard.ScoreRow]:
        """The goal's scorecard rows at the chosen place, year and student group (the cards show
        the same numbers, statuses and groups)."""
        f = self.filters
        return scorecard.scorecard(d.plan, f.goal, d.results, d.status, f.year, f.building,
                                   self._place(d), group_by=f.group if f.group != ALL else None,
                                   benchmarks=self.benchmarks(d, f.year))

    def benchmarks(self, d: PlanData, year: str):
        """The edition's benchmarks table (None when the edition carries none)."""
        key = (d.plan_id, year)
        cache = self.__dict__.setdefault("_bench", {})
        if key not in cache:
            cache[key] = scorecard.read_benchmarks(
                editions.edition_dir(self.reports, d.plan_id, year))
        return cache[key]

    def _scorecard_html(self, d: PlanData, rows) -> str:
        g = next(g for g in d.plan.goals if g.id == self.filters.goal)
        label = f"Goal {g.id}" + (f": {g.title}" if g.title else "")
        return (f'<section class="pm-sc-section" aria-label="Scorecard">'
                f'{scorecard_html(rows, label, self._place(d), self.filters.year, css=False)}'
                f'</section>')

    def _narrative_html(self, d: PlanData, rows) -> str:
        """The goal's narrative under its scorecard (the same sentences as the deck, the packet
        and the HTML report)."""
        return narrative.narrative_html(
            narrative.goal_narrative(d.plan, self.filters.goal, rows, self.filters.year))

    def _place(self, d: PlanData) -> str:
        return d.building_names.get(self.filters.building, self.filters.building)

    def _header_html(self, d: PlanData) -> str:
        p, f = d.plan, self.filters
        man = d.manifests.get(f.year, {})
        synth = ('<p class="pm-synthetic" role="note"><strong>Synthetic demo data:</strong> these '
                 'numbers come from a generated district, not real students.</p>'
                 if man.get("synthetic_data") or d.synthetic else "")
        when = man.get("ended") or man.get("started") or ""
        commit = man.get("git_commit")
        note = f"Edition {_esc(f.year)}" + (f", computed {_esc(str(when)[:16])}" if when else "") \
            + (f", plan-metrics {_esc(man.get('package_version'))}"
               if man.get("package_version") else "") \
            + (f" (commit {_esc(str(commit)[:8])})" if commit else "") + \
            ". " + texts.fill("legend.hidden", min_n=editions.min_n_of(man))
        mission = f'<p class="pm-mission">{_esc(p.mission)}</p>' if p.mission else ""
        return (f'<header class="pm-header"><h1>{_esc(p.title)}</h1>{mission}'
                f'<p class="pm-year">School year <strong>{_esc(f.year)}</strong> &middot; '
                f'{_esc(self._place(d))}</p>{synth}<p class="pm-datanote">{note}</p></header>')

    def _overview_html(self, d: PlanData) -> str:
        counts = d.status_counts(self.filters.year)
        words = [s for s in STATUSES if any(c.get(s) for c in counts.values())]
        head = "".join(f"<th scope='col'>{badge(s)}</th>" for s in words)
        rows = []
        for g in d.plan.goals:
            c = counts[g.id]
            cur = ' class="pm-current"' if g.id == self.filters.goal else ""
            cells = "".join(f"<td>{c.get(s, 0)}</td>" for s in words)
            rows.append(f"<tr{cur}><th scope='row'>{_esc(g.id)}: {_esc(g.title or '')}</th>"
                        f"{cells}<td>{sum(c.values())}</td></tr>")
        return (f'<section class="pm-overview" aria-label="Goal overview"><h2>How the measures '
                f'stand in {_esc(self.filters.year)} (district, all students)</h2>'
                f'<table class="pm-table"><thead><tr><th scope="col">Goal</th>{head}'
                f'<th scope="col">Measures</th></tr></thead><tbody>{"".join(rows)}</tbody>'
                f'</table></section>')

    def _goal_html(self, d: PlanData) -> str:
        g = next(g for g in d.plan.goals if g.id == self.filters.goal)
        return (f'<h2 class="pm-goal">Goal {_esc(g.id)}: {_esc(g.title or "")}</h2>'
                f'<p class="pm-goal-statement">{_esc(g.statement)}</p>')

    def _fill_card(self, card: Card, d: PlanData, outcome, m: Measure,
                   row: scorecard.ScoreRow) -> None:
        f = self.filters
        unit = charts.measure_unit(m)
        place = self._place(d)
        gb, g = row.focus or (ALL, ALL)
        cell = d.cell(m.id, f.year, f.building, gb, g)
        word = row.status
        if cell and cell["published"]:
            interval = (f'<span class="pm-ci">95% interval {charts.format_value(cell["ci_low"], unit)}'
                        f' to {charts.format_value(cell["ci_high"], unit)}</span>'
                        if cell["ci_low"] is not None and cell["ci_high"] is not None else "")
            value = f'<span class="pm-value-text">{_esc(cell["display"])}</span> {interval}'
        else:
            value = f'<span class="pm-value-text">{_esc(row.display)}</span>'
        headline = (f'<p class="pm-headline">{_esc(row.headline)}</p>' if row.headline else "")
        changes = []
        for label, c in (("last year", row.since_last_year), ("baseline", row.since_baseline)):
            if c.from_year is None:
                continue
            verdict = (f" <span class='pm-verdict'>({_esc(c.verdict)})</span>" if c.verdict
                       else "")
            changes.append(f"Since {label} ({_esc(c.from_year)}): {_esc(c.text)}{verdict}")
        outcome_html = (f'<p class="pm-outcome">{_esc(outcome.id)}: {_esc(outcome.statement)}</p>'
                        if outcome is not None else "")
        rule = row.rule_text
        follows = ""
        if row.focus:
            follows = " (" + _esc(scorecard.texts.fill(
                "status_follows", group=scorecard.texts.group_label(gb, g))) + ")"
        card.head.value = (
            f'<div class="pm-card-head" id="{_esc(row.anchor)}" tabindex="-1" '
            f'data-measure="{_esc(m.id)}">{outcome_html}'
            f'<h3>{_esc(m.title)}</h3>{headline}'
            f'<p class="pm-value">{value} <span class="pm-where">{_esc(place)}, '
            f'{_esc(f.year)}{_whose_suffix(row.whose)}</span></p>'
            f'{_revised_html(d, m, f, gb, g)}'
            f'<p class="pm-change">{" &middot; ".join(changes) or "No earlier year to compare."}</p>'
            f'<p class="pm-status" data-place="{_esc(place)}">Status{follows}: '
            f'<strong class="pm-status-of">{_esc(place)}:</strong> {badge(word)} <span class="pm-rule">{_esc(rule)}</span></p></div>')
        st = d.status_row(m.id, f.year) if f.building == DISTRICT else None
        if not scorecard.reports_on_students(m) or (
                not charts.compares_groups(m) and not any(
                    r["group_by"] == f.group for r in d.records(m.id)
                    if r["school_year"] == f.year and r["building_id"] == f.building)):
            self._by_building(card, d, m, row)
        else:
            card.breakdown.layout.display = None
        recs = d.records(m.id)
        trend_sel = {"building": f.building, "year": f.year}
        pts, hidden = charts.trend_points(recs, trend_sel)
        t_rows = [(r["school_year"], r["display"], _ci(r, unit)) for r in pts] + \
            [(y, texts.text("legend.hidden_short"), "") for y in hidden]
        t_rows.sort()
        card.trend_text.value = _text_block(
            "trend", m.id, charts.trend_alt_text(recs, m, st or None, place, select=trend_sel),
            ("School year", "Value", "95% interval"), t_rows)
        if card.breakdown.layout.display == "none":
            return
        bd_sel = {**trend_sel, "group_by": f.group}
        bars, hid, all_rec = charts.breakdown_parts(recs, bd_sel)
        b_rows = [(r["label"], r["display"], _ci(r, unit)) for r in bars] + \
            [(r["label"], r["display"], "") for r in hid]
        if all_rec:
            b_rows.append(("All students", all_rec["display"], _ci(all_rec, unit)))
        if not bars and not hid:
            alt = (f"{m.title} is not reported by "
                   f"{charts.GROUP_BY_LABELS.get(f.group, f.group).lower()} for {place} in "
                   f"{f.year}.")
        else:
            alt = charts.breakdown_alt_text(recs, m, place, select=bd_sel)
        card.breakdown_text.value = _text_block(
            "breakdown", m.id, alt, ("Group", "Value", "95% interval"), b_rows)


    def _by_building(self, card: Card, d: PlanData, m: Measure, row) -> None:
        """A measure without student groups (staff, families, a district-wide count): no empty
        group chart; its value at each building instead (what its data has)."""
        f, unit = self.filters, charts.measure_unit(m)
        card.breakdown.layout.display = "none"
        recs = [r for r in d.records(m.id) if r["school_year"] == f.year
                and r["group_by"] == ALL and r["building_id"] != DISTRICT]
        rows = [(d.building_names.get(r["building_id"], r["building_id"]), r["display"],
                 _ci(r, unit)) for r in sorted(recs, key=lambda r: r["building_id"])]
        body = table_html(("Building", "Value", "95% interval"), rows, "by-building") if rows \
            else "<p>No building-level values are published.</p>"
        card.breakdown_text.value = (
            f'<div class="pm-by-building" data-measure="{_esc(m.id)}"><h4>{_esc(m.title)} by '
            f'building, {_esc(f.year)} ({_esc(row.whose)})</h4>{body}</div>')


def _revised_html(d: PlanData, m: Measure, f, group_by: str, group: str) -> str:
    """"Revised since the edition of 2026-03-02" on a card whose measure has a published number
    of the year revised by a republished edition (with the value shown then, if it is this one)."""
    mark = d.revisions(f.year).get(m.id)
    if not mark:
        return ""
    words = texts.fill("compare.revised_since", date=mark["date"])
    was = mark["cells"].get((f.building, group_by, group))
    if was is not None:
        words += " (" + texts.fill("compare.revised_was", display=was) + ")"
    else:   # revised elsewhere: at other buildings or for other groups
        words += " (" + texts.fill("compare.revised_count", count=len(mark["cells"])) + ")"
    return f'<p class="pm-revised" role="note">{_esc(words)}</p>'


def _ci(r: dict, unit: str) -> str:
    if r.get("ci_low") is None or r.get("ci_high") is None:
        return ""
    return f"{charts.format_value(r['ci_low'], unit)} to {charts.format_value(r['ci_high'], unit)}"


def _text_block(kind: str, measure_id: str, alt: str, header, rows) -> str:
    return (f'<details class="pm-details" data-kind="{kind}" data-measure="{_esc(measure_id)}">'
            f'<summary>Text description and data table</summary>'
            f'<p class="pm-alt">{_esc(alt)}</p>{table_html(header, rows, kind)}</details>')


def board_page(reports=None) -> BoardApp | None:
    """Build and display the board dashboard; show one clear message if there is nothing to show.

    Call ``.follow_link()`` on the result in the next cell to apply the page's query string.
    """
    from .download import download_bar

    def build() -> BoardApp:
        app = BoardApp(reports)
        app.add_tool(download_bar(app))
        if os.environ.get("VOILA_PREHEAT") == "True":
            app.warm()
        return app
    return show_page(build)
