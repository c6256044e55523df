"""The board's scorecard in a real browser: `plan-metrics serve` (Voila) + headless Chromium at
1366x768. Expected values come from the edition parquet files, never from the dashboard's code.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

YEARS = ["2021-22", "2022-23", "2023-24"]
PORT = 8921   # this branch's Voila port range (8920-8939)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory, demo_data):
    from plan_metrics.demo import demo_editions
    return demo_editions(tmp_path_factory.mktemp("sc") / "reports", demo_data, ("clayton",),
                         YEARS)


@pytest.fixture(scope="module")
def server(reports):
    proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                             str(reports), "--port", str(PORT)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{PORT}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/voila/templates/plan-metrics/static/fontawesome/"
                                   "css/all.min.css", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"plan-metrics serve exited: {proc.stdout.read()}")
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("plan-metrics serve did not answer within 120 s")
    yield base
    proc.send_signal(2)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pg = b.new_page(viewport={"width": 1366, "height": 768})
        pg.console = []
        pg.on("console", lambda m: pg.console.append(m.text))
        pg.goto(f"{server}/voila/render/board.ipynb?plan=clayton&year=2023-24&goal=G1",
                timeout=180_000)
        pg.wait_for_selector(".pm-scorecard tbody tr", timeout=180_000)
        pg.wait_for_selector(".pm-card svg.marks", timeout=180_000)
        yield pg
        b.close()


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
    assert -1 < y < 768   # scrolled to it (sub-pixel rounding puts the top at -0.03)


def _risk_ratios(reports) -> tuple[list[str], list[str]]:
    """The risk-ratio measures of goal G1 (the page's goal) whose district publishes some group's ratio in the latest
    year, and those whose district groups are all hidden (the protection can hide a rare event's
    whole table)."""
    from plan_metrics.editions import read_edition
    from plan_metrics.plan import load_plan
    ed = read_edition(reports, "clayton", YEARS[-1]).results
    shown, hidden = [], []
    goal = set(_goal_measures("G1"))
    for m in load_plan("clayton").measures():
        if m.kind != "risk_ratio" or m.id not in goal:
            continue
        rows = ed[(ed["measure_id"] == m.id) & (ed["building_id"] == "ALL")
                  & (ed["group_by"] != "all")]
        (shown if (~rows["suppressed"] & rows["value"].notna()).any() else hidden).append(m.id)
    return shown, hidden


def test_disparity_card_names_the_same_group_as_its_status(page, reports):
    shown, hidden = _risk_ratios(reports)
    assert shown or hidden
    for mid in shown:
        card = page.locator(f'.pm-card-head[data-measure="{mid}"]')
        head = card.locator(".pm-headline").inner_text()
        status = card.locator(".pm-status").inner_text()
        group = head.split(" are ")[0]
        assert "times as likely as other students" in head
        assert group.lower() in status.lower()
        row = page.locator(f'.pm-scorecard tr[data-measure="{mid}"] .pm-sc-whose')
        assert row.inner_text().lower() == group.lower()
    for mid in hidden:  # says so, and names no group
        head = page.locator(f'.pm-card-head[data-measure="{mid}"] .pm-headline').inner_text()
        assert head == f"no group's disparity is published for District in {YEARS[-1]}"


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
    # the scorecard is redrawn for the building too (its caption names it)
    page.wait_for_function(
        "n => document.querySelector('.pm-scorecard caption')?.textContent.includes(n)",
        arg=name, timeout=30_000)
    page.evaluate("document.querySelector('.pm-scorecard').scrollIntoView()")
    page.screenshot(path="/tmp/sc-browser-building.png")
    assert not [c for c in page.console if "Infinite extent" in c]
