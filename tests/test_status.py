"""status: every status word on hand-worked cases."""

import math

import pandas as pd
import pytest

from plan_metrics import status
from plan_metrics.plan import Measure


def measure(direction="higher", target=None, kind="rate", source="enrollment",
            spec=None, baseline_year=None, groups=()):
    return Measure(id="m", title="m", kind=kind, source=source,
                   spec={"condition": "not_chronically_absent"} if spec is None else spec, direction=direction,
                   target=target, baseline_year=baseline_year, groups=list(groups))


def hist(*rows):
    """(year, value, low, high[, n, suppressed])"""
    out = []
    for r in rows:
        y, v, lo, hi = r[:4]
        out.append({"school_year": y, "value": v, "ci_low": lo, "ci_high": hi,
                    "n": r[4] if len(r) > 4 else 200, "suppressed": r[5] if len(r) > 5 else False})
    return pd.DataFrame(out)


TARGET = {"value": 0.85, "year": "2025-26"}
# baseline 70% (65..75%) in 2020-21, target 85% by 2025-26: 5 years; in 2023-24 (3 years on) the
# trajectory expects 0.70 + 0.15 * 3/5 = 0.79.
BASE = ("2020-21", 0.70, 0.65, 0.75)


def test_met():
    row = status.compute(measure(target=TARGET), hist(BASE, ("2023-24", 0.86, 0.83, 0.89)),
                         "2023-24", "p")
    assert row["status"] == "met"
    assert row["rule_text"] == ("met: 86% reached the target of 85% set for 2025-26 "
                                "(baseline 70% in 2020-21)")
    assert row["baseline_year"] == "2020-21" and row["baseline_value"] == 0.70


def test_on_track():
    row = status.compute(measure(target=TARGET), hist(BASE, ("2023-24", 0.80, 0.77, 0.83)),
                         "2023-24", "p")
    assert row["status"] == "on track"
    assert row["expected_value"] == pytest.approx(0.79)
    assert row["rule_text"] == ("on track: 80% vs 79% expected for 2023-24 (baseline 70% in "
                                "2020-21, target 85% by 2025-26)")


def test_progressing():
    # 0.76 (0.73..0.79) vs 0.70 (0.65..0.75): change 0.06, MOVER low = 0.06 - sqrt(0.03² + 0.05²)
    # = 0.06 - 0.0583 = 0.0017 > 0: a real improvement, but below the expected 0.79
    row = status.compute(measure(target=TARGET), hist(BASE, ("2023-24", 0.76, 0.73, 0.79)),
                         "2023-24", "p")
    assert row["status"] == "progressing"
    assert row["rule_text"].startswith("progressing: 76% vs 79% expected for 2023-24; better "
                                       "than the baseline 70% in 2020-21 by +6.0 pts (95% "
                                       "interval +0.2 pts to +11.8 pts)")


def test_off_track():
    # 0.72 (0.69..0.75): change 0.02, low = 0.02 - 0.0583 < 0: not real; below 0.79
    row = status.compute(measure(target=TARGET), hist(BASE, ("2023-24", 0.72, 0.69, 0.75)),
                         "2023-24", "p")
    assert row["status"] == "off track"


def test_off_track_after_the_target_year():
    # past 2025-26 the trajectory is the target itself: 0.84 < 0.85, and a real improvement
    row = status.compute(measure(target=TARGET), hist(BASE, ("2026-27", 0.84, 0.82, 0.86)),
                         "2026-27", "p")
    assert row["expected_value"] == pytest.approx(0.85)
    assert row["status"] == "progressing"


def test_rule_text_shows_a_decimal_where_whole_percents_look_equal():
    # expected 0.79; value 0.788 would read "79% vs 79%": shown as 78.8% vs 79.0%
    row = status.compute(measure(target=TARGET), hist(BASE, ("2023-24", 0.788, 0.76, 0.81)),
                         "2023-24", "p")
    assert row["status"] == "progressing"
    assert row["rule_text"].startswith("progressing: 78.8% vs 79.0% expected")


