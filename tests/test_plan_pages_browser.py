"""The action plan and the equity review in a real browser: `plan-metrics serve` (Voila) + headless
Chromium at 1366x768. Expected values come from the district's own CSV files (action steps) and the
edition parquet files (equity review), never from the dashboards' code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

from conftest import BOARD_YEARS as YEARS
WORDS = {"complete": "complete", "in_progress": "in progress", "not_started": "not started",
         "discontinued": "discontinued"}


@pytest.fixture(scope="module")
def reports(board_reports):
    """Editions of the clayton plan, the equity review and the action plan for YEARS."""
    return board_reports


@pytest.fixture(scope="module")
def server(reports, serve):
    with serve(reports) as base:
        yield base


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = ctx.new_page()
    pg.console = []
    pg.on("console", lambda m: pg.console.append(m.text))
    yield pg
    ctx.close()


def steps_csv(reports: Path) -> pd.DataFrame:
    """The district's action_steps.csv (the data folder the editions were computed from)."""
    man = json.loads((reports / "clayton-pl" / YEARS[-1] / "manifest.json").read_text())
    df = pd.read_csv(Path(man["data_dir"]) / "action_steps.csv", dtype=str, keep_default_na=False)
    return df[df.plan_id == "clayton-pl"]


def open_action_plan(page, server, query: str = ""):
    page.goto(f"{server}/voila/render/action_plan.ipynb{'?' + query if query else ''}",
              timeout=180_000)
    page.wait_for_selector("table.pm-steps tbody tr", timeout=180_000)
    page.wait_for_selector(".pm-board svg.marks", timeout=60_000)


def step_rows(page) -> dict[str, list[str]]:
    """step id -> the texts of its row's cells (number, step, status, owner, note, change)."""
    rows = page.eval_on_selector_all(
        "table.pm-steps tbody tr", "rs => rs.map(r => [r.dataset.step, "
        "...Array.from(r.children).map(c => c.textContent.trim())])")
    return {r[0]: r[1:] for r in rows}


def test_action_plan_every_step_with_status_owner_note_and_change(page, server, reports):
    open_action_plan(page, server)
    df = steps_csv(reports)
    now = df[df.school_year == YEARS[-1]].set_index("step_id")
    before = df[df.school_year == YEARS[-2]].set_index("step_id")
    rows = step_rows(page)
    assert set(rows) == set(now.index) and len(rows) == 47
    for sid, r in now.iterrows():
        num, _words, status, owner, note, change = rows[sid]
        assert status == WORDS[r.status]
        assert owner == (r.owner or "—")
        assert note == (r.note or "—")
        b = before.status[sid]
        if b == r.status:
            assert change == "no change"
        elif r.status == "complete":
            assert change == f"completed (was {WORDS[b]})"
        elif b == "not_started" and r.status == "in_progress":
            assert change == "started (was not started)"
    # the status is a word on a colour, not a colour alone
    badge = page.locator(f'tr[data-step="{now.index[0]}"] [data-step-status]')
    assert badge.inner_text() == WORDS[now.status.iloc[0]]
    # what changed since last year, at the top, counted by hand from the CSV
    completed = [s for s in now.index if now.status[s] == "complete" and
                 before.status[s] != "complete"]
    started = [s for s in now.index if before.status[s] == "not_started" and
               now.status[s] == "in_progress"]
    assert completed and started
    box = page.locator('section[data-kind="changes"]')
    assert box.locator("h2").inner_text() == f"What changed since {YEARS[-2]}"
    summary = box.locator("p").first.inner_text()
    assert f"{len(completed)} completed, {len(started)} started, 0 slipped back, 0 discontinued" \
        in summary
    listed = box.locator("li[data-change=completed]").evaluate_all(
        "ls => ls.map(l => l.dataset.step)")
    assert sorted(listed) == sorted(completed)
    # the box sits above the steps (what changed is visible at the top)
    top = page.eval_on_selector('section[data-kind="changes"]', "e => e.getBoundingClientRect().top")
    first_steps = page.eval_on_selector("table.pm-steps", "e => e.getBoundingClientRect().top")
    assert top < first_steps
    page.screenshot(path="/tmp/sc-browser-action-plan.png")


