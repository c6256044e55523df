"""No export publishes a suppressed count (DESIGN.md section 6: "counts are never published for
suppressed cells, in any output").

For an edition with suppressed cells we know each hidden cell's true counts: by construction in
the hand-made edition (asian: n = 6, numerator 4), and for the real demo district by recomputing
the same year with the engine at min_n = 1. Then every export is checked two ways:
- structurally: a suppressed row carries no number in the workbook / CSV, no value or interval in
  the HTML report's data, and the report holds no count field (n, numerator, denominator) at all;
- textually: in the deck (slide text, notes, alt text), the HTML, the SVG charts and the board
  packet (the PDF's text, its charts' words included), no true count
  of a hidden group appears as a number right after that group's label.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pptx import Presentation

from export_editions import ASIAN_TRUTH, REAL_YEARS, write_handmade
from plan_metrics import charts, exports
from plan_metrics.editions import read_edition
from plan_metrics.exports.html_report import read_report_data
from plan_metrics.results import RESULTS_KEY

YEAR = "2024-25"
COUNT_COLUMNS = ("Numerator", "Denominator", "Number of people", "95% interval low",
                 "95% interval high", "Comparison value")


def leaks(text: str, label: str, counts, window: int = 30) -> list[str]:
    """Places where one of ``counts`` is written as a number within ``window`` characters after
    ``label`` and before the next item (';', '|', a line end or a sentence end). A number inside
    '80%' or '12.5' does not count as 8 or 12, nor do the rule's own words ('n < 10', 'fewer
    than 10')."""
    found = []
    for m in re.finditer(re.escape(label), text):
        after = re.split(r"[;|\n]|\.\s", text[m.end(): m.end() + window])[0]
        # a band, the rule's words and grade spans in labels ("Middle (6-8)") are no counts
        after = re.sub(r"[<>]\s*\d+%?|fewer than \d+|\(\w+-\w+\)", " ", after)
        for c in counts:
            if re.search(rf"(?<![\d.]){int(c)}(?![\d.%])", after):
                found.append(text[m.start(): m.end() + window])
    return found


def test_leak_detector_itself():
    """The detector finds a count after a label and ignores look-alike numbers."""
    assert leaks("Asian 6 students", "Asian", [6])
    assert leaks("Asian (n = 6)", "Asian", [6])
    assert not leaks("Asian n < 10; Black 65% (n = 60)", "Asian", [6, 10 + 50])
    assert not leaks("Asian 60%", "Asian", [6])
    assert not leaks("Elementary (K-5) (not shown), Middle (6-8)", "Elementary (K-5)", [8])


def _deck_text(deck: Presentation) -> list[str]:
    """Per slide: all shape text, picture alt texts and notes, joined."""
    out = []
    for slide in deck.slides:
        parts = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
        parts += [s._element.nvPicPr.cNvPr.get("descr") or "" for s in slide.shapes
                  if s.shape_type == 13]
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
        out.append("\n".join(parts))
    return out


def _hidden_cells(reports: Path, truth: pd.DataFrame) -> pd.DataFrame:
    """The edition's suppressed rows with their true n and numerator (from ``truth``)."""
    ed = read_edition(reports, "clayton", YEAR).results
    sup = ed[ed["suppressed"]]
    t = truth[RESULTS_KEY + ["n", "numerator"]].rename(columns={"n": "true_n",
                                                                "numerator": "true_num"})
    out = sup.merge(t, on=RESULTS_KEY, how="left")
    out["label"] = [charts.group_label(gb, g) for gb, g in zip(out["group_by"], out["group"])]
    return out


def _banded_cells(reports: Path, truth: pd.DataFrame) -> pd.DataFrame:
    """The edition's rows shown as a band ("< 4%", "> 96%": a share of fewer than 100 people at
    or next to 0% or 100%), with their true numerator and denominator."""
    ed = read_edition(reports, "clayton", YEAR).results
    band = ed[~ed["suppressed"] & ed["display"].astype(str).str.match(r"^[<>] ")]
    t = truth[RESULTS_KEY + ["numerator", "denominator"]].rename(
        columns={"numerator": "true_num", "denominator": "true_n"})
    out = band.merge(t, on=RESULTS_KEY, how="left")
    out["label"] = [charts.group_label(gb, g) for gb, g in zip(out["group_by"], out["group"])]
    return out


