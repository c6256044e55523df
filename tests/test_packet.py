"""The board packet (DESIGN.md section 10): a tagged, accessible PDF typeset by Typst.

On the hand-made edition (tests/export_editions.py: numbers known by hand) the packet of goal G1
is read back with pypdf and pikepdf: its text holds every number the goal's scorecard shows and
every narrative sentence; it is tagged (PDF/UA-1), every chart is a Figure with its alt text, the
contents page links to the pages, pages are numbered; user text prints as it is, never as Typst
markup. The privacy of the PDF (no hidden count) is checked with every other export in
tests/test_export_privacy.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from export_editions import write_handmade
from plan_metrics import cli
from plan_metrics.exports import packet
from plan_metrics.exports.context import load_context
from plan_metrics.exports.packet.content import packet_data

YEAR = "2024-25"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return write_handmade(tmp_path_factory.mktemp("packet") / "reports")


@pytest.fixture(scope="module")
def g1(reports):
    """(the context, the packet's bytes) of goal G1 at the district."""
    ctx = load_context(reports, "clayton", YEAR, "G1")
    return ctx, packet.packet_from_context(ctx)


def pdf_text(pdf: bytes) -> list[str]:
    """The text of each page, as pypdf extracts it."""
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    """Text without white space (a table cell may wrap anywhere)."""
    return re.sub(r"\s+", "", text)


def test_text_holds_every_scorecard_number(g1):
    ctx, pdf = g1
    pages = pdf_text(pdf)
    text = squash(" ".join(pages))
    rows = ctx.score_rows("G1")
    assert len(rows) == len(ctx.measures("G1")) == 14
    for r in rows:
        for shown in (r.title, r.display, r.since_last_year.text, r.since_baseline.text,
                      r.target, r.benchmark, r.status):
            assert squash(shown) in text, (r.measure_id, shown)
    # hand-worked: belonging at the district in 2024-25 is 166/216 = 76.85% -> "77%"; a year
    # earlier 2 points lower (74.85% -> "75%"): +2.0 pts
    belong = next(r for r in rows if r.measure_id == "G1.1-belonging")
    assert (belong.display, belong.since_last_year.text) == ("77%", "+2.0 pts")
    scorecard_page = next(p for p in pages if "Scorecard: Goal G1" in p and "Contents" not in p)
    assert "77%" in scorecard_page and "+2.0 pts" in scorecard_page


def test_text_holds_the_narrative_and_provenance(g1):
    ctx, pdf = g1
    text = squash(" ".join(pdf_text(pdf)))
    n = ctx.narrative("G1")
    assert squash(n.summary) in text
    for _, said in n.measures:
        assert squash(said) in text
    cover = pdf_text(pdf)[0]
    assert "Where these numbers come from" in cover and "2025-06-30" in cover
    assert "Synthetic demo data" in cover
    assert "min_n = 10" in cover


def test_pages_numbered_and_contents_linked(g1):
    ctx, pdf = g1
    pages = pdf_text(pdf)
    n = len(pages)
    # cover, contents, the goal's scorecard and narrative, 14 measure pages, the appendix
    assert n >= 1 + 1 + 1 + 14 + 1
    for i, p in enumerate(pages, 1):
        assert f"Page {i} of {n}" in p
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        contents = doc.pages[1]
        links = [a for a in contents.get("/Annots", []) if a.get("/Subtype") == "/Link"]
        # one link per goal, per scorecard/narrative heading and per measure, at least
        assert len(links) >= 14 + 1
        assert all("/Dest" in a or ("/A" in a and a.A.get("/S") == "/GoTo") for a in links)
        with doc.open_outline() as outline:
            titles = [o.title for o in outline.root]
        assert "Goal G1: A place for everyone" in titles
        # the scorecard's measure titles link to the measure pages
        sc = next(i for i, p in enumerate(pages) if "Scorecard: Goal G1" in p and "Contents" not in p)
        sc_links = [a for a in doc.pages[sc].get("/Annots", []) if a.get("/Subtype") == "/Link"]
        assert len(sc_links) >= 14


def _struct(doc: pikepdf.Pdf) -> list[tuple[str, str | None]]:
    """(structure type, alt text) of every element of the structure tree."""
    out = []

    def walk(node):
        if isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                alt = node.get("/Alt")
                out.append((str(node.S), None if alt is None else str(alt)))
            kids = node.get("/K")
            if kids is not None:
                walk(kids)
        elif isinstance(node, pikepdf.Array):
            for k in node:
                walk(k)
    walk(doc.Root.StructTreeRoot)
    return out


def test_tagged_accessible_with_alt_text(g1):
    ctx, pdf = g1
    from plan_metrics.exports.images import measure_exports
    charts = [ce for m in ctx.measures("G1") for ce in measure_exports(ctx, m)]
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert doc.Root.MarkInfo.Marked
        assert str(doc.Root.Lang) == "en"
        assert "pdfuaid" in str(doc.open_metadata())        # PDF/UA-1 declared
        assert "board packet" in str(doc.docinfo.get("/Title", "")).lower()
        tags = _struct(doc)
    kinds = {t for t, _ in tags}
    assert {"/Document", "/H1", "/H2", "/Table", "/TH", "/TD", "/Figure", "/TOC"} <= kinds
    figures = [alt for t, alt in tags if t == "/Figure"]
    assert len(figures) == len(charts)                      # every chart is a figure ...
    assert all(alt and len(alt) > 20 for alt in figures)    # ... with its alt text
    assert sorted(figures) == sorted(ce.alt_text for ce in charts)


def test_charts_are_vectors(g1):
    """The charts are drawn as vectors (no raster image in the file) with their words as text."""
    _, pdf = g1
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for _, xo in page.get_images().items():
                pytest.fail(f"a raster image in the packet: {xo}")
    text = " ".join(pdf_text(pdf))
    assert "School year" in text                 # an axis title of a trend chart, as text


def test_user_text_is_never_typst_markup(reports):
    """A title or note holding Typst's markup and code characters prints as it is."""
    ctx = load_context(reports, "clayton", YEAR, "G1")
    data = packet_data(ctx)
    nasty = '#panic("no") $x^2$ *bold* _it_ ]) [x] @ref <lbl> \\ // not a comment'
    data["plan_title"] = nasty
    data["goals"][0]["measures"][0]["facts"].append(["Note", nasty])
    data["goals"][0]["narrative"]["summary"] = nasty
    text = " ".join(pdf_text(packet.typeset(data)))
    assert text.count('#panic("no")') >= 3 and "$x^2$ *bold* _it_" in text
    assert "// not a comment" in text


def test_building_packet_shows_the_building(reports):
    # building B2 is 0.10 below the district: belonging 76.85% - 10 = 66.85% -> "67%"
    pdf = packet.packet_bytes(reports, "clayton", YEAR, "G1", building="B2")
    pages = pdf_text(pdf)
    assert "Wydown Middle" in pages[0]
    sc = next(p for p in pages if "Scorecard: Goal G1" in p and "Contents" not in p)
    assert "Wydown Middle" in sc and "67%" in sc
    assert packet.packet_filename("clayton", YEAR, "G1", "B2") == "clayton_2024-25_G1_B2_packet.pdf"


def test_cli_writes_the_packet(reports, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["packet", "--plan", "clayton", "--year", YEAR, "--goal", "G2",
                     "--reports", str(reports), "--out", str(out)]) == 0
    path = out / "clayton_2024-25_G2_packet.pdf"
    assert path.exists() and path.read_bytes()[:5] == b"%PDF-"
    assert str(path) in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--goal", "G9"], "has no goal 'G9'"),
    (["--building", "B9"], "has no building 'B9'"),
    (["--year", "2031-32"], "No edition of plan 'clayton' for 2031-32"),
])
def test_cli_errors_are_one_paragraph(reports, tmp_path, capsys, argv, words):
    base = {"--plan": "clayton", "--year": YEAR, "--reports": str(reports),
            "--out": str(tmp_path)}
    for k, v in zip(argv[::2], argv[1::2]):
        base[k] = v
    args = ["packet"] + [x for kv in base.items() for x in kv]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_same_edition_same_pdf(reports):
    """The PDF's date is the edition's, so the same edition gives the same file."""
    a = packet.packet_bytes(reports, "clayton", YEAR, "G2")
    b = packet.packet_bytes(reports, "clayton", YEAR, "G2")
    assert a == b


def test_edition_time_with_microseconds(reports, tmp_path):
    """An edition whose manifest's end time has microseconds (demo_editions writes such) still
    typesets, dated to the second."""
    import json
    import shutil
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    man = copy / "clayton" / YEAR / "manifest.json"
    m = json.loads(man.read_text())
    m.pop("end_time", None)
    m["ended"] = "2025-06-30T12:00:00.123456+00:00"
    man.write_text(json.dumps(m))
    ctx = load_context(copy, "clayton", YEAR, "G3")
    assert packet._timestamp(ctx).isoformat() == "2025-06-30T12:00:00+00:00"
    assert packet.packet_from_context(ctx)[:5] == b"%PDF-"