def test_action_plan_filters_and_deep_link(page, server, reports):
    from plan_metrics.plan import load_plan
    df = steps_csv(reports)
    now = df[df.school_year == YEARS[-1]]
    owner = now.owner.value_counts().index[0]
    open_action_plan(page, server, f"year={YEARS[-1]}&goal=G2&owner={owner.replace(' ', '+')}")
    want = now[(now.goal_id == "G2") & (now.owner == owner)].step_id.tolist()
    assert sorted(step_rows(page)) == sorted(want)
    # filter by status in the page: only in-progress steps of G2 and that owner; the link follows
    page.get_by_label("Status", exact=True).select_option(label="in progress")
    want = now[(now.goal_id == "G2") & (now.owner == owner) &
               (now.status == "in_progress")].step_id.tolist()
    page.wait_for_function("n => document.querySelectorAll('table.pm-steps tbody tr').length == n"
                           " || (n == 0 && document.body.innerText.includes('No step matches'))",
                           arg=len(want), timeout=20_000)
    assert sorted(step_rows(page)) == sorted(want)
    assert "status=in_progress" in page.inner_text(".pm-link")
    # a value not in the allow-list falls back with a notice
    open_action_plan(page, server, "status=%3Cb%3Edone&owner=Nobody")
    notice = " ".join(page.locator(".pm-notice").all_inner_texts())
    assert "is not a step status" in notice and "'Nobody' is not an owner" in notice
    assert len(step_rows(page)) == 47
    # full goal names, never cut mid-word: the chart's text description and the goal headings
    plan = load_plan("clayton-pl")
    desc = page.eval_on_selector('details[data-kind="completion"]', "d => d.textContent")
    for g in plan.goals:
        assert f"{g.id}: {g.statement}" in desc
        assert page.locator(f'section[data-goal="{g.id}"] h3').inner_text().startswith(
            f"{g.id}: {g.statement}")


# ---- the equity review heatmap ---------------------------------------------------------------

def open_equity(page, server, query: str = ""):
    page.goto(f"{server}/voila/render/equity.ipynb{'?' + query if query else ''}",
              timeout=180_000)
    page.wait_for_selector("table.pm-heat td[data-measure]", timeout=180_000)


def by_hand(reports: Path, measure, char: str, year: str) -> dict[str, dict]:
    """group -> {value, low, high (the disparity and its interval, None if hidden), display} of
    one measure, characteristic and year, from the edition's district rows: a percentage becomes
    the gap in points to the other students' share (comparison_value), its interval the group's
    own interval less that share."""
    df = pd.read_parquet(reports / "equity-review" / year / "results.parquet")
    df = df[(df.measure_id == measure.id) & (df.building_id == "ALL") & (df.group_by == char)]
    out = {}
    for r in df.itertuples():
        if r.suppressed or pd.isna(r.value):
            out[r.group] = {"value": None, "display": r.display}
        elif measure.unit == "percent":
            ref = r.comparison_value
            out[r.group] = {"value": 100 * (r.value - ref), "low": 100 * (r.ci_low - ref),
                            "high": 100 * (r.ci_high - ref)}
        else:
            out[r.group] = {"value": r.value, "low": r.ci_low, "high": r.ci_high}
    return out


