"""The board dashboard in a real browser: `plan-metrics serve` (standalone Voila) + headless Chromium.

One server for the module, over editions computed in-process from the synthetic district (the
clayton plan, three school years). Expected values are read from the edition parquet files, never
from the dashboard's code.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import free_port

pytestmark = pytest.mark.browser

from conftest import BOARD_YEARS as YEARS
LABELS = {"female": "Female", "male": "Male", "nonbinary": "Nonbinary",
          "not_reported": "Not reported", "hispanic": "Hispanic", "black": "Black",
          "white": "White", "asian": "Asian", "american_indian": "American Indian",
          "pacific_islander": "Pacific Islander", "two_or_more": "Two or more races"}


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
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    ctx.close()


def open_board(page, server, query: str = ""):
    page.goto(f"{server}/voila/render/board.ipynb{'?' + query if query else ''}",
              timeout=120_000)
    page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=120_000)


def results(reports: Path, year: str) -> pd.DataFrame:
    return pd.read_parquet(reports / "clayton" / year / "results.parquet")


def clayton_goals():
    from plan_metrics.plan import load_plan
    plan = load_plan("clayton")
    out = {}
    for g in plan.goals:
        ids = [m.id for m in g.measures]
        for o in [*g.outcomes, *g.objectives]:
            ids += [m.id for m in o.measures]
        out[g.id] = ids
    return out


def wait_cards(page, measures: list[str]) -> None:
    """Wait until the visible cards are exactly these measures, in this order."""
    page.wait_for_function(
        "ids => { const v = Array.from(document.querySelectorAll('.pm-card'))"
        ".filter(c => c.offsetParent !== null).map(c => c.querySelector('.pm-card-head')?"
        ".dataset?.measure); return JSON.stringify(v) === JSON.stringify(ids); }",
        arg=measures, timeout=30_000)



def select(page, label: str, option: str) -> None:
    """Choose a dropdown option by its visible text (ipywidgets option values are their labels)."""
    page.get_by_label(label, exact=True).select_option(label=option)


def chosen(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def goal_label(goal_id: str) -> str:
    from plan_metrics.plan import load_plan
    g = next(g for g in load_plan("clayton").goals if g.id == goal_id)
    return f"{g.id}: {g.title}"


def building_name(reports: Path, building_id: str) -> str:
    """The name in the district's own buildings.csv (the data folder the editions came from)."""
    manifest = json.loads((reports / "clayton" / YEARS[-1] / "manifest.json").read_text())
    b = pd.read_csv(Path(manifest["data_dir"]) / "buildings.csv")
    return dict(zip(b.building_id.astype(str), b.name))[building_id]


def table_rows(page, kind: str, measure: str) -> list[list[str]]:
    sel = f'details[data-kind="{kind}"][data-measure="{measure}"] table tbody tr'
    return page.eval_on_selector_all(
        sel, "rs => rs.map(r => Array.from(r.children).map(c => c.textContent))")


def wait_table(page, kind: str, measure: str, expected: list[list[str]], timeout=20.0):
    deadline = time.time() + timeout
    rows = None
    while time.time() < deadline:
        rows = table_rows(page, kind, measure)
        if rows == expected:
            return rows
        time.sleep(0.1)
    assert rows == expected


def expected_breakdown(df: pd.DataFrame, measure: str, building: str, group_by: str):
    """(table rows as the board must show them, published group labels, suppressed labels)."""
    from plan_metrics.contract import GENDER, RACE_ETHNICITY
    order = {c: i for i, c in enumerate([*RACE_ETHNICITY, *GENDER])}
    rows = df[(df.measure_id == measure) & (df.building_id == building)]
    groups = rows[rows.group_by == group_by].copy()
    groups["o"] = groups["group"].map(lambda g: order.get(g, 99))
    groups = groups.sort_values(["o", "group"])
    pub = groups[~groups.suppressed & groups.value.notna()]
    hid = groups[groups.suppressed | groups.value.isna()]
    return ([LABELS[g] for g in pub.group], [LABELS[g] for g in hid.group],
            dict(zip(groups.group.map(LABELS), groups.display)),
            rows[rows.group_by == "all"].display.iloc[0])


