"""The board's scorecard in a real browser: `plan-metrics serve` (Voila) + headless Chromium at
1366x768. Expected values come from the edition parquet files, never from the dashboard's code.
"""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

from conftest import BOARD_YEARS as YEARS


@pytest.fixture(scope="module")
def reports(board_reports):
    """Editions of the clayton plan, the equity review and the action plan for YEARS."""
    return board_reports


@pytest.fixture(scope="module")
def server(reports, serve):
    with serve(reports) as base:
        yield base


@pytest.fixture(scope="module")
def page(server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = ctx.new_page()
    pg.console = []
    pg.on("console", lambda m: pg.console.append(m.text))
    pg.goto(f"{server}/voila/render/board.ipynb?plan=clayton&year=2023-24&goal=G1",
            timeout=180_000)
    pg.wait_for_selector(".pm-scorecard tbody tr", timeout=180_000)
    pg.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=180_000)
    yield pg
    ctx.close()


def _goal_measures(goal: str) -> list[str]:
    from plan_metrics.plan import load_plan
    g = next(g for g in load_plan("clayton").goals if g.id == goal)
    ids = [m.id for m in g.measures]
    for o in [*g.outcomes, *g.objectives]:
        ids += [m.id for m in o.measures]
    return ids


def test_rows_match_the_editions_status_table(page, reports):
    st = pd.read_parquet(reports / "clayton" / "2023-24" / "status.parquet")
    rows = page.eval_on_selector_all(
        ".pm-scorecard tbody tr", "rs => rs.map(r => [r.dataset.measure, r.dataset.status])")
    assert [m for m, _ in rows] == _goal_measures("G1") and len(rows) == 14
    want = dict(zip(st["measure_id"], st["status"]))
    from plan_metrics.plan import load_plan
    plan = load_plan("clayton")
    for mid, word in rows:
        m = next(x for x in plan.measures() if x.id == mid)
        if m.kind == "risk_ratio":
            continue  # follows the chosen group's widest disparity (next test)
        assert word == want[mid], mid


def test_fits_one_screen_at_1366x768(page):
    page.evaluate("document.querySelector('.pm-scorecard').scrollIntoView()")
    box = page.eval_on_selector(".pm-scorecard", "t => { const r = t.getBoundingClientRect();"
                                " return [r.top, r.bottom, r.width, document.documentElement"
                                ".clientWidth]; }")
    top, bottom, width, client = box
    assert bottom - top <= 768, f"scorecard is {bottom - top:.0f} px tall"
    assert width <= client
    page.screenshot(path="/tmp/sc-browser-scorecard.png")


def test_keyboard_reaches_a_row_and_its_card(page):
    first = _goal_measures("G1")[0]
    link = page.locator(f'.pm-scorecard a[data-measure="{first}"]')
    link.focus()
    assert page.evaluate("document.activeElement.dataset.measure") == first
    page.keyboard.press("Tab")   # the status's "why?" control is next
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.locator(f'.pm-scorecard tr[data-measure="{first}"] details').get_attribute(
        "open") is not None
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"location.hash === '#pm-card-{first}'")
    y = page.evaluate("id => document.getElementById(id).getBoundingClientRect().top",
                      f"pm-card-{first}")
    assert -1 <= y < 768          # at the top of the window (sub-pixel scroll offsets)


def _risk_ratios(reports) -> tuple[list[str], list[str]]:
    """The plan's risk-ratio measures whose district publishes some group's ratio in the latest
    year, and those whose district groups are all hidden (the protection can hide a rare event's
    whole table)."""
    from plan_metrics.editions import read_edition
    from plan_metrics.plan import load_plan
    ed = read_edition(reports, "clayton", YEARS[-1]).results
    shown, hidden = [], []
    for m in load_plan("clayton").measures():
        if m.kind != "risk_ratio":
            continue
        rows = ed[(ed["measure_id"] == m.id) & (ed["building_id"] == "ALL")
                  & (ed["group_by"] != "all")]
        (shown if (~rows["suppressed"] & rows["value"].notna()).any() else hidden).append(m.id)
    return shown, hidden