def test_equity_heatmap_cells_follow_one_group_across_years(page, server, reports):
    """Every cell names one group and shows THAT group's disparity in each of the three years (the
    edition's numbers; hidden years say 'not shown', never a number); the group is the one
    farthest from parity in the latest year by its interval's end nearest parity (yes/no
    characteristics: the students who have it); flags follow the thresholds (2, 0.5, 10 points)."""
    import math
    from plan_metrics.plan import load_plan
    open_equity(page, server, f"year={YEARS[-1]}")
    plan = load_plan("equity-review")
    cells = page.eval_on_selector_all(
        "table.pm-heat td[data-group]:not([data-group=''])",
        "ts => ts.map(t => ({m: t.dataset.measure, c: t.dataset.characteristic, g: t.dataset.group,"
        " who: t.querySelector('.pm-eq-who').textContent, years: Array.from("
        "t.querySelectorAll('.pm-eq-y')).map(y => ({y: y.dataset.year, flag: y.dataset.flag,"
        " hidden: y.classList.contains('pm-eq-hidden'), text: y.textContent}))}))")
    assert len(cells) >= 10
    checked_rank = 0
    for cell in cells:
        m = plan.measure(cell["m"])
        if cell["c"] == "all":
            continue          # staff vs students: one district row
        ratio = m.unit == "ratio"
        assert [y["y"] for y in cell["years"]] == YEARS
        for y in cell["years"]:
            row = by_hand(reports, m, cell["c"], y["y"]).get(cell["g"])
            text = y["text"].split(": ", 1)[1]          # after the screen-reader year prefix
            if row is None or row["value"] is None:
                assert y["hidden"] and text == (row["display"] if row else "no data"), (cell, y)
                if text == "not shown":
                    assert not any(ch.isdigit() for ch in y["text"].split(": ", 1)[1])
                continue
            v = row["value"]
            shown = f"{v:.2f}" if ratio else f"{v:+.1f} pts"
            assert text.startswith(shown.replace("-0.0", "0.0").replace("+0.0", "0.0")), (cell, y)
            beyond = (v > 2 or v < 0.5) if ratio else abs(v) > 10
            lo, hi = row["low"], row["high"]
            whole = (lo > 2 or hi < 0.5) if ratio else (lo > 10 or hi < -10)
            assert y["flag"] == ("" if not beyond else "flagged" if whole else "uncertain"), \
                (cell, y)
            assert text.endswith("flagged, uncertain" if y["flag"] == "uncertain" else
                                 "flagged" if y["flag"] else shown.split()[-1])
        # the group: fixed for yes/no characteristics, else the latest year's farthest by the
        # interval's end nearest parity
        latest = {g: r for g, r in by_hand(reports, m, cell["c"], YEARS[-1]).items()
                  if r["value"] is not None}
        if set(by_hand(reports, m, cell["c"], YEARS[-1])) == {"true", "false"}:
            assert cell["g"] == "true"
        elif len(latest) >= 2:
            def size(x):
                if x is None:
                    return 0.0
                return abs(math.log(x)) / math.log(2) if ratio else abs(x) / 10

            def key(r):
                par = 1.0 if ratio else 0.0
                near = r["low"] if r["low"] > par else r["high"] if r["high"] < par else par
                return (size(near), size(r["value"]))
            assert cell["g"] == max(latest, key=lambda g: key(latest[g])), cell
            checked_rank += 1
    assert checked_rank >= 1
    # the legend of hidden cells, from texts.yaml, and the colour key in words
    legend = page.inner_text(".pm-rule")
    assert "Not shown: groups of fewer than" in legend
    assert "not shown" in page.inner_text('[data-kind="legend"]')
    page.screenshot(path="/tmp/sc-browser-equity.png")


def test_equity_cell_link_opens_its_trend(page, server, reports):
    open_equity(page, server, "year=2023-24&measure=EQ1-belonging&by=gender")
    # ipywidgets' option values are their labels
    assert page.get_by_label("Trend of", exact=True).input_value() == \
        "EQ1: Students who feel they belong at school"
    assert page.get_by_label("by", exact=True).input_value() == "Gender"
    href = page.get_attribute('td[data-measure="EQ8-ela-gap"][data-characteristic="disability"] a',
                              "href")
    assert "measure=EQ8-ela-gap" in href and "by=disability" in href
    open_equity(page, server, "year=1999-00&by=shoe_size")
    notice = " ".join(page.locator(".pm-notice").all_inner_texts())
    assert "'1999-00' is not a published year" in notice and "'shoe_size'" in notice


def test_equity_review_has_no_serious_accessibility_violation(page, server):
    """axe-core (WCAG 2.0/2.1 A and AA, with 2.5.3) on the equity review, its default view and
    after a change of year: no serious or critical violation (the other pages: test_serve)."""
    from axe_playwright_python.sync_playwright import Axe
    from test_serve import AXE_OPTIONS
    axe, found = Axe(), {}

    def check(name):
        result = axe.run(page, options=AXE_OPTIONS)
        found[name] = [f"{v['impact']} {v['id']}: {v['nodes'][0]['html'][:120]}"
                       for v in result.response["violations"]
                       if v["impact"] in ("serious", "critical")]
    open_equity(page, server)
    check("equity review")
    first = page.inner_text("table.pm-heat caption")
    page.get_by_label("Latest year", exact=True).select_option(index=1)
    page.wait_for_function("t => document.querySelector('table.pm-heat caption')?.innerText "
                           "!== t", arg=first, timeout=60_000)
    check("equity review, earlier year")
    assert {k: v for k, v in found.items() if v} == {}