def all_students(df: pd.DataFrame, measure: str, building: str) -> str:
    """The display text of a measure's all-students row at a building."""
    row = df[(df.measure_id == measure) & (df.building_id == building) & (df.group_by == "all")]
    return row.display.iloc[0]


# ---- tests --------------------------------------------------------------------------------------

def test_renders_every_goal_with_its_cards(page, server, reports):
    open_board(page, server)
    assert "Synthetic demo data" in page.inner_text(".pm-header")
    assert "School District of Clayton" in page.inner_text(".pm-header")
    for goal, measures in clayton_goals().items():
        select(page, "Goal", goal_label(goal))
        wait_cards(page, measures)
        # every visible card: a status word, two rendered charts, two text alternatives
        n_charts = page.eval_on_selector_all(
            ".pm-card", "cs => cs.filter(c => c.offsetParent !== null)"
                        ".map(c => c.querySelectorAll('svg.marks').length)")
        assert all(n == 2 for n in n_charts), (goal, n_charts)
        words = page.eval_on_selector_all(
            ".pm-card", "cs => cs.filter(c => c.offsetParent !== null)"
                        ".map(c => c.querySelector('.pm-badge').textContent)")
        assert len(words) == len(measures) and all(words)
    # the overview counts every measure once: 14 + 13 + 7 = 34 in the clayton plan
    totals = page.eval_on_selector_all(".pm-overview tbody tr td:last-child",
                                       "ts => ts.map(t => Number(t.textContent))")
    assert totals == [14, 13, 7]


def test_building_and_group_change_charts_and_tables(page, server, reports):
    df = results(reports, YEARS[-1])
    measure = "G1.1-belonging"
    # a building with at least two published gender groups (the test's own pick from the parquet)
    cand = df[(df.measure_id == measure) & (df.group_by == "gender") & ~df.suppressed &
              (df.building_id != "ALL")]
    building = cand.groupby("building_id").size().sort_values().index[-1]
    open_board(page, server)
    select(page, "Building", building_name(reports, building))
    select(page, "Student group", "Gender")
    pub, hid, display, all_display = expected_breakdown(df, measure, building, "gender")
    expected = [[lab, display[lab], *[]] for lab in pub + hid]
    rows = table_rows(page, "breakdown", measure)
    deadline = time.time() + 20
    while [r[:2] for r in rows[:-1]] != [e[:2] for e in expected] and time.time() < deadline:
        time.sleep(0.1)
        rows = table_rows(page, "breakdown", measure)
    assert [r[:2] for r in rows[:-1]] == [e[:2] for e in expected]
    assert rows[-1][:2] == ["All students", all_display]
    # the chart: one bar per published group, "n < 10" text (no bar) for each suppressed one
    card = page.locator(".pm-card", has=page.locator(f'[data-measure="{measure}"]')).first
    chart = card.locator("svg.marks").nth(1)
    page.wait_for_function(
        "([el, n]) => el.querySelectorAll('g.mark-rect path').length === n",
        arg=[chart.element_handle(), len(pub)], timeout=20_000)
    labels = chart.locator("g.role-axis-label text").all_text_contents()
    assert set(pub + hid) <= set(labels)
    assert chart.locator("g.mark-text text").all_text_contents().count("n < 10") == \
        sum(1 for lab in hid if display[lab] == "n < 10")
    # the trend table follows the building: every year's display at that building
    trend = [[y, all_students(results(reports, y), measure, building)] for y in YEARS]
    got = [r[:2] for r in table_rows(page, "trend", measure)]
    assert [g for g in got if not g[1].startswith("n < 10")] == \
        [t for t in trend if t[1] != "n < 10"]
    # the card's headline value is the building's all-students display
    head = card.locator(".pm-value-text").inner_text()
    assert head == trend[-1][1]


