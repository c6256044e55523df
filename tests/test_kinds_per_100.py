"""per_100: distinct incidents per 100 enrolled students."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.per_100 import compute
from test_kinds_common import Y, Z, approx, cell, enrollment, measure

ENR = enrollment([{"student_id": f"a{i}", "grade": 3 if i < 5 else 7} for i in range(10)]
                 + [{"student_id": f"b{i}", "grade": 10, "building_id": "B2"} for i in range(5)]
                 + [{"student_id": "m", "grade": 7}, {"student_id": "m", "grade": 7,
                                                      "building_id": "B2"}])
DISC = pd.DataFrame([
    (Y, "i1", "a0", "B1", "bullying", "referral"),   # one incident, two students
    (Y, "i1", "a5", "B1", "bullying", "referral"),
    (Y, "i2", "a1", "B1", "bullying", "referral"),   # one incident, two actions
    (Y, "i2", "a1", "B1", "bullying", "iss"),
    (Y, "i3", "a2", "B1", "bias_incident", "referral"),
    (Y, "i4", "b0", "B2", "bullying", "oss"),
    (Y, "i5", "m", "B2", "bullying", "referral"),
    ("2022-23", "i0", "a0", "B1", "bullying", "oss"),
], columns=["school_year", "incident_id", "student_id", "building_id", "category", "action"])
DISC["incident_date"], DISC["days_removed"] = "2023-10-01", 0
TABLES = {"enrollment": ENR, "discipline": DISC}
BULLYING = measure("per_100", "discipline", {"category": ["bullying"]}, groups=["grade_band"])


def test_incidents_per_100():
    out = compute(TABLES, BULLYING, Y, None)
    d = cell(out)
    # district: i1 i2 i4 i5 = 4 incidents over 16 distinct students (m once) -> 25.0
    assert (d["numerator"], d["denominator"], d["n"]) == (4, 16, 16)
    assert d["value"] == approx(25.0)
    # exact (Garwood) limits of a count of 4, from the tables: 1.0899 .. 10.2416; per 16 x 100
    lower, upper = 1.0899 / 16 * 100, 10.2416 / 16 * 100
    assert (d["ci_low"], d["ci_high"]) == (approx(lower, abs=1e-3), approx(upper, abs=1e-3))
    # B1: i1, i2 over a0-a9 and m = 2 / 11; B2: i4, i5 over b0-b4 and m = 2 / 6
    assert cell(out, "B1")["value"] == approx(200 / 11)
    assert cell(out, "B2")["value"] == approx(200 / 6)
    assert pd.isna(d["comparison_value"])


def test_group_rows_count_incidents_involving_the_group():
    out = compute(TABLES, BULLYING, Y, None)
    # elementary a0-a4: i1 (a0), i2 (a1) -> 2 per 5 = 40; middle a5-a9 and m: i1 (a5), i5 (m)
    # -> 2 per 6; high b0-b4: i4 -> 1 per 5 = 20. i1 counts in both elementary and middle.
    assert cell(out, "ALL", "grade_band", "elementary")["value"] == approx(40.0)
    assert cell(out, "ALL", "grade_band", "middle")["value"] == approx(200 / 6)
    assert cell(out, "ALL", "grade_band", "high")["value"] == approx(20.0)
    # B2 middle: m only, with i5 -> 1 per 1 = 100
    assert cell(out, "B2", "grade_band", "middle")["value"] == approx(100.0)


def test_all_categories_and_zero():
    every = measure("per_100", "discipline", {})
    assert cell(compute(TABLES, every, Y, None), "B1")["numerator"] == 3   # i1 i2 i3
    fights = measure("per_100", "discipline", {"category": ["fighting"]})
    d = cell(compute(TABLES, fights, Y, None))
    assert (d["numerator"], d["value"], d["ci_low"]) == (0, 0.0, 0.0)
    # exact upper limit for x = 0: -ln(0.025) = 3.6889, per 16 x 100
    assert d["ci_high"] == approx(3.6889 / 16 * 100, abs=1e-3)


def test_no_data():
    with pytest.raises(NoData, match="discipline not provided"):
        compute({"enrollment": ENR}, BULLYING, Y, None)
    with pytest.raises(NoData, match="enrollment not provided"):
        compute({"discipline": DISC}, BULLYING, Y, None)
