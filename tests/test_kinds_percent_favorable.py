"""percent_favorable: hand-worked cases (DESIGN.md section 6)."""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.percent_favorable import compute
from test_kinds_common import Y, approx, cell, enrollment, measure, wilson_by_hand

ITEMS = pd.DataFrame([
    # survey, item, topic, scale, favorable_min, reverse
    ("student_sel", "q1", "belonging", 5, 4, False),
    ("student_sel", "q2", "belonging", 5, 4, True),   # negative item: 6 - response
    ("student_sel", "q3", "other", 5, 4, False),
    ("staff_climate", "t1", "belonging", 4, 3, False),
], columns=["survey", "item_id", "topic", "scale_points", "favorable_min", "reverse_coded"])
ITEMS["text"] = "item text"

NA = None


def _resp(rows, year=Y):
    cols = ["respondent_id", "respondent_type", "building_id", "student_id", "item_id", "response"]
    df = pd.DataFrame(rows, columns=cols)
    df["survey"] = df["item_id"].map({"q1": "student_sel", "q2": "student_sel",
                                      "q3": "student_sel", "t1": "staff_climate"})
    df["school_year"] = year
    df["response"] = df["response"].astype("Int64")
    return df


RESPONSES = pd.concat([_resp([
    # r1 (s1, B1): q1=5 favorable; q2=1 reversed to 5 favorable; q3 is another topic
    ("r1", "student", "B1", "s1", "q1", 5), ("r1", "student", "B1", "s1", "q2", 1),
    ("r1", "student", "B1", "s1", "q3", 1),
    # r2 (s2, B1): q1=3 not favorable; q2 skipped
    ("r2", "student", "B1", "s2", "q1", 3), ("r2", "student", "B1", "s2", "q2", NA),
    # r3 (s3, B2): q1=4 favorable; q2=4 reversed to 2 not favorable
    ("r3", "student", "B2", "s3", "q1", 4), ("r3", "student", "B2", "s3", "q2", 4),
    # r4 (s4, B2): skipped everything -> not a respondent
    ("r4", "student", "B2", "s4", "q1", NA), ("r4", "student", "B2", "s4", "q2", NA),
    # r5 (s5, B2): q1=2 not; q2=2 reversed to 4 favorable
    ("r5", "student", "B2", "s5", "q1", 2), ("r5", "student", "B2", "s5", "q2", 2),
    # r6 (s9: no enrollment row, B2): q1=5 favorable; q2 skipped -> counted in 'all' only
    ("r6", "student", "B2", "s9", "q1", 5), ("r6", "student", "B2", "s9", "q2", NA),
    # a staff respondent answering the staff survey (t1=3 favorable, t1 is favorable at >= 3)
    ("x1", "staff", "B1", NA, "t1", 3),
]), _resp([("r1", "student", "B1", "s1", "q1", 1)], year="2022-23")], ignore_index=True)

ENROLLMENT = enrollment([
    {"student_id": "s1", "gender": "female"}, {"student_id": "s2", "gender": "male"},
    {"student_id": "s3", "gender": "female", "building_id": "B2"},
    {"student_id": "s4", "gender": "male", "building_id": "B2"},
    {"student_id": "s5", "gender": "male", "building_id": "B2"},
])
TABLES = {"survey_items": ITEMS, "survey_responses": RESPONSES, "enrollment": ENROLLMENT}
TOPIC = measure("percent_favorable", "survey_responses",
                {"survey": "student_sel", "topic": "belonging"}, groups=["gender"])


def test_topic_pooled_with_reverse_coding_and_skips():
    out = compute(TABLES, TOPIC, Y, None)
    d = cell(out)
    # answered items: r1 2, r2 1, r3 2, r5 2, r6 1 = 8; favorable: r1 2, r3 1, r5 1, r6 1 = 5
    assert (d["numerator"], d["denominator"], d["n"]) == (5, 8, 5)  # r4 answered nothing
    assert d["value"] == approx(5 / 8)
    # interval: Wilson with the effective n = respondents: k = 5/8 * 5 of n = 5
    lo, hi = wilson_by_hand(5 / 8 * 5, 5)
    assert (d["ci_low"], d["ci_high"]) == (approx(lo), approx(hi))
    assert pd.isna(d["comparison_value"])
    b1 = cell(out, "B1")   # r1, r2: 2 of 3 answers
    assert (b1["numerator"], b1["denominator"], b1["n"]) == (2, 3, 2)
    b2 = cell(out, "B2")   # r3, r5, r6: 3 of 5 answers
    assert (b2["numerator"], b2["denominator"], b2["n"]) == (3, 5, 3)