def test_deep_link_opens_the_filtered_view(page, server, reports):
    df = results(reports, "2022-23")
    building = sorted(set(df.building_id) - {"ALL"})[0]
    open_board(page, server, f"plan=clayton&year=2022-23&goal=G2&building={building}"
                             f"&group=disability")
    assert chosen(page, "School year") == "2022-23"
    assert chosen(page, "Goal") == goal_label("G2")
    assert chosen(page, "Building") == building_name(reports, building)
    assert chosen(page, "Student group") == "Disability (IEP)"
    wait_cards(page, clayton_goals()["G2"])
    first = clayton_goals()["G2"][0]
    card = page.locator(".pm-card", has=page.locator(f'[data-measure="{first}"]')).first
    assert card.locator(".pm-value-text").inner_text() == all_students(df, first, building)
    assert page.locator(".pm-notice").count() == 0
    # the page shows its own link for the current filters, and it follows changes
    link = page.locator("#pm-view-link").get_attribute("href")
    assert "year=2022-23" in link and "goal=G2" in link and f"building={building}" in link
    select(page, "Goal", goal_label("G3"))
    page.wait_for_function("() => document.querySelector('#pm-view-link')"
                           ".getAttribute('href').includes('goal=G3')", timeout=20_000)


def test_invalid_query_value_falls_back_with_a_notice(page, server, reports):
    open_board(page, server, "building=xyz&goal=G9&group=shoe_size&year=1999-00")
    notice = page.locator(".pm-notice").all_inner_texts()
    text = " ".join(notice)
    assert "'xyz' is not a building of this report; showing the district." in text
    assert "'G9' is not a goal of this plan" in text
    assert "'shoe_size' is not a student group of this report" in text
    assert "'1999-00' is not a published year of this plan" in text
    assert chosen(page, "Building") == "District"
    assert chosen(page, "School year") == YEARS[-1]
    wait_cards(page, clayton_goals()["G1"])


def test_offline_no_source_and_markup_escaped(page, server):
    open_board(page, server, "building=%3Cscript%3Ealert(1)%3C/script%3E")
    page.wait_for_timeout(1500)  # let late assets (fonts, widget modules) load
    outside = [u for u in page.requests
               if not re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/", u)
               and not u.startswith(("data:", "blob:"))]
    assert outside == []
    html = page.content()
    assert "import plan_metrics" not in html and "from plan_metrics" not in html
    assert "board_page(" not in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.inner_html(".pm-notice")
    # FontAwesome is served by the template, locally
    assert any("/voila/templates/plan-metrics/static/fontawesome/css/all.min.css" in u
               for u in page.requests)


def test_kernel_refuses_execute_request(page, server):
    import websocket
    open_board(page, server)
    kernel_id = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    assert kernel_id
    ws_url = server.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels"
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    ws = websocket.create_connection(ws_url, timeout=5, header=[f"Cookie: {cookies}"],
                                     origin=server)
    msg_id = "test-exec-1"
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "t",
                   "session": "s-test", "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": "1+1", "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    got = []
    deadline = time.time() + 6
    while time.time() < deadline:
        try:
            raw = ws.recv()
        except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException):
            break
        if isinstance(raw, str):
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") == msg_id:
                got.append(m["header"]["msg_type"])
    ws.close()
    assert "execute_result" not in got and "execute_reply" not in got, got


