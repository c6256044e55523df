"""rate: chronic absence (EDFacts FS195), students with a discipline action, staff retention."""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.rate import compute
from plan_metrics.options import Options
from test_kinds_common import Y, approx, cell, enrollment, measure, wilson_by_hand

ATTENDANCE = enrollment([
    {"student_id": "s1", "days_enrolled": 180, "days_absent": 18},  # exactly 10%: chronic
    {"student_id": "s2", "days_enrolled": 172, "days_absent": 17, "gender": "male"},  # 9.88%: not
    {"student_id": "s3", "days_enrolled": 9, "days_absent": 0},     # < 10 days enrolled: out
    {"student_id": "s4", "days_enrolled": 180, "days_absent": 0, "grade": 9},
    # s5 moved: 9 of 100 in B1 (9%), 10 of 80 in B2 (12.5%); the district adds: 19 of 180 (10.6%)
    {"student_id": "s5", "days_enrolled": 100, "days_absent": 9, "gender": "male"},
    {"student_id": "s5", "days_enrolled": 80, "days_absent": 10, "gender": "male",
     "building_id": "B2"},
    {"student_id": "s6", "days_enrolled": 100, "days_absent": 20, "gender": "male",
     "building_id": "B2"},                                           # 20%: chronic
])
ABSENT = measure("rate", "enrollment", {"condition": "not_chronically_absent"}, groups=["gender"])


def test_edfacts_examples_and_moves():
    out = compute({"enrollment": ATTENDANCE}, ABSENT, Y, Options())
    # district: s1 s2 s4 s5 s6 counted (s3 out); not chronic: s2, s4 -> 2 of 5
    d = cell(out)
    assert (d["numerator"], d["denominator"], d["n"]) == (2, 5, 5)
    assert d["value"] == approx(0.4)
    assert (d["ci_low"], d["ci_high"]) == tuple(map(approx, wilson_by_hand(2, 5)))
    # B1: s1 (chronic) s2 s4 s5 (9% there) -> 3 of 4; B2: s5 (12.5%) s6 (20%) -> 0 of 2
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (3, 4)
    assert (cell(out, "B2")["numerator"], cell(out, "B2")["n"]) == (0, 2)


def test_groups_and_comparison():
    out = compute({"enrollment": ATTENDANCE}, ABSENT, Y, Options())
    f = cell(out, "ALL", "gender", "female")   # s1 (chronic), s4 -> 1 of 2; others 1 of 3 (s2)
    assert (f["value"], f["n"]) == (0.5, 2)
    assert f["comparison_value"] == approx(1 / 3)
    m = cell(out, "ALL", "gender", "male")     # s2, s5, s6 -> 1 of 3; others 1 of 2
    assert (m["value"], m["comparison_value"]) == (approx(1 / 3), 0.5)


def test_chronically_absent_and_thresholds():
    m = measure("rate", "enrollment", {"condition": "chronically_absent"})
    assert cell(compute({"enrollment": ATTENDANCE}, m, Y, Options()))["value"] == approx(0.6)
    # option threshold 20%: s6 (exactly 20%) is chronic, s1 and s5 are not -> 4 of 5 not chronic
    d = cell(compute({"enrollment": ATTENDANCE}, ABSENT, Y, Options(chronic_threshold=0.2)))
    assert d["numerator"] == 4
    # a threshold written in the plan wins over the run option
    fixed = measure("rate", "enrollment", {"condition": "not_chronically_absent",
                                           "threshold": 0.10})
    d = cell(compute({"enrollment": ATTENDANCE}, fixed, Y, Options(chronic_threshold=0.2)))
    assert d["numerator"] == 2


def test_population_and_min_days():
    high = measure("rate", "enrollment", {"condition": "not_chronically_absent",
                                          "population": {"grade_band": ["high"]}})
    d = cell(compute({"enrollment": ATTENDANCE}, high, Y, Options()))
    assert (d["numerator"], d["n"]) == (1, 1)       # s4 only
    strict = measure("rate", "enrollment", {"condition": "not_chronically_absent",
                                            "min_days_enrolled": 150})
    out = compute({"enrollment": ATTENDANCE}, strict, Y, Options())
    # district: s1 s2 s4 s5 (180 days in all) -> s2 s4 of 4; B2 has nobody with 150 days
    assert (cell(out)["numerator"], cell(out)["n"]) == (2, 4)
    assert "B2" not in set(out["building_id"])