def test_student_groups_and_comparison():
    out = compute(TABLES, TOPIC, Y, None)
    f = cell(out, "ALL", "gender", "female")
    # r1 + r3: 3 favorable of 4; others = all (5 of 8) minus female = 2 of 4 (r2, r5 and r6)
    assert (f["numerator"], f["denominator"], f["n"]) == (3, 4, 2)
    assert f["comparison_value"] == approx(0.5)
    m = cell(out, "ALL", "gender", "male")
    # r2 + r5 (r4 answered nothing): 1 of 3; others: 4 of 5
    assert (m["numerator"], m["denominator"], m["n"]) == (1, 3, 2)
    assert m["comparison_value"] == approx(0.8)
    # B1 female = r1 alone: 2 of 2; the others in B1 = r2: 0 of 1
    bf = cell(out, "B1", "gender", "female")
    assert (bf["value"], bf["comparison_value"]) == (1.0, 0.0)
    # the unlinked r6 is in no gender cell: female n + male n = 4 of the 5 respondents
    assert f["n"] + m["n"] == 4


def test_single_item():
    m = measure("percent_favorable", "survey_responses", {"survey": "student_sel", "item": "q2"})
    d = cell(compute(TABLES, m, Y, None))
    # q2 answered by r1 (fav), r3 (not), r5 (fav); skipped by r2, r4, r6 -> 2 of 3, n = 3
    assert (d["numerator"], d["denominator"], d["n"]) == (2, 3, 3)


def test_staff_survey_has_all_rows_only():
    m = measure("percent_favorable", "survey_responses",
                {"survey": "staff_climate", "topic": "belonging", "respondent_type": "staff"},
                groups=["gender"])
    out = compute(TABLES, m, Y, None)
    assert set(out["group_by"]) == {"all"}
    assert (cell(out)["value"], cell(out)["n"]) == (1.0, 1)


def test_errors_and_no_data():
    with pytest.raises(NoData, match="survey_responses not provided"):
        compute({"survey_items": ITEMS}, TOPIC, Y, None)
    with pytest.raises(NoData, match="survey_items not provided"):
        compute({"survey_responses": RESPONSES}, TOPIC, Y, None)
    with pytest.raises(NoData, match="no rows for 2019-20"):
        compute(TABLES, TOPIC, "2019-20", None)
    bad = measure("percent_favorable", "survey_responses",
                  {"survey": "student_sel", "topic": "nope"})
    # a topic the district did not survey is "no data" for that measure, not a failed run
    with pytest.raises(NoData, match="no topic 'nope'"):
        compute(TABLES, bad, Y, None)


def test_without_enrollment_groups_are_left_out():
    out = compute({"survey_items": ITEMS, "survey_responses": RESPONSES}, TOPIC, Y, None)
    assert set(out["group_by"]) == {"all"}
    assert cell(out)["n"] == 5


@pytest.mark.parametrize("response, reverse, favorable", [
    # scale 5, favorable at >= 4; a reverse-coded answer r counts as 6 - r
    (5, False, True), (4, False, True), (3, False, False), (1, False, False),
    (1, True, True), (2, True, True), (3, True, False), (5, True, False),
])
def test_reverse_coding_table(response, reverse, favorable):
    items = pd.DataFrame([("s", "i", "t", 5, 4, reverse, "text")],
                         columns=["survey", "item_id", "topic", "scale_points", "favorable_min",
                                  "reverse_coded", "text"])
    resp = pd.DataFrame([(Y, "s", "r1", "student", "B1", None, "i", response)],
                        columns=["school_year", "survey", "respondent_id", "respondent_type",
                                 "building_id", "student_id", "item_id", "response"])
    m = measure("percent_favorable", "survey_responses", {"survey": "s", "topic": "t"})
    d = cell(compute({"survey_items": items, "survey_responses": resp}, m, Y, None))
    assert (d["numerator"], d["denominator"], d["n"]) == (int(favorable), 1, 1)
