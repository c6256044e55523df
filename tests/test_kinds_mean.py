"""mean: a population mean where members without a row count as 0 (service hours)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plan_metrics.errors import PlanMetricsError
from plan_metrics.kinds import NoData
from plan_metrics.kinds.mean import compute
from test_kinds_common import Y, Z, approx, cell, enrollment, measure

ENR = enrollment([{"student_id": "h0", "grade": 10, "gender": "male"},
                  {"student_id": "h1", "grade": 10, "gender": "male"},
                  {"student_id": "h2", "grade": 10}, {"student_id": "h3", "grade": 9},
                  {"student_id": "e0", "grade": 3},
                  {"student_id": "h4", "grade": 11, "building_id": "B2"},
                  {"student_id": "hm", "grade": 12}, {"student_id": "hm", "grade": 12,
                                                      "building_id": "B2"}])
HOURS = pd.DataFrame([("h0", 10.0), ("h1", 4.0), ("h4", 6.0), ("hm", 5.0), ("e0", 100.0),
                      ("x9", 50.0)], columns=["student_id", "hours"]).assign(school_year=Y)
HOURS = pd.concat([HOURS, pd.DataFrame([{"school_year": "2022-23", "student_id": "h2",
                                         "hours": 80.0}])], ignore_index=True)
TABLES = {"enrollment": ENR, "service_hours": HOURS}
HS = measure("mean", "service_hours", {"column": "hours",
                                       "population": {"grade_band": ["high"]}}, groups=["gender"])


def test_mean_with_zeros_for_missing_rows():
    out = compute(TABLES, HS, Y, None)
    d = cell(out)
    # high-school students h0 h1 h2 h3 h4 hm: 10 + 4 + 0 + 0 + 6 + 5 = 25 hours over 6
    assert (d["numerator"], d["denominator"], d["n"]) == (25, 6, 6)
    assert d["value"] == approx(25 / 6)
    # squares 100 + 16 + 36 + 25 = 177; s² = (177 - 6 (25/6)²) / 5 = 437/30
    half = 2.570582 * math.sqrt(437 / 30 / 6)  # Student's t(0.975; 5) = 2.570582
    assert (d["ci_low"], d["ci_high"]) == (approx(25 / 6 - half, abs=1e-5), approx(25 / 6 + half, abs=1e-5))
    # B1: h0 h1 h2 h3 hm -> 19 / 5; B2: h4 hm -> 11 / 2 (hm counts in both buildings)
    assert cell(out, "B1")["value"] == approx(3.8)
    assert cell(out, "B2")["value"] == approx(5.5)
    m = cell(out, "ALL", "gender", "male")      # h0, h1: 14 / 2; others 11 / 4
    assert (m["value"], m["comparison_value"]) == (approx(7.0), approx(2.75))


def test_without_population_everyone_enrolled():
    m = measure("mean", "service_hours", {"column": "hours"})
    d = cell(compute(TABLES, m, Y, None))
    assert (d["numerator"], d["n"]) == (125, 7)   # + e0's 100 hours; x9 is not enrolled


def test_errors():
    bad = measure("mean", "service_hours", {"column": "minutes"})
    with pytest.raises(PlanMetricsError, match="no column 'minutes'"):
        compute(TABLES, bad, Y, None)
    with pytest.raises(NoData, match="service_hours not provided"):
        compute({"enrollment": ENR}, HS, Y, None)
    with pytest.raises(NoData, match="no rows for 2021-22"):
        compute(TABLES, HS, "2021-22", None)
