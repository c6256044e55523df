"""Exports, opened for real: PNG/SVG/PDF files, the PowerPoint deck, the Excel workbook, the CLI and
the static HTML report in headless Chromium with the network blocked.

Numbers come from the hand-made edition of tests/export_editions.py (worked out there by hand):
district, all students, 2024-25: 166/216 = 0.7685 ('77%'); 2023-24: 0.7485; building B2 is 0.10
lower; the asian group (n = 6 < 10) is suppressed.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pptx import Presentation
from pptx.util import Emu

from export_editions import write_handmade
from plan_metrics import cli, exports
from plan_metrics.errors import PlanMetricsError
from plan_metrics.plan import load_plan

YEAR = "2024-25"
PLAN = load_plan("clayton")


def goal_measures(goal_id):
    return [m for m in PLAN.measures() if PLAN.goal_of(m.id).id == goal_id]


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    return write_handmade(tmp_path_factory.mktemp("exports") / "reports")


@pytest.fixture(scope="module")
def g1_deck(reports) -> Presentation:
    return Presentation(io.BytesIO(exports.goal_deck_bytes(reports, "clayton", YEAR, "G1")))


# ---- chart images ---------------------------------------------------------------------------

def test_chart_files_cli_png(reports, tmp_path, capsys):
    """One PNG per chart of the goal: a trend per measure plus a breakdown where the measure is
    reported by a student group present in the edition (race_ethnicity or gender here)."""
    g3 = goal_measures("G3")
    expected = sum(1 + any(g in ("race_ethnicity", "gender") for g in m.groups) for m in g3)
    out = tmp_path / "png"
    assert cli.main(["export", "--plan", "clayton", "--year", YEAR, "--goal", "G3",
                     "--format", "png", "--reports", str(reports), "--out", str(out)]) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == expected
    assert sorted(capsys.readouterr().out.split()) == sorted(str(f) for f in files)
    data = (out / f"clayton_{YEAR}_{g3[0].id}_trend.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < len(data) < 2_000_000


def test_svg_and_pdf_files(reports, tmp_path):
    args = ["export", "--plan", "clayton", "--year", YEAR, "--goal", "G3", "--reports",
            str(reports), "--out", str(tmp_path)]
    m = goal_measures("G3")[0]
    svg_path = tmp_path / f"clayton_{YEAR}_{m.id}_trend.svg"
    assert cli.main([*args, "--format", "svg"]) == 0
    root = ET.fromstring(svg_path.read_bytes())
    assert root.tag.endswith("svg")
    text = " ".join(root.itertext())
    assert m.title in text                                      # the title
    assert "Synthetic demo data" in text                        # the source line
    assert "Not shown: groups of fewer than 10 people, and numbers hidden" in text
    assert "Line chart of" in text                              # <title>: the alt text
    pdf = exports.measure_chart_bytes(reports, "clayton", YEAR, m.id, "trend", "pdf")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000


def test_png_is_twice_the_svg_size(reports):
    svg = exports.measure_chart_bytes(reports, "clayton", YEAR, "G1.1-belonging", "trend", "svg")
    png = exports.measure_chart_bytes(reports, "clayton", YEAR, "G1.1-belonging", "trend", "png")
    root = ET.fromstring(svg)
    w, h = float(root.get("width")), float(root.get("height"))
    png_w, png_h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (png_w, png_h) == (round(2 * w), round(2 * h))


def test_chart_bytes_of_a_dashboard_chart(reports):
    """The dashboard's "download what I see": its own builder's chart, even a responsive one."""
    from plan_metrics import charts
    from plan_metrics.exports.context import load_context
    ctx = load_context(reports, "clayton", YEAR)
    m = PLAN.measure("G1.1-belonging")
    chart = charts.trend_chart(ctx.trend_rows(m.id), m, ctx.status_row(m.id))
    svg = exports.chart_bytes(chart.properties(width="container"), "svg")
    assert ET.fromstring(svg).tag.endswith("svg")
    png = exports.chart_bytes(chart, "png")
    assert png[:4] == b"\x89PNG"


def test_breakdown_footnote_names_hidden_group(reports):
    svg = exports.measure_chart_bytes(reports, "clayton", YEAR, "G1.1-belonging", "breakdown",
                                      "svg", group_by="race_ethnicity").decode()
    text = " ".join(ET.fromstring(svg).itertext())
    assert "Not shown here: Asian." in text
    assert "by race/ethnicity" in text


# ---- PowerPoint -----------------------------------------------------------------------------

def test_goal_deck_slides_titles_alt_text_notes(g1_deck):
    g1 = goal_measures("G1")
    assert len(g1) == 14
    slides = list(g1_deck.slides)
    assert len(slides) == 1 + len(g1)
    assert (g1_deck.slide_width, g1_deck.slide_height) == (Emu(12192000), Emu(6858000))  # 16:9
    title_text = " ".join(s.text_frame.text for s in slides[0].shapes if s.has_text_frame)
    assert PLAN.title in title_text and YEAR in title_text and PLAN.goals[0].statement in title_text
    assert "Synthetic demo data" in title_text
    for slide, m in zip(slides[1:], g1):
        texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
        assert texts[0] == m.title
        pictures = [s for s in slide.shapes if s.shape_type == 13]
        assert pictures, m.id
        for pic in pictures:
            descr = pic._element.nvPicPr.cNvPr.get("descr")
            assert descr and m.title in descr
        assert slide.has_notes_slide and m.id in slide.notes_slide.notes_text_frame.text


def test_measure_slide_numbers(g1_deck):
    """G1.1-belonging: 77% (166/216), +2.0 pts since 2023-24 (0.7685 - 0.7485 = 0.0200),
    status word 'improving'; notes: n = 216 and the published groups with their n."""
    slide = list(g1_deck.slides)[1]
    text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert "District, all students, 2024-25: 77%" in text
    assert "+2.0 pts since 2023-24" in text
    # a staff measure says whose it is (not "all students")
    staff = list(g1_deck.slides)[1 + [m.id for m in goal_measures("G1")].index(
        "G1.3-staff-connected")]
    staff_text = " ".join(s.text_frame.text for s in staff.shapes if s.has_text_frame)
    assert "District, all staff, 2024-25: 77%" in staff_text
    assert "District, all staff: 77%" in staff.notes_slide.notes_text_frame.text
    assert "IMPROVING" in text
    assert "Source: School District of Clayton Strategic Plan, 2024-25 edition" in text
    assert "Not shown: groups of fewer than 10 people, and numbers hidden" in text
    notes = slide.notes_slide.notes_text_frame.text
    assert "n = 216" in notes
    assert "White 80% (n = 120)" in notes      # 96/120 = 0.80
    assert "Not shown" in notes and "Asian" in notes


def test_per_group_measure_slide(g1_deck, reports):
    """A risk ratio has no all-students value: its slide names the group farthest from parity
    (white: 1 + 96/120 = 1.80) with the board's and HTML report's sentence, says which group the
    status follows, and has one picture, the breakdown, instead of an empty trend."""
    ids = [m.id for m in goal_measures("G1")]
    slide = list(g1_deck.slides)[1 + ids.index("G1.2-suspension-rr")]
    text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert "District, White students, 2024-25: 1.80" in text
    sentence = "White students are 1.80 times as likely as other students to be suspended or expelled"
    assert sentence in text
    assert "Status follows White students" in text
    assert "status value" not in text and "all students" not in text
    assert sentence in slide.notes_slide.notes_text_frame.text
    # the same words in the HTML report
    page = exports.html_report_bytes(reports, "clayton", YEAR).decode("utf-8")
    assert f'<p class="headline">{sentence}</p>' in page
    pictures = [s for s in slide.shapes if s.shape_type == 13]
    assert len(pictures) == 1
    assert pictures[0]._element.nvPicPr.cNvPr.get("descr").startswith("Bar chart of")


def test_whole_plan_deck(reports):
    deck = Presentation(io.BytesIO(exports.goal_deck_bytes(reports, "clayton", YEAR, None)))
    # title + one section slide per goal + one slide per measure (34 in the catalogue)
    assert len(deck.slides) == 1 + len(PLAN.goals) + len(PLAN.measures())


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is not installed")
def test_deck_opens_in_libreoffice(reports, tmp_path):
    deck = tmp_path / "g3.pptx"
    deck.write_bytes(exports.goal_deck_bytes(reports, "clayton", YEAR, "G3"))
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(deck)], check=True, capture_output=True, timeout=240)
    pdf = (tmp_path / "g3.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1 + len(goal_measures("G3"))


# ---- Excel ----------------------------------------------------------------------------------

def test_workbook_sheets_readme_and_suppressed_cells(reports):
    wb = load_workbook(io.BytesIO(exports.workbook_bytes(reports, "clayton", YEAR, "G1")))
    assert wb.sheetnames == ["README", "Status", "Results"]
    readme = "\n".join(str(c.value) for c in wb["README"]["A"] if c.value)
    assert "min_n = 10" in readme and "clayton/2024-25" in readme and "Synthetic" in readme
    assert "Value:" in readme                          # column meanings
    rs = wb["Results"]
    head = [c.value for c in rs[1]]
    assert rs.freeze_panes == "A2" and rs.auto_filter.ref.startswith("A1:")
    col = {h: i for i, h in enumerate(head)}
    rows = [r for r in rs.iter_rows(min_row=2, values_only=True)]
    # 14 measures x 3 buildings x (1 all + 6 groups) rows
    assert len(rows) == 14 * 3 * 7
    district = next(r for r in rows if r[col["Measure ID"]] == "G1.1-belonging"
                    and r[col["Building ID"]] == "ALL" and r[col["Student group"]] == "All students")
    assert district[col["Value"]] == pytest.approx(166 / 216)
    assert district[col["Number of people"]] == 216
    asian = [r for r in rows if r[col["Student group"]] == "Asian"]
    assert len(asian) == 14 * 3
    for r in asian:
        assert r[col["Value"]] == "n < 10" and r[col["Suppressed"]] == "Yes"
        for c in ("Numerator", "Denominator", "Number of people", "95% interval low",
                  "95% interval high", "Comparison value"):
            assert r[col[c]] is None
    # percent cells are formatted as %
    row_no = 2 + rows.index(district)
    assert rs.cell(row=row_no, column=col["Value"] + 1).number_format == "0.0%"
    assert rs.cell(row=row_no, column=col["Building"] + 1).value == "District"
    b1 = next(r for r in rows if r[col["Building ID"]] == "B1")
    assert b1[col["Building"]] == "Glenridge Elementary"


def test_workbook_current_filters_and_csv(reports):
    wb = load_workbook(io.BytesIO(exports.workbook_bytes(reports, "clayton", YEAR, "G1",
                                                         building="B2", group_by="gender")))
    rows = list(wb["Results"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 14 * 3      # all students, female, male at B2
    csv_text = exports.csv_bytes(reports, "clayton", YEAR, "G1", "B2", "gender").decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert len(lines) == 1 + 14 * 3 and lines[0].startswith("Goal,Goal title,Outcome")


# ---- CLI and errors -------------------------------------------------------------------------

def test_cli_pptx_xlsx_html(reports, tmp_path):
    for fmt, name in (("pptx", f"clayton_{YEAR}_G3.pptx"), ("xlsx", f"clayton_{YEAR}_G3.xlsx"),
                      ("html", f"clayton_{YEAR}.html")):
        assert cli.main(["export", "--plan", "clayton", "--year", YEAR, "--goal", "G3",
                         "--format", fmt, "--reports", str(reports), "--out", str(tmp_path)]) == 0
        assert (tmp_path / name).stat().st_size > 10_000


@pytest.mark.parametrize("argv, words", [
    (["--plan", "nope", "--year", YEAR], "No plan 'nope'"),
    (["--plan", "clayton", "--year", "2031-32"], "No edition of plan 'clayton' for 2031-32"),
    (["--plan", "clayton", "--year", "2024"], "Unknown school year '2024'"),
    (["--plan", "clayton", "--year", YEAR, "--goal", "G9"], "Plan 'clayton' has no goal 'G9'"),
])
def test_cli_errors_are_one_paragraph(reports, tmp_path, capsys, argv, words):
    code = cli.main(["export", *argv, "--format", "xlsx", "--reports", str(reports),
                     "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "How to fix" in err and "Traceback" not in err


def test_cli_unwritable_out(reports, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = cli.main(["export", "--plan", "clayton", "--year", YEAR, "--format", "xlsx",
                     "--reports", str(reports), "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 2 and "Cannot write the export" in err and "--out" in err


def test_library_errors(reports):
    with pytest.raises(PlanMetricsError, match="no measure"):
        exports.measure_chart_bytes(reports, "clayton", YEAR, "G9-x", "trend", "png")
    with pytest.raises(PlanMetricsError, match="has no building 'B9'"):
        exports.goal_deck_bytes(reports, "clayton", YEAR, "G1", building="B9")
    with pytest.raises(PlanMetricsError, match="Unknown student group column 'shoe_size'"):
        exports.workbook_bytes(reports, "clayton", YEAR, group_by="shoe_size")
    with pytest.raises(PlanMetricsError, match="Unknown chart format"):
        exports.chart_bytes({"mark": "point"}, "gif")


# ---- static HTML report in a real browser -----------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("packed", [False, True], ids=["plain-json", "gzip-data"])
def test_html_report_offline_filters(reports, tmp_path, monkeypatch, packed, browser):
    """Loaded from file:// with every other request aborted: charts draw, filters change what is
    shown (B2's 2024-25 value is 0.7685 - 0.10 = 0.6685 -> '67%'; gender: female 88/110 = 80%).
    'gzip-data': the large-district form, data unpacked in the browser."""
    from plan_metrics.exports import html_report
    if packed:
        monkeypatch.setattr(html_report, "COMPRESS_OVER", 0)
    page_file = tmp_path / "report.html"
    page_file.write_bytes(exports.html_report_bytes(reports, "clayton", YEAR))
    assert ('id="pm-data-gz"' in page_file.read_text()) == packed
    assert page_file.stat().st_size <= 5 * 1024 * 1024
    outside, errors = [], []
    ctx = browser.new_context()
    page = ctx.new_page()

    def guard(route):
        url = route.request.url
        if url.startswith(("file://", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()
    page.route("**/*", guard)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    assert page.evaluate("document.body.dataset.ready") == "1", errors
    art = page.locator("#m-G1\\.1-belonging")
    assert art.locator(".vis.trend svg").count() == 1
    assert art.locator(".vis.breakdown svg").count() == 1
    assert art.locator(".pill").inner_text().lower() == "improving"
    last = art.locator(".trend-table tbody tr").last
    assert last.locator("td").nth(0).inner_text() == YEAR
    assert last.locator("td").nth(1).inner_text() == "77%"
    rr = page.locator("#m-G1\\.2-suspension-rr")   # per group: no trend, status value
    assert rr.locator(".pair.tr").is_hidden() and rr.locator(".pergroup").is_visible()
    assert rr.locator(".v").inner_text() == "1.80"  # white, 1 + 96/120
    page.select_option("#f-building", "B2")
    assert last.locator("td").nth(1).inner_text() == "67%"
    assert art.locator(".where").inner_text() == "Wydown Middle"
    page.select_option("#f-group", "gender")
    bd = art.locator(".breakdown-table tbody")
    assert bd.locator("tr").first.locator("td").nth(0).inner_text() == "Female"
    # the chart redrew: its SVG now names the gender groups
    page.wait_for_function(
        "document.querySelector('#m-G1\\\\.1-belonging .vis.breakdown svg')"
        ".textContent.includes('Female')", timeout=10_000)
    page.select_option("#f-goal", "G2")
    assert not page.locator("section.goal[data-goal='G2']").is_hidden()
    assert page.locator("section.goal[data-goal='G1']").is_hidden()
    ctx.close()
    assert outside == [] and errors == []
