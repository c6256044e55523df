"""proficiency: percent proficient, the MAP Performance Index and the group gap."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.proficiency import compute
from test_kinds_common import Y, Z, approx, cell, enrollment, measure, wilson_by_hand


def _tests(levels: dict[str, int], building="B1", test="map", subject="ela", year=Y):
    return pd.DataFrame({"school_year": year, "student_id": list(levels), "building_id": building,
                         "test": test, "subject": subject, "grade": 4,
                         "level": list(levels.values()), "scale_score": 400})


# 25 students at each MAP level (the public MPI example) plus rows that must be ignored
LEVELS = {f"s{i}": 1 + i // 25 for i in range(100)}
QUARTERS = pd.concat([_tests(LEVELS), _tests({"s0": 4}, subject="math"),
                      _tests({"s0": 4}, test="milestones"), _tests({"s0": 4}, year="2022-23")],
                     ignore_index=True)


def test_mpi_325():
    m = measure("proficiency", "assessments", {"test": "map", "subject": "ela",
                                               "statistic": "mpi"})
    d = cell(compute({"assessments": QUARTERS}, m, Y, None))
    # 100 x (1*25 + 3*25 + 4*25 + 5*25) / 100 = 100 x 325 / 100 = 325
    assert d["value"] == approx(325.0)
    assert (d["numerator"], d["denominator"], d["n"]) == (32500, 100, 100)
    # points 1,3,4,5 x 25: mean 3.25, sum of squares 25 x 51 = 1275,
    # s² = (1275 - 100 x 3.25²) / 99 = 218.75 / 99; half width = t sqrt(s²/100), x100, with
    # Student's t(0.975; 99) = 1.984217
    half = 100 * 1.984217 * math.sqrt(218.75 / 99 / 100)
    assert (d["ci_low"], d["ci_high"]) == (approx(325 - half, abs=1e-3), approx(325 + half, abs=1e-3))
    assert half == pytest.approx(29.50, abs=0.01)


def test_mpi_range_ends():
    m = measure("proficiency", "assessments", {"test": "map", "subject": "ela",
                                               "statistic": "mpi"})
    all_l1 = _tests({f"s{i}": 1 for i in range(10)})
    all_l4 = _tests({f"s{i}": 4 for i in range(10)})
    assert cell(compute({"assessments": all_l1}, m, Y, None))["value"] == approx(100.0)
    assert cell(compute({"assessments": all_l4}, m, Y, None))["value"] == approx(500.0)


def test_percent_proficient():
    m = measure("proficiency", "assessments", {"test": "map", "subject": "ela"})
    d = cell(compute({"assessments": QUARTERS}, m, Y, None))
    # levels 3 and 4: 50 of 100 tested
    assert (d["numerator"], d["denominator"], d["n"], d["value"]) == (50, 100, 100, 0.5)
    assert (d["ci_low"], d["ci_high"]) == tuple(map(approx, wilson_by_hand(50, 100)))


# gap: 20 econ. disadvantaged students, 10 proficient (50%); 80 others, 60 proficient (75%)
GAP_LEVELS = {**{f"g{i}": 3 if i < 10 else 2 for i in range(20)},
              **{f"o{i}": 4 if i < 60 else 1 for i in range(80)}}
GAP_TABLES = {
    "assessments": _tests(GAP_LEVELS),
    "enrollment": enrollment([{"student_id": s, "econ_disadvantaged": s.startswith("g")}
                              for s in GAP_LEVELS]),
}
GAP = measure("proficiency", "assessments", {"test": "map", "subject": "ela",
                                             "statistic": "gap"}, groups=["econ_disadvantaged"])


def test_gap_in_points_with_mover_interval():
    out = compute(GAP_TABLES, GAP, Y, None)
    t = cell(out, "ALL", "econ_disadvantaged", "true")
    # 50% - 75% = -25.0 points; comparison = the others' proportion 0.75
    assert t["value"] == approx(-25.0)
    assert t["comparison_value"] == approx(0.75)
    assert (t["numerator"], t["denominator"], t["n"]) == (10, 20, 20)
    # MOVER: low = d - sqrt((p1 - l1)² + (u0 - p0)²), high = d + sqrt((u1 - p1)² + (p0 - l0)²)
    l1, u1 = wilson_by_hand(10, 20)
    l0, u0 = wilson_by_hand(60, 80)
    low = -0.25 - math.sqrt((0.5 - l1) ** 2 + (u0 - 0.75) ** 2)
    high = -0.25 + math.sqrt((u1 - 0.5) ** 2 + (0.75 - l0) ** 2)
    assert (t["ci_low"], t["ci_high"]) == (approx(100 * low), approx(100 * high))
    f = cell(out, "ALL", "econ_disadvantaged", "false")
    assert (f["value"], f["comparison_value"]) == (approx(25.0), approx(0.5))


def test_gap_all_row_has_no_value():
    d = cell(compute(GAP_TABLES, GAP, Y, None))
    assert pd.isna(d["value"]) and pd.isna(d["ci_low"])
    assert d["note"] == "gap is defined for groups"
    assert (d["n"], d["numerator"]) == (100, 70)


def test_unenrolled_student_counts_in_all_only():
    tables = {"assessments": pd.concat([GAP_TABLES["assessments"], _tests({"x": 4})]),
              "enrollment": GAP_TABLES["enrollment"]}
    m = measure("proficiency", "assessments", {"test": "map", "subject": "ela"},
                groups=["econ_disadvantaged"])
    out = compute(tables, m, Y, None)
    assert (cell(out)["numerator"], cell(out)["n"]) == (71, 101)
    t = cell(out, "ALL", "econ_disadvantaged", "true")
    # others = everyone else tested, x included: 61 of 81
    assert t["comparison_value"] == approx(61 / 81)
    assert cell(out, "ALL", "econ_disadvantaged", "false")["n"] == 80


def test_no_data():
    m = measure("proficiency", "assessments", {"test": "map", "subject": "science"})
    with pytest.raises(NoData, match="assessments not provided"):
        compute({}, m, Y, None)
    with pytest.raises(NoData, match="no rows for 2030-31"):
        compute({"assessments": QUARTERS}, m, "2030-31", None)
    with pytest.raises(NoData, match="no map science results"):
        compute({"assessments": QUARTERS}, m, Y, None)


def test_gap_of_a_group_that_is_everyone():
    # every tested student is econ. disadvantaged: there is nobody to compare with
    tables = {"assessments": _tests({"a": 3, "b": 1}),
              "enrollment": enrollment([{"student_id": "a", "econ_disadvantaged": True},
                                        {"student_id": "b", "econ_disadvantaged": True}])}
    t = cell(compute(tables, GAP, Y, None), "ALL", "econ_disadvantaged", "true")
    assert pd.isna(t["value"]) and pd.isna(t["comparison_value"])
    assert t["note"] == "no other students tested to compare with"
