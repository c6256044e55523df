"""The scorecard module, building status and status colours, on small hand-made editions.

Every expected number is worked out by hand in the comments (never copied from the code's output).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from plan_metrics import charts, scorecard, status
from plan_metrics.plan import Measure, Plan
from plan_metrics.scorecard_html import scorecard_html, sparkline_svg


def _plan() -> Plan:
    return Plan.model_validate({
        "id": "t", "title": "Test plan", "organization": "Test district", "goals": [{
            "id": "G1", "title": "A place for everyone", "statement": "s",
            "outcomes": [{"id": "G1.1", "statement": "o", "measures": [
                {"id": "belong", "title": "Students who belong", "kind": "percent_favorable",
                 "source": "survey_responses",
                 "spec": {"survey": "student_sel", "topic": "b", "respondent_type": "student"},
                 "direction": "higher", "target": {"value": 0.80, "year": "2024-25"}},
                {"id": "staff", "title": "Staff who belong", "kind": "percent_favorable",
                 "source": "survey_responses",
                 "spec": {"survey": "staff_climate", "topic": "s", "respondent_type": "staff"},
                 "direction": "higher"},
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


@pytest.fixture
def edition():
    rows = [
        # belonging at the district: 60% (2022-23), 64% (2023-24), 72% (2024-25)
        _row("belong", "2022-23", 0.60, 0.56, 0.64), _row("belong", "2023-24", 0.64, 0.60, 0.68),
        _row("belong", "2024-25", 0.72, 0.69, 0.75),
        # at building B1: 50%, hidden, 70% (its own baseline is 2022-23)
        _row("belong", "2022-23", 0.50, 0.40, 0.60, building="B1"),
        _row("belong", "2023-24", None, building="B1", suppressed=True),
        _row("belong", "2024-25", 0.70, 0.62, 0.77, building="B1"),
        _row("staff", "2023-24", 0.70, 0.60, 0.78), _row("staff", "2024-25", 0.75, 0.66, 0.82),
        # the risk ratio: all-students row has people but no value; black 2.20 / white 0.60
        _row("susp-rr", "2023-24", None, display="—"),
        _row("susp-rr", "2023-24", 2.50, 2.00, 3.10, gb="race_ethnicity", g="black",
             display="2.50"),
        _row("susp-rr", "2023-24", 0.70, 0.55, 0.90, gb="race_ethnicity", g="white",
             display="0.70"),
        _row("susp-rr", "2024-25", None, display="—"),
        _row("susp-rr", "2024-25", 2.20, 1.80, 2.70, gb="race_ethnicity", g="black",
             display="2.20"),
        _row("susp-rr", "2024-25", 0.60, 0.45, 0.80, gb="race_ethnicity", g="white",
             display="0.60"),
    ]
    res = pd.DataFrame(rows)
    st = pd.DataFrame([{"plan_id": "t", "measure_id": "belong", "school_year": "2024-25",
                        "baseline_year": "2022-23", "status": "on track",
                        "rule_text": "on track: the edition's rule"}])
    return res, st


def test_rows_values_changes_and_status(edition):
    res, st = edition
    rows = scorecard.scorecard(_plan(), "G1", res, st, "2024-25")
    assert [r.measure_id for r in rows] == ["belong", "staff", "susp-rr"]
    b = rows[0]
    assert (b.display, b.value, b.whose, b.target) == ("72%", 0.72, "all students",
                                                        "80% by 2024-25")
    # since last year: 72 - 64 = +8.0 pts; MOVER low = 8 - sqrt(3^2 + 4^2) = 8 - 5 = +3 > 0: real
    assert b.since_last_year.text == "+8.0 pts" and b.since_last_year.real is True
    assert b.since_last_year.low == pytest.approx(0.03)
    # since baseline 2022-23: 72 - 60 = +12.0 pts, real
    assert (b.since_baseline.from_year, b.since_baseline.text) == ("2022-23", "+12.0 pts")
    # the district status is the edition's own
    assert (b.status, b.rule_text, b.status_of) == ("on track", "on track: the edition's rule",
                                                    "District: on track")
    assert b.benchmark == "—"
    assert b.spark == [("2022-23", 0.60), ("2023-24", 0.64), ("2024-25", 0.72)]
    s = rows[1]
    # +5.0 pts; MOVER low = 5 - sqrt(9^2 + 10^2) = 5 - 13.45 < 0: within noise
    assert s.whose == "all staff" and s.since_last_year.text == "+5.0 pts"
    assert s.since_last_year.real is False and s.since_last_year.verdict == "within noise"
    assert s.since_baseline.from_year is None or s.since_baseline.from_year == "2023-24"


def test_disparity_row_names_its_group(edition):
    res, st = edition
    rr = scorecard.scorecard(_plan(), "G1", res, st, "2024-25")[2]
    # |log 2.20| = 0.79 > |log 0.60| = 0.51: black students are the widest disparity
    assert rr.focus == ("race_ethnicity", "black") and rr.display == "2.20"
    assert rr.whose == "Black students"
    assert rr.headline == ("Black students are 2.20 times as likely as other students to be "
                           "suspended")
    # 2.20 - 2.50 = -0.30; MOVER low = -0.3 - sqrt(0.4^2 + 0.7^2) < 0 < high: within noise
    assert rr.since_last_year.text == "-0.30" and rr.since_last_year.real is False
    # no edition status row: the same rules on the group's series, naming the group
    assert "Black students" in rr.rule_text
    assert rr.spark == [("2022-23", None), ("2023-24", 2.50), ("2024-25", 2.20)]


def test_building_has_its_own_status(edition):
    res, st = edition
    b = scorecard.scorecard(_plan(), "G1", res, st, "2024-25", "B1", "Beech Ridge Middle")[0]
    # B1's own baseline is 2022-23 (50%); the trajectory to 80% by 2024-25 reaches 80% this
    # year (fraction 1), 70% is short of it; 70 - 50 = +20 pts with MOVER low
    # 20 - sqrt(8^2 + 10^2) = 20 - 12.8 > 0: real and better -> "progressing"
    assert b.status == "progressing" and b.status_of == "Beech Ridge Middle: progressing"
    assert "baseline 50% in 2022-23" in b.rule_text
    # last year is hidden at B1: no change, and the text says why
    assert b.since_last_year.real is None and b.since_last_year.text == "not shown in 2023-24"
    assert b.spark == [("2022-23", 0.50), ("2023-24", None), ("2024-25", 0.70)]
    direct = status.building_status(_plan().measures()[0], res, "B1", "2024-25")
    assert direct["status"] == "progressing" and direct["baseline_value"] == 0.50


def test_benchmark_read_through_one_function(edition):
    res, st = edition
    bench = pd.DataFrame([{"school_year": "2024-25", "measure_id": "belong", "scope": "national",
                           "label": "US", "value": 0.70, "source": "x"},
                          {"school_year": "2024-25", "measure_id": "belong", "scope": "state",
                           "label": "Missouri", "value": 0.75, "source": "DESE"}])
    rows = scorecard.scorecard(_plan(), "G1", res, st, "2024-25", benchmarks=bench)
    assert rows[0].benchmark == "75% (Missouri)"     # the state's before the nation's
    assert rows[1].benchmark == "—"
    assert scorecard.read_benchmarks(None) is None


def test_html_is_accessible_and_gaps_hidden_years(edition):
    res, st = edition
    rows = scorecard.scorecard(_plan(), "G1", res, st, "2024-25", "B1", "B1")
    page = scorecard_html(rows, "Goal G1", "B1", "2024-25")
    assert page.count("<tr data-measure=") == 3 and "<caption>" in page
    assert 'href="#pm-card-belong"' in page and '<th scope="row">' in page
    svg = sparkline_svg(rows[0])
    # two points separated by a hidden year: two single points, no line through the gap
    assert "polyline" not in svg and svg.count("<circle") == 3
    assert "2023-24 not shown" in svg


def _contrast(a: str, b: str) -> float:
    la, lb = charts.relative_luminance(a), charts.relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def test_status_colours_distinct_and_readable():
    cols = charts.STATUS_COLORS
    assert len(set(cols.values())) == len(cols)
    assert cols["off track"] != cols["declining"] and cols["met"] != cols["improving"]
    for word, colour in cols.items():
        assert _contrast(colour, charts.status_text_color(word)) >= 4.5, word


def test_value_domain_zooms_small_rates():
    recs = [{"published": True, "value": 0.04, "ci_low": 0.03, "ci_high": 0.05}]
    lo, hi = charts.value_domain(recs, "percent", [0.02])
    # values 2%..5%, padded by a tenth of the 3-point range: 1.7% .. 5.3%
    assert lo == pytest.approx(0.017) and hi == pytest.approx(0.053)
    assert charts.value_domain([], "ratio") == [0.0, 1.0]
    assert re.match(r"^\d", f"{lo}")