def check_bands(reports: Path, banded: pd.DataFrame) -> int:
    """A banded row publishes its n and its band only: no value, numerator, denominator or
    interval in the edition, the workbook, the CSV or the HTML report's data."""
    assert banded[["value", "numerator", "denominator", "ci_low", "ci_high"]].isna().all().all()
    keys = {tuple(r) for r in banded[["measure_id", "building_id", "group_by", "group"]]
            .astype(str).itertuples(index=False)}
    csv = pd.read_csv(io.BytesIO(exports.csv_bytes(reports, "clayton", YEAR)), dtype=str,
                      encoding="utf-8-sig", keep_default_na=False)
    band_csv = csv[csv["Value"].str.match(r"^[<>] ")]
    assert len(band_csv) >= len(keys)
    for c in ("Numerator", "Denominator", "95% interval low", "95% interval high"):
        assert (band_csv[c] == "").all(), c
    wb = load_workbook(io.BytesIO(exports.workbook_bytes(reports, "clayton", YEAR)))
    rs = wb["Results"]
    col = {h: i for i, h in enumerate(c.value for c in rs[1])}
    n_wb = 0
    for r in rs.iter_rows(min_row=2, values_only=True):
        if isinstance(r[col["Value"]], str) and r[col["Value"]][:2] in ("< ", "> "):
            n_wb += 1
            for c in ("Numerator", "Denominator", "95% interval low", "95% interval high"):
                assert r[col[c]] is None, (c, r)
    assert n_wb >= len(keys)
    page = exports.html_report_bytes(reports, "clayton", YEAR).decode("utf-8")
    for m in read_report_data(page)["measures"]:
        for b, gb, label, year, shown, interval in m["rows"]:
            if year == YEAR and shown[:2] in ("< ", "> "):
                assert interval == "", (m["id"], b, label)
    return len(keys)


def _counts(row) -> list[int]:
    return [int(v) for v in (row["true_n"], row["true_num"])
            if not pd.isna(v) and float(v).is_integer() and int(v) > 0]


def check_all_exports(reports: Path, hidden: pd.DataFrame, tmp_path: Path) -> dict:
    """Run every structural and textual check; returns how many cells each check covered."""
    covered = {}
    # -- workbook and CSV: suppressed rows carry text only -----------------------------------
    wb = load_workbook(io.BytesIO(exports.workbook_bytes(reports, "clayton", YEAR)))
    rs = wb["Results"]
    head = [c.value for c in rs[1]]
    col = {h: i for i, h in enumerate(head)}
    n_sup = 0
    for r in rs.iter_rows(min_row=2, values_only=True):
        if r[col["Suppressed"]] == "Yes":
            n_sup += 1
            assert isinstance(r[col["Value"]], str), r
            for c in COUNT_COLUMNS:
                assert r[col[c]] is None, (c, r)
    assert n_sup == len(hidden)
    covered["xlsx rows"] = n_sup
    csv = pd.read_csv(io.BytesIO(exports.csv_bytes(reports, "clayton", YEAR)), dtype=str,
                      encoding="utf-8-sig", keep_default_na=False)
    sup = csv[csv["Suppressed"] == "Yes"]
    assert len(sup) == len(hidden)
    assert (sup[list(COUNT_COLUMNS)] == "").all().all()
    assert not sup["Value"].str.fullmatch(r"[\d.]+").any()

    # -- the deck (district view): no hidden count after a hidden group's label ----------------
    deck = Presentation(io.BytesIO(exports.goal_deck_bytes(reports, "clayton", YEAR, None)))
    slides = _deck_text(deck)
    district = hidden[hidden["building_id"] == "ALL"]
    checked = 0
    for _, h in district.iterrows():
        measure_slides = [t for t in slides if h["measure_id"] in t]
        assert measure_slides, h["measure_id"]
        for text in measure_slides:
            assert not leaks(text, h["label"], _counts(h)), (h["measure_id"], h["label"])
            checked += 1
    covered["pptx district cells"] = checked

    # -- HTML report: no count field, suppressed records without numbers, tables text only -----
    page = exports.html_report_bytes(reports, "clayton", YEAR).decode("utf-8")
    data = read_report_data(page)

    def walk(node):
        if isinstance(node, dict):
            assert not {"n", "numerator", "denominator"} & set(node), sorted(node)[:8]
            if node.get("published") is False:
                assert node.get("value") is None and node.get("ci_low") is None
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(data)
    keys = {(r["measure_id"], r["building_id"], r["group_by"], r["label"]): r
            for _, r in hidden.iterrows()}
    n_rows = 0
    for m in data["measures"]:
        for b, gb, label, year, shown, interval in m["rows"]:
            h = keys.get((m["id"], b, gb, label))
            if year == YEAR and h is not None:
                n_rows += 1
                assert shown == h["display"] and interval == "", (m["id"], b, label)
                assert not re.search(r"\d", re.sub(r"n < \d+", "", shown)), shown
    covered["html table cells"] = n_rows
    visible = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    for _, h in hidden.iterrows():
        assert not leaks(visible, h["label"], _counts(h))

    # -- SVG charts (district, the measure's first group): text of hidden groups ----------------
    out = tmp_path / "svg"
    from plan_metrics import cli
    assert cli.main(["export", "--plan", "clayton", "--year", YEAR, "--format", "svg",
                     "--reports", str(reports), "--out", str(out)]) == 0
    n_svg = 0
    for f in out.glob("*_breakdown_*.svg"):
        measure_id = f.name.split("_")[2]
        group_by = f.stem.split("_breakdown_")[1]
        text = " | ".join(ET.fromstring(f.read_bytes()).itertext())
        for _, h in district[(district["measure_id"] == measure_id)
                             & (district["group_by"] == group_by)].iterrows():
            assert h["label"] in text                      # named as hidden ...
            assert not leaks(text, h["label"], _counts(h))  # ... with no count
            n_svg += 1
    covered["svg cells"] = n_svg

    # -- the board packet (PDF of the whole plan, district): its text, charts' words included --
    from pypdf import PdfReader
    pdf = exports.packet_bytes(reports, "clayton", YEAR)
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    text = "\n".join(pages)
    n_pdf = 0
    for _, h in district.iterrows():
        assert not leaks(text, h["label"], _counts(h)), (h["measure_id"], h["label"])
        n_pdf += 1
    # every hidden group of a measure's breakdown table is named there, with its display text
    ctx = exports.load_context(reports, "clayton", YEAR)
    for m in ctx.plan.measures():
        gb = ctx.default_group_by(m)
        rows = ctx.breakdown_rows(m.id, "ALL", gb) if gb else None
        if rows is None or rows.empty or ctx.plan.goal_of(m.id) is None:
            continue
        for g, shown in rows.loc[rows["suppressed"].astype(bool), ["group", "display"]].values:
            assert re.search(rf"{re.escape(charts.group_label(gb, g))}\s+{re.escape(shown)}",
                             text), (m.id, g)
    covered["pdf cells"] = n_pdf
    return covered


