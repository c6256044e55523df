"""The narrative (DESIGN.md section 10) on small hand-made editions: a table of expected sentences.

Every expected sentence is written by hand from the numbers in the fixture (the worked change
and its interval in the comments), never copied from the code's output.
"""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics import narrative, scorecard
from plan_metrics.plan import Plan

Y = "2024-25"


def _plan() -> Plan:
    return Plan.model_validate({
        "id": "t", "title": "Test plan", "organization": "Test district", "goals": [{
            "id": "G1", "title": "A place for everyone", "statement": "s",
            "outcomes": [{"id": "G1.1", "statement": "o", "measures": [
                {"id": "belong", "title": "Students who belong", "kind": "percent_favorable",
                 "source": "survey_responses",
                 "spec": {"survey": "student_sel", "topic": "b", "respondent_type": "student"},
                 "direction": "higher", "target": {"value": 0.80, "year": "2024-25"}},
                {"id": "susp", "title": "Students suspended", "kind": "rate",
                 "source": "discipline",
                 "spec": {"condition": "has_action", "actions": ["iss", "oss"]},
                 "direction": "lower", "target": {"value": 0.02, "year": "2024-25"},
                 "unit": "percent"},
                {"id": "staff", "title": "Staff who belong", "kind": "percent_favorable",
                 "source": "survey_responses",
                 "spec": {"survey": "staff_climate", "topic": "s", "respondent_type": "staff"},
                 "direction": "higher"},
                {"id": "new", "title": "Families who feel welcome", "kind": "percent_favorable",
                 "source": "survey_responses",
                 "spec": {"survey": "family", "topic": "w", "respondent_type": "family"},
                 "direction": "higher"},
                {"id": "hid", "title": "Students in clubs", "kind": "rate",
                 "source": "discipline", "spec": {"condition": "has_action", "actions": ["iss"]},
                 "direction": "higher", "unit": "percent"},
                {"id": "band", "title": "Students expelled", "kind": "rate",
                 "source": "discipline",
                 "spec": {"condition": "has_action", "actions": ["expulsion"]},
                 "direction": "lower", "unit": "percent"},
                {"id": "susp-rr", "title": "Suspension risk ratio", "kind": "risk_ratio",
                 "source": "discipline", "spec": {"event": ["iss", "oss"]},
                 "direction": "toward_one", "groups": ["race_ethnicity"]},
            ]}]}]})


def _row(mid, year, value, lo=None, hi=None, building="ALL", gb="all", g="all", n=200,
         suppressed=False, display=None):
    return {"plan_id": "t", "measure_id": mid, "school_year": year, "building_id": building,
            "group_by": gb, "group": g, "n": n, "value": None if suppressed else value,
            "ci_low": lo, "ci_high": hi, "suppressed": suppressed,
            "display": display or ("not shown" if suppressed else f"{value:.0%}"), "note": None}


def _status(mid, word, rule, baseline="2023-24"):
    return {"plan_id": "t", "measure_id": mid, "school_year": Y, "baseline_year": baseline,
            "status": word, "rule_text": rule}


@pytest.fixture
def rows():
    res = pd.DataFrame([
        # belonging 64% -> 72%: +8 pts, MOVER low 8 - sqrt(3^2 + 4^2) = +3 > 0: real, better
        _row("belong", "2023-24", 0.64, 0.60, 0.68), _row("belong", "2024-25", 0.72, 0.69, 0.75),
        # suspensions 6% -> 4%: -2 pts, high -2 + sqrt(1^2 + 1^2) = -0.59 < 0: real; lower is
        # better, so a fall is good news
        _row("susp", "2023-24", 0.06, 0.05, 0.07), _row("susp", "2024-25", 0.04, 0.03, 0.05),
        # staff 70% -> 75%: +5 pts, low 5 - sqrt(10^2 + 9^2) < 0: within noise
        _row("staff", "2023-24", 0.70, 0.60, 0.80), _row("staff", "2024-25", 0.75, 0.66, 0.84),
        # families: first published this year (no row last year)
        _row("new", "2024-25", 0.81, 0.75, 0.86),
        # clubs: hidden this year
        _row("hid", "2023-24", 0.30, 0.20, 0.40), _row("hid", "2024-25", None, suppressed=True),
        # expelled: a band this year (value emptied by the privacy rules), 3% last year
        _row("band", "2023-24", 0.03, 0.01, 0.06),
        _row("band", "2024-25", None, n=60, display="< 4%"),
        # the risk ratio: black 2.50 -> 2.20 within noise; white 0.70 -> 0.60; asian hidden
        _row("susp-rr", "2023-24", None, display="—"),
        _row("susp-rr", "2023-24", 2.50, 2.00, 3.10, gb="race_ethnicity", g="black",
             display="2.50"),
        _row("susp-rr", "2024-25", None, display="—"),
        _row("susp-rr", "2024-25", 2.20, 1.80, 2.70, gb="race_ethnicity", g="black",
             display="2.20"),
        _row("susp-rr", "2024-25", 0.60, 0.45, 0.80, gb="race_ethnicity", g="white",
             display="0.60"),
        _row("susp-rr", "2024-25", None, gb="race_ethnicity", g="asian", n=6, suppressed=True),
    ])
    st = pd.DataFrame([
        _status("belong", "on track", "on track: rule"),
        _status("susp", "off track", "off track: rule"),
        _status("staff", "no clear change", "no clear change: rule"),
        _status("new", "not enough data",
                "not enough data: 2024-25 is the baseline year (81%); a status needs a later "
                "year", baseline="2024-25"),
        _status("hid", "not enough data", "not enough data: the 2024-25 value is not shown "
                "(it is hidden to protect small groups)"),
        _status("band", "not enough data", "not enough data: no value for 2024-25"),
    ])
    return {r.measure_id: r for r in scorecard.scorecard(_plan(), "G1", res, st, Y)}


