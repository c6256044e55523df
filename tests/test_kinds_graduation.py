"""graduation_rate: the 4-year adjusted cohort graduation rate (34 CFR 200.19)."""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.graduation import compute
from test_kinds_common import Y, approx, cell, enrollment, measure, wilson_by_hand

COHORT = pd.DataFrame([
    ("c1", "B1", "graduated_on_time"), ("c2", "B1", "graduated_on_time"),
    ("c3", "B1", "graduated_late"),      # stays in the cohort, not on time
    ("c4", "B1", "dropped_out"),         # dropouts stay in the denominator
    ("c5", "B1", "still_enrolled"),
    ("c6", "B1", "transferred_out"), ("c7", "B1", "deceased"), ("c8", "B1", "other_removal"),
    ("c9", "B2", "graduated_on_time"), ("c10", "B2", "dropped_out"),
], columns=["student_id", "building_id", "outcome"]).assign(cohort=Y)
OLD = pd.DataFrame([("z1", "B1", "dropped_out")], columns=["student_id", "building_id",
                                                          "outcome"]).assign(cohort="2022-23")
ENR = pd.concat([
    enrollment([{"student_id": "c1", "gender": "female", "grade": 12},
                *[{"student_id": s, "gender": "male", "grade": 12} for s in
                  ("c2", "c3", "c5", "c9")],
                {"student_id": "c10", "gender": "female", "grade": 12}]),
    # c4 left in 2021-22: their latest row gives the group; c10's cohort-year row wins over 2022-23
    enrollment([{"student_id": "c4", "gender": "male", "grade": 10}], year="2021-22"),
    enrollment([{"student_id": "c10", "gender": "male", "grade": 11}], year="2022-23"),
], ignore_index=True)
TABLES = {"graduation_cohort": pd.concat([COHORT, OLD], ignore_index=True), "enrollment": ENR}
ACGR = measure("graduation_rate", "graduation_cohort", {}, groups=["gender"])


def test_acgr_keeps_dropouts_and_removes_documented_leavers():
    out = compute(TABLES, ACGR, Y, None)
    d = cell(out)
    # cohort 10 - transferred_out - deceased - other_removal = 7; on time c1, c2, c9 = 3
    assert (d["numerator"], d["denominator"], d["n"]) == (3, 7, 7)
    assert d["value"] == approx(3 / 7)
    assert (d["ci_low"], d["ci_high"]) == tuple(map(approx, wilson_by_hand(3, 7)))
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (2, 5)   # c1..c5
    assert (cell(out, "B2")["numerator"], cell(out, "B2")["n"]) == (1, 2)   # c9, c10


def test_groups_from_cohort_year_or_latest_enrollment():
    out = compute(TABLES, ACGR, Y, None)
    f = cell(out, "ALL", "gender", "female")   # c1 (graduated), c10 (female in the cohort year)
    assert (f["numerator"], f["n"]) == (1, 2)
    assert f["comparison_value"] == approx(2 / 5)
    m = cell(out, "ALL", "gender", "male")     # c2 c3 c5 c9 and c4 (latest row, 2021-22)
    assert (m["numerator"], m["n"]) == (2, 5)


def test_no_data():
    with pytest.raises(NoData, match="graduation_cohort not provided"):
        compute({"enrollment": ENR}, ACGR, Y, None)
    with pytest.raises(NoData, match="no rows for 2021-22"):
        compute(TABLES, ACGR, "2021-22", None)
    removed = COHORT[COHORT["outcome"].isin(["transferred_out", "deceased"])]
    with pytest.raises(NoData, match="removed"):
        compute({"graduation_cohort": removed}, ACGR, Y, None)
    # no enrollment: the all rows only
    out = compute({"graduation_cohort": COHORT}, ACGR, Y, None)
    assert set(out["group_by"]) == {"all"}
