"""Chart builders: what they draw (rendered to SVG by vl-convert), their text alternatives, the theme."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from plan_metrics import charts
from plan_metrics.plan import Measure
from plan_metrics.results import RESULTS_COLUMNS, STATUSES, conform

BELONGING = Measure(id="G1.1-belonging", title="Students who feel they belong",
                    kind="percent_favorable", source="survey_responses",
                    spec={"survey": "student_sel", "topic": "sense_of_belonging"},
                    direction="higher", target={"value": 0.8, "year": "2024-25"},
                    groups=["race_ethnicity"], unit="percent")
SUSPENSION_RR = Measure(id="G1.2-suspension-rr", title="Suspension risk ratio", kind="risk_ratio",
                        source="discipline", spec={"event": ["iss", "oss"]},
                        direction="toward_one", groups=["race_ethnicity"])


def row(year, value=None, lo=None, hi=None, *, building="ALL", group_by="all", group="all",
        display=None, n=100, measure="G1.1-belonging"):
    suppressed = value is None
    return {"plan_id": "clayton", "measure_id": measure, "school_year": year,
            "building_id": building, "group_by": group_by, "group": group,
            "n": None if suppressed else n, "value": value, "ci_low": lo, "ci_high": hi,
            "suppressed": suppressed, "display": display or "n < 10"}


def frame(rows) -> pd.DataFrame:
    return conform(pd.DataFrame(rows), RESULTS_COLUMNS)


HISTORY = frame([
    row("2020-21", 0.70, 0.66, 0.74, display="70%"),
    row("2021-22"),                                   # suppressed: omitted from the chart
    row("2022-23", 0.76, 0.72, 0.80, display="76%"),
])
# one year, one building: four race groups (asian suppressed) and the all-students row
BREAKDOWN = frame([
    row("2022-23", 0.60, 0.50, 0.70, group_by="race_ethnicity", group="black", display="60%"),
    row("2022-23", 0.80, 0.70, 0.90, group_by="race_ethnicity", group="white", display="80%"),
    row("2022-23", 0.70, 0.60, 0.80, group_by="race_ethnicity", group="hispanic", display="70%"),
    row("2022-23", group_by="race_ethnicity", group="asian"),
    row("2022-23", 0.76, 0.72, 0.80, display="76%"),
])


def svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_dict())


def marks(svg_text: str, mark: str) -> int:
    """Number of items drawn by the marks of one type (paths of rect marks, lines of rules...)."""
    groups = re.findall(rf'<g class="mark-{mark} role-mark[^"]*"[^>]*>(.*?)</g>', svg_text, re.S)
    return sum(len(re.findall(r"<(path|line|text)\b", g)) for g in groups)


def test_theme_is_registered_and_enabled():
    assert alt.theme.active == "plan_metrics"
    cfg = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().to_dict()["config"]
    assert cfg["range"]["category"] == charts.OKABE_ITO


def test_status_colors_cover_every_status_and_their_words_are_readable():
    assert set(charts.STATUS_COLORS) == set(STATUSES)
    # WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05) of the word's colour on the badge >= 4.5.
    # By hand for improving #0072B2: R 0 -> 0; G 114/255 = 0.44706 -> ((0.44706+0.055)/1.055)^2.4
    # = 0.16827; B 178/255 = 0.69804 -> (0.71378)^2.4 = 0.44519; L = 0.7152*0.16827 +
    # 0.0722*0.44519 = 0.15249; white text: 1.05 / 0.20249 = 5.19 (black would be 4.05).
    assert charts.relative_luminance("#0072B2") == pytest.approx(0.15249, abs=5e-5)
    assert charts.status_text_color("improving") == "#FFFFFF"
    for status, color in charts.STATUS_COLORS.items():
        lb = charts.relative_luminance(color)
        lt = charts.relative_luminance(charts.status_text_color(status))
        ratio = (max(lb, lt) + 0.05) / (min(lb, lt) + 0.05)
        assert ratio >= 4.5, (status, ratio)
    # the good/partway/bad hues differ (the word is written too)
    assert len({charts.STATUS_COLORS[s] for s in ("met", "on track", "progressing",
                                                   "off track")}) == 4


def test_format_value_by_unit():
    assert charts.format_value(0.784, "percent") == "78%"          # 78.4% rounds to 78%
    assert charts.format_value(-12.34, "points") == "-12.3 pts"
    assert charts.format_value(1.234, "ratio") == "1.23"
    assert charts.format_value(None, "ratio") == "no value"
    assert charts.measure_unit(SUSPENSION_RR) == "ratio"


def test_trend_draws_published_years_and_the_target():
    chart = charts.trend_chart(HISTORY, BELONGING)
    out = svg(chart)
    # two published years -> two points; the target's diamond is a third symbol
    assert marks(out, "symbol") == 3
    assert "Target 80% (2024-25)" in out
    assert "2021-22" not in out        # the suppressed year is omitted, not drawn as zero
    assert "2020-21" in out and "2024-25" in out


def test_trend_text_alternative_lists_every_year():
    text = charts.alt_text(charts.trend_chart(HISTORY, BELONGING, place="District"))
    assert text == (
        "Line chart of Students who feel they belong for District, 2020-21 to 2022-23: "
        "2020-21 70% (95% interval 66% to 74%); 2022-23 76% (95% interval 72% to 80%). "
        "Target: 80% by 2024-25. Not shown (to protect small groups) or no data: 2021-22.")


def test_breakdown_draws_no_bar_for_a_suppressed_group():
    chart = charts.breakdown_chart(BREAKDOWN, BELONGING)
    out = svg(chart)
    assert marks(out, "rect") == 3               # black, white, hispanic; asian has no bar
    assert "n &lt; 10" in out or "n < 10" in out  # asian is written as text instead
    assert "All: 76%" in out                      # the all-students rule's label
    for label in ("Black", "White", "Hispanic", "Asian"):
        assert label in out


def test_breakdown_text_alternative():
    text = charts.alt_text(charts.breakdown_chart(BREAKDOWN, BELONGING, place="District"))
    # groups in the contract's order: hispanic, (asian suppressed), black, white
    assert text == (
        "Bar chart of Students who feel they belong by race/ethnicity at District, 2022-23: "
        "Hispanic 70%; Black 60%; White 80%. All students: 76%. Not shown (to protect small "
        "groups) or no data: Asian (n < 10).")


def test_select_mode_filters_in_place_with_params():
    # two buildings in one frame: the selection picks B2, and the params carry it
    two = frame([*BREAKDOWN.to_dict("records"),
                 row("2022-23", 0.50, 0.40, 0.60, building="B2", group_by="race_ethnicity",
                     group="black", display="50%"),
                 row("2022-23", 0.55, 0.45, 0.65, building="B2", display="55%")])
    chart = charts.breakdown_chart(two, BELONGING,
                                   select={"building": "B2", "year": "2022-23",
                                           "group_by": "race_ethnicity"})
    params = {p["name"]: p["value"] for p in chart.to_dict()["params"]}
    assert params == {"building": "B2", "year": "2022-23", "group_by": "race_ethnicity"}
    out = svg(chart)
    assert marks(out, "rect") == 1               # only B2's one published group
    assert "All: 55%" in out
    assert charts.breakdown_parts(two, {"building": "B2", "year": "2022-23",
                                        "group_by": "race_ethnicity"})[0][0]["display"] == "50%"


def test_risk_ratio_axis_is_not_percent():
    rr = frame([row("2022-23", 2.4, 1.8, 3.2, group_by="race_ethnicity", group="black",
                    display="2.40", measure=SUSPENSION_RR.id),
                row("2022-23", 1.0, 0.9, 1.1, display="1.00", measure=SUSPENSION_RR.id)])
    out = svg(charts.breakdown_chart(rr, SUSPENSION_RR))
    assert "Risk ratio" in out and "%" not in re.sub(r"<style.*?</style>", "", out, flags=re.S)


@pytest.mark.parametrize("builder", ["trend", "breakdown"])
def test_builders_return_charts_and_never_display(builder, capsys):
    chart = (charts.trend_chart(HISTORY, BELONGING) if builder == "trend"
             else charts.breakdown_chart(BREAKDOWN, BELONGING))
    assert isinstance(chart, alt.TopLevelMixin)
    assert capsys.readouterr().out == ""