def test_handmade_edition_publishes_no_hidden_count(tmp_path):
    """Asian is hidden everywhere (n = 6 < 10); its true counts 6 and 4 must appear nowhere."""
    reports = write_handmade(tmp_path / "reports")
    ed = read_edition(reports, "clayton", YEAR).results
    truth = ed.copy()
    asian = truth["group"] == "asian"
    truth["n"] = truth["n"].mask(asian, ASIAN_TRUTH["n"])
    truth["numerator"] = truth["numerator"].mask(asian, ASIAN_TRUTH["numerator"])
    hidden = _hidden_cells(reports, truth)
    assert len(hidden) == 34 * 3 and set(hidden["label"]) == {"Asian"}
    covered = check_all_exports(reports, hidden, tmp_path)
    assert covered["pptx district cells"] >= 34 and covered["svg cells"] > 0
    assert covered["pdf cells"] >= 34


@pytest.mark.slow
def test_real_edition_publishes_no_hidden_count(tmp_path, demo_data):
    """The demo district through the engine (min_n = 10), its hidden cells' true counts from the
    same year recomputed with min_n = 1."""
    from plan_metrics.engine import compute_plan
    from plan_metrics.options import Options
    from plan_metrics.demo import demo_editions
    data_dir = demo_data
    reports = demo_editions(tmp_path / "reports", data_dir, ("clayton",), REAL_YEARS)
    truth, _ = compute_plan("clayton", data_dir, YEAR, Options(min_n=1))
    hidden = _hidden_cells(reports, truth)
    assert len(hidden) > 20
    with_truth = hidden[hidden["true_n"].notna()]
    assert len(with_truth) > 10      # most hidden cells have a known true count
    covered = check_all_exports(reports, hidden, tmp_path)
    assert covered["pptx district cells"] > 0 and covered["svg cells"] > 0
    banded = _banded_cells(reports, truth)
    assert len(banded) > 0          # the demo district has shares of small groups at the ends
    assert check_bands(reports, banded) == len(banded)
    assert set(hidden["display"]) == {"not shown"}   # one display for every hidden cell
