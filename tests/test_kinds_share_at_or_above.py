"""share_at_or_above: rubric scores, educator evaluations (mean over standards), curriculum units."""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics.errors import PlanMetricsError
from plan_metrics.kinds import NoData
from plan_metrics.kinds.share_at_or_above import compute
from test_kinds_common import Y, approx, cell, enrollment, measure, wilson_by_hand

CT = "Creative Thinker"
RUBRICS = pd.DataFrame([
    ("s1", "B1", CT, "teacher", 3), ("s1", "B1", CT, "self", 2),
    ("s2", "B1", CT, "teacher", 2), ("s2", "B1", CT, "self", 4),
    ("s3", "B1", CT, "self", 3),
    ("s4", "B2", CT, "teacher", 4), ("s5", "B2", CT, "teacher", 1),
    ("s5", "B2", "Intellectually Curious", "teacher", 4),
], columns=["student_id", "building_id", "attribute", "assessor", "score"]).assign(school_year=Y)
ENR = enrollment([{"student_id": "s1"}, {"student_id": "s2", "gender": "male"},
                  {"student_id": "s3"}, {"student_id": "s4", "building_id": "B2"},
                  {"student_id": "s5", "gender": "male", "building_id": "B2"}])
RT = {"progression_rubrics": RUBRICS, "enrollment": ENR}


def _rubric(**spec):
    return measure("share_at_or_above", "progression_rubrics",
                   {"attribute": CT, "min": 3, **spec}, groups=["gender"])


def test_rubric_teacher_ratings():
    out = compute(RT, _rubric(assessor="teacher"), Y, None)
    d = cell(out)
    # teacher ratings: s1 3 yes, s2 2 no, s4 4 yes, s5 1 no -> 2 of 4
    assert (d["numerator"], d["denominator"], d["n"], d["value"]) == (2, 4, 4, 0.5)
    assert (d["ci_low"], d["ci_high"]) == tuple(map(approx, wilson_by_hand(2, 4)))
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (1, 2)
    f = cell(out, "ALL", "gender", "female")   # s1, s4: 2 of 2; males s2, s5: 0 of 2
    assert (f["value"], f["comparison_value"]) == (1.0, 0.0)


def test_rubric_self_and_preference():
    # self ratings: s1 2 no, s2 4 yes, s3 3 yes -> 2 of 3
    d = cell(compute(RT, _rubric(assessor="self"), Y, None))
    assert (d["numerator"], d["n"]) == (2, 3)
    # no assessor: the teacher's rating where there is one: s1 3, s2 2, s3 (self) 3, s4 4, s5 1
    d = cell(compute(RT, _rubric(), Y, None))
    assert (d["numerator"], d["n"]) == (3, 5)


def test_rubric_errors():
    with pytest.raises(PlanMetricsError, match="score 1..4"):
        compute(RT, _rubric(min="meets"), Y, None)
    with pytest.raises(NoData, match="progression_rubrics not provided"):
        compute({"enrollment": ENR}, _rubric(), Y, None)
    other = measure("share_at_or_above", "progression_rubrics", {"attribute": "Empathetic",
                                                                 "min": 3})
    with pytest.raises(NoData, match="no Empathetic ratings"):
        compute(RT, other, Y, None)


EVALS = pd.DataFrame([
    ("e1", "B1", "std1", 3), ("e1", "B1", "std2", 3), ("e1", "B1", "std3", 2),  # 2.67: below
    ("e2", "B1", "std1", 3), ("e2", "B1", "std2", 4),                            # 3.5
    ("e3", "B2", "std1", 3), ("e3", "B2", "std2", 3), ("e3", "B2", "std3", 3),  # exactly 3
    ("e4", "B1", "std1", 4), ("e4", "B2", "std2", 1),   # B1 4, B2 1, district 2.5
], columns=["staff_id", "building_id", "standard", "rating"]).assign(school_year=Y)
STAFF = pd.DataFrame([("e1", "B1", "female"), ("e2", "B1", "male"), ("e3", "B2", "female"),
                      ("e4", "B1", "male"), ("e4", "B2", "male")],
                     columns=["staff_id", "building_id", "gender"]).assign(
    school_year=Y, role="teacher", race_ethnicity="white", fte=1.0, new_hire=False,
    separated_end_of_year=False)


def test_educator_evaluations_mean_over_standards():
    m = measure("share_at_or_above", "educator_evaluations", {"min": 3},
                groups=["gender", "english_learner"])
    out = compute({"educator_evaluations": EVALS, "staff": STAFF}, m, Y, None)
    d = cell(out)
    # district means: e1 2.67 no, e2 3.5 yes, e3 3.0 yes, e4 2.5 no -> 2 of 4 educators
    assert (d["numerator"], d["n"]) == (2, 4)
    # B1: e1 no, e2 yes, e4 (4 at B1) yes -> 2 of 3; B2: e3 yes, e4 (1 at B2) no -> 1 of 2
    assert (cell(out, "B1")["numerator"], cell(out, "B1")["n"]) == (2, 3)
    assert (cell(out, "B2")["numerator"], cell(out, "B2")["n"]) == (1, 2)
    f = cell(out, "ALL", "gender", "female")   # e1 no, e3 yes; males e2 yes, e4 no
    assert (f["value"], f["comparison_value"]) == (0.5, 0.5)
    assert "english_learner" not in set(out["group_by"])
    # without a staff table the groups are left out
    out = compute({"educator_evaluations": EVALS}, m, Y, None)
    assert set(out["group_by"]) == {"all"}


AUDIT = pd.DataFrame([
    ("u1", "B1", "representation", "meets"), ("u2", "B1", "representation", "emerging"),
    ("u3", "B1", "representation", "exceeds"), ("u4", "B2", "representation", "not_evident"),
    ("u5", "B2", "representation", "meets"), ("u5", "B2", "rigor", "not_evident"),
], columns=["unit_id", "building_id", "criterion", "rating"]).assign(school_year=Y,
                                                                    course_id="c1")


@pytest.mark.parametrize("minimum, expected", [
    ("meets", 3),      # u1 meets, u3 exceeds, u5 meets
    ("exceeds", 1),    # u3
    ("emerging", 4),   # all but u4
    (2, 4),            # 2 = emerging on the scale not_evident(1) < emerging < meets < exceeds
])
def test_curriculum_audit_units(minimum, expected):
    m = measure("share_at_or_above", "curriculum_audit", {"criterion": "representation",
                                                          "min": minimum}, groups=["gender"])
    out = compute({"curriculum_audit": AUDIT}, m, Y, None)
    d = cell(out)
    assert (d["numerator"], d["denominator"], d["n"]) == (expected, 5, 5)
    assert d["note"] == "units, not people"
    assert set(out["group_by"]) == {"all"}


def test_audit_errors():
    m = measure("share_at_or_above", "curriculum_audit", {"min": "meets"})
    with pytest.raises(PlanMetricsError, match="needs spec.criterion"):
        compute({"curriculum_audit": AUDIT}, m, Y, None)
    m = measure("share_at_or_above", "curriculum_audit", {"criterion": "voice", "min": "meets"})
    with pytest.raises(NoData, match="no curriculum_audit ratings of voice"):
        compute({"curriculum_audit": AUDIT}, m, Y, None)