@pytest.mark.parametrize("now,word", [
    (("2023-24", 0.76, 0.73, 0.79), "improving"),        # change +0.06, low +0.0017 (above)
    (("2023-24", 0.72, 0.69, 0.75), "no clear change"),  # change +0.02, low -0.038
    # change -0.08, high = -0.08 + sqrt((0.65-0.62)² + (0.70-0.65)²) = -0.08 + 0.0583 = -0.0217
    (("2023-24", 0.62, 0.59, 0.65), "declining"),
])
def test_without_target(now, word):
    row = status.compute(measure(), hist(BASE, now), "2023-24", "p")
    assert row["status"] == word
    assert row["rule_text"].startswith(word + ": ")
    assert math.isnan(row["expected_value"])


def test_lower_is_better():
    # suspension rate 10% (8..12%) -> 6% (5..7%): change -0.04, high = -0.04 + sqrt(0.01² + 0.02²)
    # = -0.04 + 0.0224 = -0.0176 < 0: real and lower -> improving
    m = measure(direction="lower")
    row = status.compute(m, hist(("2021-22", 0.10, 0.08, 0.12), ("2023-24", 0.06, 0.05, 0.07)),
                         "2023-24")
    assert row["status"] == "improving"


def test_toward_one_trajectory_in_log_distance():
    # RR 2.0 (1.6..2.5) in 2020-21, target 1.5 by 2025-26; 2023-24 is 3/5 of the way:
    # expected distance = ln 2 + (ln 1.5 - ln 2)·0.6 = 0.693147 - 0.287682·0.6 = 0.520538,
    # expected RR = e^0.520538 = 1.6829; 1.6 has distance ln 1.6 = 0.4700 < 0.5205 -> on track
    m = measure(direction="toward_one", target={"value": 1.5, "year": "2025-26"},
                kind="risk_ratio", source="discipline", spec={"event": ["oss"]})
    row = status.compute(m, hist(("2020-21", 2.0, 1.6, 2.5), ("2023-24", 1.6, 1.3, 1.97)),
                         "2023-24")
    assert row["expected_value"] == pytest.approx(1.6829, abs=1e-4)
    assert row["status"] == "on track"
    assert row["rule_text"].endswith("(closer to 1 is better)")
    # 0.7 is below parity: distance |ln 0.7| = 0.3567 <= ln 1.5 = 0.4055 -> met
    row = status.compute(m, hist(("2020-21", 2.0, 1.6, 2.5), ("2023-24", 0.7, 0.6, 0.8)),
                         "2023-24")
    assert row["status"] == "met"


def test_toward_one_without_target_can_cross_parity():
    # 1.8 (1.5..2.1) -> 0.6 (0.5..0.7): |ln 0.6| = 0.511 < |ln 1.8| = 0.588 -> better; the change
    # -1.2 has high = -1.2 + sqrt(0.1² + 0.3²) = -0.884 < 0: real -> improving
    m = measure(direction="toward_one", kind="risk_ratio", source="discipline",
                spec={"event": ["oss"]})
    row = status.compute(m, hist(("2021-22", 1.8, 1.5, 2.1), ("2023-24", 0.6, 0.5, 0.7)),
                         "2023-24")
    assert row["status"] == "improving"


def test_toward_zero_gap():
    # gap -20 pts (-25..-15) -> -12 pts (-16..-8): change +8, low = 8 - sqrt(4² + 5²) = 1.60 > 0
    # and |-12| < |-20| -> improving
    m = measure(direction="toward_zero", kind="representation_gap", source="staff", spec={})
    row = status.compute(m, hist(("2021-22", -20.0, -25.0, -15.0),
                                 ("2023-24", -12.0, -16.0, -8.0)), "2023-24")
    assert row["status"] == "improving"
    assert "-12.0 pts in 2023-24 vs the baseline -20.0 pts" in row["rule_text"]