def test_action_plan_completion_by_goal_and_objective(page, server, reports):
    page.goto(f"{server}/voila/render/action_plan.ipynb", timeout=120_000)
    page.wait_for_selector("section.pm-card[data-goal]", timeout=120_000)
    page.wait_for_selector(".pm-board svg.marks", timeout=60_000)
    df = pd.read_parquet(reports / "clayton-pl" / YEARS[-1] / "results.parquet")
    disp = dict(zip(df[df.building_id == "ALL"].measure_id, df[df.building_id == "ALL"].display))
    from plan_metrics.plan import load_plan
    plan = load_plan("clayton-pl")
    for g in plan.goals:
        sec = page.locator(f'section[data-goal="{g.id}"]')
        assert sec.locator("h3 .pm-complete").inner_text() == disp[f"{g.id}-completion"]
        for o in g.objectives:
            obj = sec.locator(f'[data-objective="{o.id}"]')
            assert obj.locator(".pm-complete").inner_text() == disp[f"{o.id}-completion"]
            # the steps in the plan's words, numbered as in the plan
            words = [" ".join(t.split()) for t in
                     obj.locator("table.pm-steps tbody th").all_inner_texts()]
            assert words == [" ".join(s.text.split()) for s in o.action_steps]
    # no bar for a suppressed goal: bars = goals whose completion is published
    published = sum(1 for g in plan.goals
                    if not df[(df.measure_id == f"{g.id}-completion")].suppressed.iloc[0])
    assert page.locator(".pm-board svg.marks g.mark-rect path").count() == published


def test_serve_without_editions_says_what_to_do(tmp_path):
    """No reports folder, or an empty one: one clear message naming `plan-metrics run`."""
    for reports in (tmp_path / "missing", tmp_path):
        out = subprocess.run([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                              str(reports), "--port", str(free_port())],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2
        assert "no published editions" in out.stderr and "plan-metrics run" in out.stderr
        assert "Traceback" not in out.stderr


def test_download_what_i_see(page, server, reports):
    """The download bar gives files for the filters on screen (Playwright's download event)."""
    import csv
    import io

    df = results(reports, "2022-23")
    building = sorted(set(df.building_id) - {"ALL"})[0]
    open_board(page, server, f"plan=clayton&year=2022-23&goal=G2&building={building}"
                             f"&group=disability")
    wait_cards(page, clayton_goals()["G2"])

    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download this goal's results as CSV").click()
    download = dl.value
    assert download.suggested_filename == "clayton_2022-23_G2.csv"
    rows = list(csv.DictReader(io.StringIO(
        Path(download.path()).read_text(encoding="utf-8-sig"))))
    # exactly the edition's rows of goal G2, that building, all students + the disability groups
    g2 = set(clayton_goals()["G2"])
    want = df[df.measure_id.isin(g2) & (df.building_id == building)
              & df.group_by.isin(["all", "disability"])]
    assert len(rows) == len(want) > 0
    assert {r["Measure ID"] for r in rows} == set(want.measure_id)
    assert {r["Building ID"] for r in rows} == {building}
    shown = {(r["Measure ID"], r["Shown as"]) for r in rows}
    assert shown == set(zip(want.measure_id, want.display))
    # a suppressed cell is downloaded as its text (in Value too, so an empty cell is never read
    # as a zero), with no count beside it
    for r in rows:
        if r["Suppressed"] == "Yes":
            assert r["Value"] == r["Shown as"] != ""
            assert r["Numerator"] == r["Number of people"] == ""

    # the chart picker's first chart as PNG: a real PNG named for the measure and view
    first = clayton_goals()["G2"][0]
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download the chosen chart as PNG").click()
    png = dl.value
    assert png.suggested_filename == f"clayton_2022-23_{first}_trend.png"
    assert Path(png.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the goal's board packet for that building: a PDF named for goal and building, whose
    # scorecard is the building's
    import io as _io

    from pypdf import PdfReader
    with page.expect_download(timeout=180_000) as dl:
        page.get_by_role("button", name="board packet as a PDF").click()
    packet = dl.value
    assert packet.suggested_filename == f"clayton_2022-23_G2_{building}_packet.pdf"
    pdf = Path(packet.path()).read_bytes()
    assert pdf[:5] == b"%PDF-"
    pages = [p.extract_text() for p in PdfReader(_io.BytesIO(pdf)).pages]
    assert "Goal G2" in pages[0] and "2022-23" in pages[0]
    assert any("Scorecard: Goal G2" in p and "Contents" not in p for p in pages)
    assert not [u for u in page.requests if not u.startswith(
        ("http://127.0.0.1", "http://localhost", "data:", "blob:"))]