ENR = enrollment([
    {"student_id": "a1", "econ_disadvantaged": True}, {"student_id": "a2"},
    {"student_id": "a3"}, {"student_id": "a4"},
    {"student_id": "b1", "building_id": "B2", "econ_disadvantaged": True},
    {"student_id": "b2", "building_id": "B2"},
    {"student_id": "m", "days_enrolled": 100}, {"student_id": "m", "building_id": "B2",
                                                "days_enrolled": 80},
])
DISC = pd.DataFrame([
    (Y, "i1", "a1", "B1", "oss"), (Y, "i2", "a1", "B1", "referral"), (Y, "i3", "a2", "B1",
                                                                       "referral"),
    (Y, "i4", "m", "B2", "iss"), (Y, "i5", "b1", "B2", "expulsion"),
    ("2022-23", "i0", "a3", "B1", "oss"),
], columns=["school_year", "incident_id", "student_id", "building_id", "action"])
DISC["category"], DISC["incident_date"], DISC["days_removed"] = "fighting", "2023-10-01", 1
SUSP = measure("rate", "discipline", {"condition": "has_action", "actions": ["iss", "oss",
                                                                             "expulsion"]},
               groups=["econ_disadvantaged"])


def test_has_action():
    out = compute({"enrollment": ENR, "discipline": DISC}, SUSP, Y, None)
    # district: 7 students (a1-a4, b1, b2, m); suspended: a1, m, b1 -> 3 of 7 (a2: referral only)
    assert (cell(out)["numerator"], cell(out)["n"]) == (3, 7)
    # B1: a1-a4, m -> a1 only (m's suspension was at B2): 1 of 5; B2: b1, b2, m -> 2 of 3
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (1, 5)
    assert (cell(out, "B2")["numerator"], cell(out, "B2")["n"]) == (2, 3)
    t = cell(out, "ALL", "econ_disadvantaged", "true")   # a1, b1: 2 of 2; others m: 1 of 5
    assert (t["value"], t["comparison_value"]) == (1.0, approx(0.2))
    f = cell(out, "ALL", "econ_disadvantaged", "false")
    assert (f["value"], f["comparison_value"]) == (approx(0.2), 1.0)


def test_has_action_no_data():
    with pytest.raises(NoData, match="discipline not provided"):
        compute({"enrollment": ENR}, SUSP, Y, None)
    with pytest.raises(NoData, match="enrollment not provided"):
        compute({"discipline": DISC}, SUSP, Y, None)
    with pytest.raises(NoData, match="no rows for 2024-25"):
        compute({"enrollment": ENR, "discipline": DISC}, SUSP, "2024-25", None)


STAFF = pd.DataFrame([
    ("t1", "B1", "teacher", "black", False), ("t2", "B1", "teacher", "white", True),
    ("t3", "B2", "teacher", "black", False),
    ("t4", "B1", "teacher", "white", True), ("t4", "B2", "teacher", "white", True),
    ("a1", "B1", "administrator", "black", True),
], columns=["staff_id", "building_id", "role", "race_ethnicity", "separated_end_of_year"])
STAFF["school_year"], STAFF["gender"], STAFF["fte"], STAFF["new_hire"] = Y, "female", 1.0, False


def test_teacher_retention_headcount():
    m = measure("rate", "staff", {"condition": "not_separated", "role": "teacher"},
                groups=["race_ethnicity", "disability"])
    out = compute({"staff": STAFF}, m, Y, None)
    # district: t1..t4 (t4 once, the administrator is not a teacher); stayed: t1, t3 -> 2 of 4
    assert (cell(out)["numerator"], cell(out)["n"]) == (2, 4)
    # B1: t1, t2, t4 -> 1 of 3; B2: t3, t4 -> 1 of 2
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (1, 3)
    assert (cell(out, "B2")["numerator"], cell(out, "B2")["n"]) == (1, 2)
    b = cell(out, "ALL", "race_ethnicity", "black")   # t1, t3 stayed: 2 of 2; white 0 of 2
    assert (b["value"], b["comparison_value"]) == (1.0, 0.0)
    assert "disability" not in set(out["group_by"])  # staff have no student groups


@pytest.mark.parametrize("absent, enrolled, counted, chronic", [
    (18, 180, True, True),    # exactly 10%: chronically absent (EDFacts FS195)
    (17, 172, True, False),   # 9.88%: not
    (17, 170, True, True),    # exactly 10% again
    (1, 10, True, True),      # 10 days enrolled is enough to count; 1 of 10 is 10%
    (0, 9, False, None),      # under 10 days enrolled: out of the population
    (0, 180, True, False),
    (180, 180, True, True),
])
def test_chronic_absence_rule_table(absent, enrolled, counted, chronic):
    enr = enrollment([{"student_id": "s", "days_absent": absent, "days_enrolled": enrolled},
                      {"student_id": "t"}])                      # t: 0 of 180, never chronic
    d = cell(compute({"enrollment": enr}, ABSENT, Y, Options()))
    assert d["n"] == (2 if counted else 1)
    if counted:
        assert d["numerator"] == (1 if chronic else 2)         # t is always not chronic


def test_no_days_enrolled_is_never_counted():
    # min_days_enrolled 0 in the plan still cannot count a student with 0 days (0/0)
    enr = enrollment([{"student_id": "z", "days_enrolled": 0, "days_absent": 0},
                      {"student_id": "t"}])
    m = measure("rate", "enrollment", {"condition": "not_chronically_absent",
                                       "min_days_enrolled": 0})
    assert cell(compute({"enrollment": enr}, m, Y, Options()))["n"] == 1