def _goal_page(browser, server, goal: str):
    """A second page at one goal of the board (the module's page stays on G1)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = ctx.new_page()
    pg.goto(f"{server}/voila/render/board.ipynb?plan=clayton&year=2023-24&goal={goal}",
            timeout=180_000)
    pg.wait_for_selector(".pm-scorecard tbody tr", timeout=180_000)
    pg.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=180_000)
    return ctx, pg


def test_disparity_card_names_the_same_group_as_its_status(page, reports, browser, server):
    from plan_metrics.plan import load_plan
    plan = load_plan("clayton")
    shown, hidden = _risk_ratios(reports)
    assert shown or hidden
    pages = {"G1": page}
    contexts = []
    for mid in shown:
        goal = plan.goal_of(mid).id
        if goal not in pages:
            ctx, pages[goal] = _goal_page(browser, server, goal)
            contexts.append(ctx)
        pg = pages[goal]
        # every card of the goal is added once the first chart has rendered
        pg.wait_for_selector(f'.pm-card-head[data-measure="{mid}"]', timeout=60_000)
        card = pg.locator(f'.pm-card-head[data-measure="{mid}"]')
        head = card.locator(".pm-headline").inner_text()
        status = card.locator(".pm-status").inner_text()
        group = head.split(" are ")[0]
        assert "times as likely as other students" in head
        assert group.lower() in status.lower()
        row = pg.locator(f'.pm-scorecard tr[data-measure="{mid}"] .pm-sc-whose')
        assert row.inner_text().lower() == group.lower()
        if mid == shown[0]:
            card.scroll_into_view_if_needed()
            pg.screenshot(path="/tmp/sc-browser-disparity.png")
    for mid in hidden:  # says so, and names no group
        goal = plan.goal_of(mid).id
        if goal not in pages:
            ctx, pages[goal] = _goal_page(browser, server, goal)
            contexts.append(ctx)
        pg = pages[goal]
        pg.wait_for_selector(f'.pm-card-head[data-measure="{mid}"]', timeout=60_000)
        head = pg.locator(f'.pm-card-head[data-measure="{mid}"] .pm-headline').inner_text()
        assert head == f"no group's disparity is published for District in {YEARS[-1]}"
    for ctx in contexts:
        ctx.close()


def test_staff_measure_says_whose_and_breaks_down_by_building(page, reports):
    card = page.locator('.pm-card-head[data-measure="G1.3-staff-connected"]')
    assert "all staff" in card.inner_text() and "all students" not in card.inner_text()
    by = page.locator('.pm-by-building[data-measure="G1.3-staff-connected"]')
    res = pd.read_parquet(reports / "clayton" / "2023-24" / "results.parquet")
    n_bld = res[(res.measure_id == "G1.3-staff-connected") & (res.building_id != "ALL")
                & (res.group_by == "all")].shape[0]
    assert by.locator("tbody tr").count() == n_bld > 0


def test_building_shows_its_own_status(page, reports):
    page.get_by_label("Building", exact=True).select_option(index=1)
    name = page.get_by_label("Building", exact=True).evaluate(
        "s => s.options[s.selectedIndex].value")   # the text has non-breaking spaces
    page.wait_for_function(
        "n => document.querySelector('.pm-status-of')?.textContent === n + ':'", arg=name,
        timeout=30_000)
    # the scorecard (the block above the cards) is a separate widget: its update may arrive a
    # moment after the cards'
    page.wait_for_function(
        "n => document.querySelector('.pm-scorecard caption')?.textContent.includes(n)",
        arg=name, timeout=30_000)
    cap = page.locator(".pm-scorecard caption").inner_text()
    assert name in cap
    page.evaluate("document.querySelector('.pm-scorecard').scrollIntoView()")
    page.screenshot(path="/tmp/sc-browser-building.png")
    assert not [c for c in page.console if "Infinite extent" in c]
