"""The board's first paint without a kernel (``dashboard.preview``): the same view the live board
shows for the same link, built from the published rows only, kept until an edition changes."""

from __future__ import annotations

import os
import re

from plan_metrics.dashboard.board import BoardApp
from plan_metrics.dashboard.preview import BoardPreview


def test_preview_is_the_view_the_link_asks_for(board_reports):
    year = sorted(p.name for p in (board_reports / "clayton").iterdir() if p.is_dir())[-1]
    preview = BoardPreview(board_reports)
    page = preview.html(f"?plan=clayton&year={year}&goal=G2&building=ES01&group=gender")
    # the live board's own texts for the same view
    app = BoardApp(board_reports)
    app.apply_query(f"plan=clayton&year={year}&goal=G2&building=ES01&group=gender")
    assert app.top.value in page and app.info.value in page
    assert app.cards[0].head.value in page
    assert "Goal: <strong>G2:" in page and "Student group: <strong>Gender" in page
    # the first card's two charts, drawn; ids unique across the page
    assert len(re.findall(r'<svg[^>]*class="marks"', page)) == 2
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_bad_link_values_fall_back_with_the_notice(board_reports):
    page = BoardPreview(board_reports).html("?year=1999-00&building=<script>")
    assert "'1999-00' is not a published year of this plan" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_republished_edition_is_not_served_stale(board_reports, monkeypatch):
    from plan_metrics.dashboard import preview as mod
    monkeypatch.setattr(mod, "STAMP_EVERY", 0.0)
    p = BoardPreview(board_reports)
    first = p.html("")
    assert p.html("") is first                       # kept
    manifest = next(board_reports.glob("clayton/*/manifest.json"))
    st = manifest.stat()
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    again = p.html("")
    assert again == first and again is not first      # rendered again from the edition