EXPECTED = {
    # typical: a real rise, better
    "belong": "Students who belong rose from 64% to 72% since 2023-24, a real change for the "
              "better. It is on track for its target of 80% by 2024-25.",
    # direction lower: a real fall is good news
    "susp": "Students suspended fell from 6% to 4% since 2023-24, a real change for the "
            "better. It is off track: behind the path to its target of 2% by 2024-25, with no "
            "real improvement on its 2023-24 baseline.",
    # within noise; no target
    "staff": "Staff who belong was 75% in 2024-25, compared with 70% in 2023-24; the difference "
             "is within the margin of error. It shows no clear change from its 2023-24 "
             "baseline.",
    # edge: no prior year
    "new": "Families who feel welcome was 81% in 2024-25; there is no earlier year to compare "
           "with. There is not enough data for a status: 2024-25 is the baseline year (81%); a "
           "status needs a later year.",
    # hidden this year: no number at all
    "hid": "Students in clubs is not shown for 2024-25, to protect small groups. There is not "
           "enough data for a status: the 2024-25 value is not shown (it is hidden to protect "
           "small groups).",
    # a band, read aloud
    "band": "Students expelled was under 4% in 2024-25; a share this close to 0% or 100% among "
            "fewer than 100 people is shown as a range, so no change is reported. There is not "
            "enough data for a status: no value for 2024-25.",
    # disparity: the widest published group (Asian students are hidden and never named);
    # 2.20 - 2.50 = -0.30, interval -0.3 +- sqrt(0.4^2 + 0.7^2) holds 0: within noise
    "susp-rr": "Black students are 2.20 times as likely as other students to be suspended. "
               "Suspension risk ratio for Black students was 2.20 in 2024-25, compared with "
               "2.50 in 2023-24; the difference is within the margin of error.",
}


@pytest.mark.parametrize("mid", list(EXPECTED))
def test_measure_sentences(rows, mid):
    m = _plan().measure(mid)
    text = narrative.measure_text(m, rows[mid], Y)
    assert text.startswith(EXPECTED[mid]), text


def test_disparity_status_names_only_the_published_group(rows):
    text = narrative.measure_text(_plan().measure("susp-rr"), rows["susp-rr"], Y)
    assert "Asian" not in text and "asian" not in text
    assert "not enough data" in text or "It " in text or "There " in text


def test_goal_summary(rows):
    plan = _plan()
    n = narrative.goal_narrative(plan, "G1", list(rows.values()), Y)
    # statuses: belong on track, susp off track, staff no clear change, new / hid / band not
    # enough data; susp-rr: the rules on Black students' series (2023-24 baseline 2.50 -> 2.20,
    # within noise, no target): no clear change. Real changes: belong (+8) and susp (-2).
    assert n.summary == (
        "Of this goal's 7 measures at the district in 2024-25, 1 is on track, 1 is off track, "
        "2 show no clear change and 3 have not enough data for a status. Real changes since "
        "2023-24: Students who belong rose from 64% to 72%, an improvement; Students suspended "
        "fell from 6% to 4%, an improvement.")
    assert [mid for mid, _ in n.measures] == list(rows)
    assert "Asian" not in n.text


def test_largest_changes_ranked_by_margin(rows):
    plan = _plan()
    ms = {m.id: m for m in plan.measures()}
    # belong spans 8 / 5 = 1.6 margins (half-width sqrt(3^2 + 4^2) = 5); susp 2 / 1.41 = 1.41:
    # with top=1 belonging is named, out of 2 real changes
    s = narrative.changes_sentence(ms, list(rows.values()), top=1)
    assert s == ("The largest of 2 real changes since 2023-24, measured against their margins "
                 "of error: Students who belong rose from 64% to 72%, an improvement.")


def test_no_real_change_and_no_earlier_year(rows):
    ms = {m.id: m for m in _plan().measures()}
    assert narrative.changes_sentence(ms, [rows["staff"]]) == (
        "No measure changed by more than its margin of error since 2023-24.")
    assert narrative.changes_sentence(ms, [rows["new"], rows["hid"]]) == ""
    one = narrative.goal_text(ms, [rows["new"]], Y, "Beech Ridge Middle")
    assert one == ("This goal has one measure at Beech Ridge Middle in 2024-25; it has not "
                   "enough data for a status.")
    assert narrative.goal_text(ms, [], Y, "District") == "This goal has no measures."


