"""representation_gap: the teacher diversity gap, in percentage points."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.representation import compute
from test_kinds_common import Y, approx, cell, enrollment, measure, wilson_by_hand

STAFF = pd.DataFrame([
    ("t1", "B1", "teacher", "black", False), ("t2", "B1", "teacher", "white", False),
    ("t3", "B1", "teacher", "white", False), ("t4", "B1", "teacher", "asian", True),
    ("t5", "B2", "teacher", "white", False), ("t6", "B2", "teacher", "hispanic", True),
    ("t7", "B1", "teacher", "white", False), ("t7", "B2", "teacher", "white", False),
    ("a1", "B1", "administrator", "black", False),
], columns=["staff_id", "building_id", "role", "race_ethnicity", "new_hire"])
STAFF["school_year"], STAFF["gender"], STAFF["fte"] = Y, "female", 0.5
STAFF["separated_end_of_year"] = False
ENR = enrollment([{"student_id": f"c{i}", "race_ethnicity": "black"} for i in range(5)]
                 + [{"student_id": f"w{i}"} for i in range(5)]
                 + [{"student_id": f"x{i}", "building_id": "B2"} for i in range(4)])
TABLES = {"staff": STAFF, "enrollment": ENR}
GAP = measure("representation_gap", "staff", {"role": "teacher"}, groups=["race_ethnicity"])


def test_gap_per_building_and_district():
    out = compute(TABLES, GAP, Y, None)
    assert set(out["group_by"]) == {"all"}            # no student-group rows
    b1 = cell(out, "B1")
    # B1 teachers t1 t2 t3 t4 t7: of color t1, t4 -> 40%; students 5 of 10 -> 50%: -10.0 points
    assert (b1["numerator"], b1["denominator"], b1["n"]) == (2, 5, 5)
    assert b1["value"] == approx(-10.0)
    assert b1["comparison_value"] == approx(0.5)
    assert "ratio 0.80" in b1["note"]                  # 0.40 / 0.50
    l1, u1 = wilson_by_hand(2, 5)
    l0, u0 = wilson_by_hand(5, 10)
    assert b1["ci_low"] == approx(100 * (-0.1 - math.sqrt((0.4 - l1) ** 2 + (u0 - 0.5) ** 2)))
    assert b1["ci_high"] == approx(100 * (-0.1 + math.sqrt((u1 - 0.4) ** 2 + (0.5 - l0) ** 2)))
    d = cell(out)
    # district: 7 teachers (t7 once, by headcount), 3 of color = 6/14; students 5 of 14
    assert (d["numerator"], d["n"]) == (3, 7)
    assert d["value"] == approx(100 / 14)              # (6 - 5) / 14 x 100 = 7.14 points
    assert "ratio 1.20" in d["note"]                   # (6/14) / (5/14)
    b2 = cell(out, "B2")                               # 1 of 3 teachers; no students of color
    assert b2["value"] == approx(100 / 3)
    assert "no ratio" in b2["note"]


def test_new_hires_only():
    m = measure("representation_gap", "staff", {"role": "teacher", "new_hires_only": True})
    out = compute(TABLES, m, Y, None)
    d = cell(out)                                      # t4, t6: both of color -> 100% - 5/14
    assert (d["numerator"], d["n"]) == (2, 2)
    assert d["value"] == approx(100 * (1 - 5 / 14))


def test_no_data():
    with pytest.raises(NoData, match="staff not provided"):
        compute({"enrollment": ENR}, GAP, Y, None)
    with pytest.raises(NoData, match="enrollment not provided"):
        compute({"staff": STAFF}, GAP, Y, None)
    none_new = STAFF.assign(new_hire=False)
    m = measure("representation_gap", "staff", {"new_hires_only": True})
    with pytest.raises(NoData, match="no newly hired teacher staff"):
        compute({"staff": none_new, "enrollment": ENR}, m, Y, None)