def test_focus_group_for_a_measure_that_compares_groups():
    # the all row has people but no ratio; black 2.4 is farthest from parity (|ln 2.4| = 0.875 vs
    # |ln 0.7| = 0.357); its baseline 3.0 (2.5..3.6) -> 2.4 (2.0..2.9): change -0.6, high =
    # -0.6 + sqrt(0.5² + 0.5²) = 0.107 > 0 -> not real -> no clear change
    m = measure(direction="toward_one", kind="risk_ratio", source="discipline",
                spec={"event": ["oss"]}, groups=["race_ethnicity"])
    h = pd.DataFrame([
        {"school_year": "2022-23", "group_by": "all", "group": "all", "n": 500, "value": None},
        {"school_year": "2022-23", "group_by": "race_ethnicity", "group": "black", "n": 100,
         "value": 3.0, "ci_low": 2.5, "ci_high": 3.5},
        {"school_year": "2023-24", "group_by": "all", "group": "all", "n": 500, "value": None},
        {"school_year": "2023-24", "group_by": "race_ethnicity", "group": "black", "n": 100,
         "value": 2.4, "ci_low": 2.0, "ci_high": 2.9},
        {"school_year": "2023-24", "group_by": "race_ethnicity", "group": "white", "n": 300,
         "value": 0.7, "ci_low": 0.6, "ci_high": 0.8},
    ]).assign(suppressed=False)
    assert status.focus_group(m, h[h["school_year"] == "2023-24"]) == ("race_ethnicity", "black")
    row = status.compute(m, h, "2023-24", "p")
    assert row["status"] == "no clear change" and row["value"] == 2.4
    assert row["rule_text"].startswith("no clear change (Black students, the group farthest "
                                       "from parity in 2023-24): 2.40 in 2023-24 vs the "
                                       "baseline 3.00 in 2022-23")


def test_focus_prefers_the_yes_side_of_a_yes_no_group():
    # IEP yes 2.2 and IEP no 0.45 (= 1/2.2) are the same disparity seen from both sides:
    # |ln 0.45| = 0.799 > |ln 2.2| = 0.788, but the rule names students with an IEP
    m = measure(direction="toward_one", kind="risk_ratio", source="discipline",
                spec={"event": ["oss"]}, groups=["disability"])
    now = pd.DataFrame([
        {"group_by": "all", "group": "all", "n": 500, "value": None},
        {"group_by": "disability", "group": "true", "n": 60, "value": 2.2},
        {"group_by": "disability", "group": "false", "n": 440, "value": 0.45},
    ]).assign(suppressed=False)
    assert status.focus_group(m, now) == ("disability", "true")
    # with the yes side hidden, the no side stands for the group
    now.loc[1, ["suppressed", "value"]] = [True, None]
    assert status.focus_group(m, now) == ("disability", "false")


def test_not_enough_data():
    m = measure()
    # this year's cell is suppressed
    row = status.compute(m, hist(BASE, ("2023-24", None, None, None, None, True)), "2023-24",
                         min_n=10)
    assert row["status"] == "not enough data"
    assert row["rule_text"] == ("not enough data: the 2023-24 value is not shown (it is hidden to "
                                "protect small groups)")
    # this year is the baseline (first year with data)
    row = status.compute(m, hist(("2023-24", 0.7, 0.65, 0.75)), "2023-24")
    assert row["status"] == "not enough data" and "baseline year" in row["rule_text"]
    # no row at all for this year
    row = status.compute(m, hist(BASE), "2023-24")
    assert row["rule_text"] == "not enough data: no data for 2023-24"
    # the plan's baseline year has no published value
    m2 = measure(baseline_year="2021-22")
    row = status.compute(m2, hist(("2021-22", None, None, None, None, True),
                                  ("2023-24", 0.7, 0.65, 0.75)), "2023-24")
    assert row["status"] == "not enough data" and "2021-22" in row["rule_text"]
    # an earlier suppressed year is skipped when looking for the baseline
    row = status.compute(m, hist(("2019-20", None, None, None, None, True), BASE,
                                 ("2023-24", 0.76, 0.73, 0.79)), "2023-24")
    assert row["baseline_year"] == "2020-21" and row["status"] == "improving"


def test_census_values_without_interval_are_exact():
    # action steps: 40% complete -> 55% complete, no intervals: a real change of +15 points
    m = measure(kind="action_completion", source="action_steps", spec={"plan_id": "x"})
    row = status.compute(m, hist(("2022-23", 0.40, None, None, None),
                                 ("2023-24", 0.55, None, None, None)), "2023-24")
    assert row["status"] == "improving"