def test_all_hidden_goal():
    """A goal whose every cell is hidden: no number in any sentence."""
    res = pd.DataFrame([_row(mid, y, None, suppressed=True)
                        for mid in ("belong", "susp", "staff") for y in ("2023-24", Y)])
    rows = scorecard.scorecard(_plan(), "G1", res, None, Y)[:3]
    n = narrative.goal_narrative(_plan(), "G1", rows, Y)
    assert n.summary == ("Of this goal's 3 measures at the district in 2024-25, 3 have not "
                         "enough data for a status.")
    for _, t in n.measures:
        assert "is not shown for 2024-25, to protect small groups." in t
    import re
    assert not re.search(r"\d+%|\d\.\d", n.text.replace("2024-25", "").replace("2023-24", ""))


def test_rising_ratio_toward_parity_is_better():
    """A risk ratio below 1 that rises toward 1 is better (toward_one)."""
    res = pd.DataFrame([
        _row("susp-rr", "2023-24", None, display="—"),
        _row("susp-rr", "2023-24", 0.40, 0.35, 0.45, gb="race_ethnicity", g="white",
             display="0.40"),
        _row("susp-rr", Y, None, display="—"),
        # 0.40 -> 0.80: +0.40, low 0.4 - sqrt(0.05^2 + 0.05^2) > 0: real; |log 0.8| < |log 0.4|
        _row("susp-rr", Y, 0.80, 0.75, 0.85, gb="race_ethnicity", g="white", display="0.80"),
    ])
    r = [x for x in scorecard.scorecard(_plan(), "G1", res, None, Y) if x.measure_id == "susp-rr"]
    text = narrative.value_sentence(_plan().measure("susp-rr"), r[0], Y)
    assert text == ("Suspension risk ratio for White students rose from 0.40 to 0.80 since "
                    "2023-24, a real change for the better.")


def test_spoken():
    assert narrative.spoken("< 4%") == "under 4%"
    assert narrative.spoken("> 96%") == "over 96%"
    assert narrative.spoken("+3.0 pts") == "+3.0 points"


def test_html_is_escaped(rows):
    n = narrative.GoalNarrative("G1", "A <b> & c", [("m", "x < y")])
    out = narrative.narrative_html(n)
    assert "A &lt;b&gt; &amp; c" in out and "x &lt; y" in out


def test_same_sentences_on_the_board_in_the_deck_and_the_report(tmp_path):
    """The board (under the scorecard), the deck's notes and the HTML report say the same."""
    import html
    import io

    from pptx import Presentation

    from export_editions import write_handmade
    from plan_metrics import exports
    from plan_metrics.dashboard.board import BoardApp
    from plan_metrics.exports.context import load_context
    reports = write_handmade(tmp_path / "reports")
    ctx = load_context(reports, "clayton", Y, "G1")
    n = ctx.narrative("G1")
    assert n.summary.startswith("Of this goal's 14 measures at the district in 2024-25, ")
    deck = Presentation(io.BytesIO(exports.goal_deck_bytes(reports, "clayton", Y, "G1")))
    notes = "\n".join(s.notes_slide.notes_text_frame.text for s in deck.slides)
    assert n.summary in notes
    for _, said in n.measures:
        assert said in notes
    page = exports.html_report_bytes(reports, "clayton", Y).decode("utf-8")
    assert html.escape(n.summary) in page
    app = BoardApp(reports)
    board = app.info.value
    assert board.index("pm-scorecard") < board.index("pm-narrative")
    assert html.escape(n.summary) in board
    for _, said in n.measures:
        assert html.escape(said) in board


@pytest.mark.parametrize("word, sentence", [
    ("improving", "It is improving: better than its 2023-24 baseline by more than the margin of "
                  "error."),
    ("declining", "It is declining: worse than its 2023-24 baseline by more than the margin of "
                  "error."),
    ("met", None),
])
def test_status_sentences(rows, word, sentence):
    from dataclasses import replace
    plan = _plan()
    if word == "met":
        r = replace(rows["belong"], status="met")
        assert narrative.status_sentence(plan.measure("belong"), r) == (
            "It has reached its target of 80% set for 2024-25.")
        return
    r = replace(rows["staff"], status=word)
    assert narrative.status_sentence(plan.measure("staff"), r) == sentence


def test_same_value_within_noise_reads_as_the_same():
    """70.02% and 69.98% both show as 70% (and 70.0%): 'as in', not 'compared with 70%'."""
    res = pd.DataFrame([_row("belong", "2023-24", 0.6998, 0.66, 0.74, display="70%"),
                        _row("belong", Y, 0.7002, 0.66, 0.74, display="70%")])
    r = scorecard.scorecard(_plan(), "G1", res, None, Y)[0]
    assert narrative.value_sentence(_plan().measure("belong"), r, Y) == (
        "Students who belong was 70% in 2024-25, as in 2023-24; any difference is within the "
        "margin of error.")
