"""risk_ratio: IDEA significant disproportionality (34 CFR 300.647) risk ratios."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.risk_ratio import compute
from plan_metrics.options import Options
from test_kinds_common import Y, Z, approx, cell, enrollment, measure


def discipline(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """rows of (school_year, student_id, building_id, action); one incident per row."""
    df = pd.DataFrame(rows, columns=["school_year", "student_id", "building_id", "action"])
    df["incident_id"] = [f"i{i}" for i in range(len(df))]
    df["category"], df["incident_date"], df["days_removed"] = "fighting", "2023-10-01", 1
    return df


# The public worked example: 80 of 400 students of the group with an event vs 160 of 1,600 others.
# The same students are also the disability yes (400) / no (1,600) groups.
EX_ENR = enrollment(
    [{"student_id": f"g{i}", "race_ethnicity": "black", "disability": True} for i in range(400)]
    + [{"student_id": f"o{i}", "race_ethnicity": "white"} for i in range(1600)])
EX_DISC = discipline([(Y, f"g{i}", "B1", "oss") for i in range(80)]
                     + [(Y, f"g{i}", "B1", "iss") for i in range(40)]   # a second event, same kids
                     + [(Y, f"g{i}", "B1", "referral") for i in range(80, 200)]  # not an event
                     + [(Y, f"o{i}", "B1", "oss") for i in range(160)])
EX = {"enrollment": EX_ENR, "discipline": EX_DISC}
SUSP = measure("risk_ratio", "discipline", {"event": ["iss", "oss", "expulsion"]},
               groups=["race_ethnicity", "disability"])


def test_public_worked_example_rr_2():
    out = compute(EX, SUSP, Y, Options())
    b = cell(out, "ALL", "race_ethnicity", "black")
    # risk 80/400 = 0.20 vs 160/1600 = 0.10 -> RR 2.0
    assert b["value"] == approx(2.0)
    assert b["comparison_value"] == approx(0.10)
    assert (b["numerator"], b["denominator"], b["n"]) == (80, 400, 400)
    # Katz: ln 2 ± Z sqrt(1/80 - 1/400 + 1/160 - 1/1600) = ln 2 ± Z sqrt(0.015625) = ln 2 ± Z 0.125
    se = math.sqrt(1 / 80 - 1 / 400 + 1 / 160 - 1 / 1600)
    assert se == pytest.approx(0.125)
    assert b["ci_low"] == approx(2 * math.exp(-Z * 0.125))    # ≈ 1.565
    assert b["ci_high"] == approx(2 * math.exp(Z * 0.125))    # ≈ 2.555
    assert "risk 20.0% vs 10.0% (difference +10.0 points)" in b["note"]
    w = cell(out, "ALL", "race_ethnicity", "white")           # 0.10 / 0.20 = 0.5
    assert (w["value"], w["comparison_value"]) == (approx(0.5), approx(0.2))
    assert "(difference -10.0 points)" in w["note"]


def test_yes_no_group_compares_yes_with_no():
    out = compute(EX, SUSP, Y, Options())
    yes = cell(out, "ALL", "disability", "true")
    no = cell(out, "ALL", "disability", "false")
    assert (yes["value"], yes["comparison_value"]) == (approx(2.0), approx(0.1))
    # the 'false' row compares the students without an IEP with those with one: 0.10 / 0.20
    assert (no["value"], no["comparison_value"]) == (approx(0.5), approx(0.2))


def test_all_row_carries_overall_risk_not_a_ratio():
    out = compute(EX, SUSP, Y, Options())
    d = cell(out)
    # 240 students with an event of 2,000: 12.0%
    assert pd.isna(d["value"]) and pd.isna(d["comparison_value"]) and pd.isna(d["ci_low"])
    assert (d["numerator"], d["denominator"], d["n"]) == (240, 2000, 2000)
    assert d["note"].startswith("overall risk 12.0%")
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (240, 2000)


# cell-size and n-size: 40 Asian students with 9 events, 100 white students with 20 events
SMALL = {"enrollment": enrollment(
    [{"student_id": f"a{i}", "race_ethnicity": "asian"} for i in range(40)]
    + [{"student_id": f"w{i}"} for i in range(100)]),
    "discipline": discipline([(Y, f"a{i}", "B1", "oss") for i in range(9)]
                             + [(Y, f"w{i}", "B1", "oss") for i in range(20)])}
BY_RACE = measure("risk_ratio", "discipline", {"event": ["oss"]}, groups=["race_ethnicity"])


def test_cell_size_and_n_size_rules():
    out = compute(SMALL, BY_RACE, Y, Options())             # cell size 10, n-size 30
    a = cell(out, "ALL", "race_ethnicity", "asian")
    assert pd.isna(a["value"]) and pd.isna(a["ci_low"])
    assert a["note"].startswith("no ratio: fewer than 10 students with an event in the group")
    # the risks and their difference are still given: 9/40 = 22.5% vs 20/100 = 20.0%
    assert "risk 22.5% vs 20.0% (difference +2.5 points)" in a["note"]
    assert a["comparison_value"] == approx(0.2)
    w = cell(out, "ALL", "race_ethnicity", "white")
    assert pd.isna(w["value"])
    assert "fewer than 10 students with an event in the comparison group" in w["note"]
    # cell size 5: (9/40) / (20/100) = 0.225 / 0.2 = 1.125
    a5 = cell(compute(SMALL, BY_RACE, Y, Options(cell_size=5)), "ALL", "race_ethnicity", "asian")
    assert a5["value"] == approx(1.125)
    # n-size 50: the 40 Asian students are too few
    a50 = cell(compute(SMALL, BY_RACE, Y, Options(cell_size=5, n_size=50)), "ALL",
               "race_ethnicity", "asian")
    assert pd.isna(a50["value"])
    assert "fewer than 50 students enrolled in the group" in a50["note"]


def _window_tables():
    years = ["2020-21", "2021-22", "2022-23", "2023-24"]
    enr = pd.concat([enrollment([{"student_id": f"g{i}", "race_ethnicity": "black"}
                                 for i in range(20)]
                                + [{"student_id": f"w{i}"} for i in range(40)], year=y)
                     for y in years], ignore_index=True)
    rows = ([("2020-21", f"g{i}", "B1", "oss") for i in range(20)]       # outside the window
            + [("2021-22", f"g{i}", "B1", "oss") for i in range(4)]
            + [("2021-22", f"w{i}", "B1", "oss") for i in range(4)]
            + [("2022-23", f"g{i}", "B1", "oss") for i in range(6)]
            + [("2022-23", "g0", "B1", "iss")]                            # g0 twice: once
            + [("2022-23", f"w{i}", "B1", "oss") for i in range(2)]
            + [("2023-24", f"g{i}", "B1", "oss") for i in range(10)]
            + [("2023-24", f"w{i}", "B1", "oss") for i in range(6)])
    return {"enrollment": enr, "discipline": discipline(rows)}


def test_three_year_window_pools_student_years():
    tables = _window_tables()
    m3 = measure("risk_ratio", "discipline", {"event": ["iss", "oss"], "window_years": 3},
                 groups=["race_ethnicity"])
    out = compute(tables, m3, Y, Options())
    g = cell(out, "ALL", "race_ethnicity", "black")
    # events counted once per student per year: 4 + 6 + 10 = 20 of 3 x 20 = 60 student-years;
    # others 4 + 2 + 6 = 12 of 120: RR = (20/60) / (12/120) = (1/3) / 0.1 = 10/3
    assert (g["numerator"], g["denominator"], g["n"]) == (20, 60, 20)
    assert g["value"] == approx(10 / 3)
    se = math.sqrt(1 / 20 - 1 / 60 + 1 / 12 - 1 / 120)
    assert g["ci_low"] == approx(10 / 3 * math.exp(-Z * se))
    assert g["ci_high"] == approx(10 / 3 * math.exp(Z * se))
    assert "3 school years pooled (2021-22 to 2023-24)" in g["note"]
    # one year only: 10 of 20 vs 6 of 40 -> the 6 comparison events are under the cell size
    m1 = measure("risk_ratio", "discipline", {"event": ["iss", "oss"]}, groups=["race_ethnicity"])
    g1 = cell(compute(tables, m1, Y, Options()), "ALL", "race_ethnicity", "black")
    assert pd.isna(g1["value"])
    assert "fewer than 10 students with an event in the comparison group" in g1["note"]
    assert g1["comparison_value"] == approx(0.15)


def test_window_uses_the_years_that_have_data():
    tables = _window_tables()
    m5 = measure("risk_ratio", "discipline", {"event": ["oss"], "window_years": 5},
                 groups=["race_ethnicity"])
    g = cell(compute(tables, m5, Y, Options()), "ALL", "race_ethnicity", "black")
    # 2019-20 has no enrollment: 4 years pooled; g events 20 + 4 + 6 + 10 = 40 of 80
    assert (g["numerator"], g["denominator"]) == (40, 80)
    assert "4 school years pooled (2020-21 to 2023-24)" in g["note"]


def test_programs_with_high_school_population():
    enr = enrollment([{"student_id": f"h{i}", "race_ethnicity": "hispanic", "grade": 10}
                      for i in range(40)]
                     + [{"student_id": f"w{i}", "grade": 11} for i in range(60)]
                     + [{"student_id": f"e{i}", "race_ethnicity": "hispanic", "grade": 3}
                        for i in range(50)])
    prog = pd.DataFrame(
        [(f"h{i}", "ap") for i in range(10)]
        + [(f"w{i}", "ap") for i in range(10)] + [(f"w{i}", "honors") for i in range(30)]
        + [(f"e{i}", "gifted") for i in range(5)], columns=["student_id", "program"])
    prog["school_year"] = Y
    m = measure("risk_ratio", "programs", {"event": ["ap", "honors", "dual_credit"],
                                           "population": {"grade_band": ["high"]}},
                groups=["race_ethnicity"])
    out = compute({"enrollment": enr, "programs": prog}, m, Y, Options())
    # high school only: Hispanic 10 of 40 = 0.25; white 30 of 60 = 0.5 (w0-w9 have both: once)
    h = cell(out, "ALL", "race_ethnicity", "hispanic")
    assert (h["numerator"], h["denominator"], h["value"]) == (10, 40, approx(0.5))
    assert cell(out, "ALL", "race_ethnicity", "white")["value"] == approx(2.0)
    assert cell(out)["n"] == 100


def test_no_data():
    with pytest.raises(NoData, match="discipline not provided"):
        compute({"enrollment": EX_ENR}, SUSP, Y, Options())
    with pytest.raises(NoData, match="enrollment not provided"):
        compute({"discipline": EX_DISC}, SUSP, Y, Options())
    with pytest.raises(NoData, match="no rows for 2024-25"):
        compute(EX, SUSP, "2024-25", Options())


def test_group_that_is_everyone_has_no_comparison():
    enr = enrollment([{"student_id": f"s{i}", "gender": "male"} for i in range(50)])
    disc = discipline([(Y, f"s{i}", "B1", "oss") for i in range(20)])
    m = measure("risk_ratio", "discipline", {"event": ["oss"]}, groups=["gender"])
    g = cell(compute({"enrollment": enr, "discipline": disc}, m, Y, Options()), "ALL",
             "gender", "male")
    assert pd.isna(g["value"]) and pd.isna(g["comparison_value"])
    assert "no ratio: fewer than 10 students with an event in the comparison group" in g["note"]
    assert "no risk to compare" in g["note"]


def test_event_codes_must_belong_to_the_source():
    from plan_metrics.errors import PlanMetricsError
    wrong = measure("risk_ratio", "discipline", {"event": ["gifted"]})
    with pytest.raises(PlanMetricsError, match="'gifted' is not a code of table discipline"):
        compute(EX, wrong, Y, Options())
