"""action_completion: complete steps / steps not discontinued."""

from __future__ import annotations

import pandas as pd
import pytest

from plan_metrics.kinds import NoData
from plan_metrics.kinds.action_completion import compute
from test_kinds_common import Y, approx, measure, wilson_by_hand

STEPS = pd.DataFrame([
    ("clayton-pl", "G1", "O1", "st1", "complete"), ("clayton-pl", "G1", "O1", "st2", "complete"),
    ("clayton-pl", "G1", "O1", "st3", "in_progress"),
    ("clayton-pl", "G1", "O1", "st4", "discontinued"),
    ("clayton-pl", "G1", "O2", "st5", "not_started"), ("clayton-pl", "G1", "O2", "st6", "complete"),
    ("clayton-pl", "G2", "O3", "st7", "discontinued"),
    ("clayton-pl", "G2", "O3", "st8", "discontinued"),
    ("other", "G1", "O1", "x1", "complete"),
], columns=["plan_id", "goal_id", "objective_id", "step_id", "status"]).assign(
    school_year=Y, owner="Director", note=None)


def _m(**spec):
    return measure("action_completion", "action_steps", {"plan_id": "clayton-pl", **spec},
                   groups=["gender"])


def test_whole_plan():
    out = compute({"action_steps": STEPS}, _m(), Y, None)
    assert len(out) == 1
    d = out.iloc[0]
    assert (d["building_id"], d["group_by"], d["group"]) == ("ALL", "all", "all")
    # 8 steps - 3 discontinued = 5 counted; complete st1 st2 st6 = 3
    assert (d["numerator"], d["denominator"], d["value"]) == (3, 5, approx(0.6))
    assert pd.isna(d["n"])       # no people behind action steps: privacy does not apply
    assert (d["ci_low"], d["ci_high"]) == tuple(map(approx, wilson_by_hand(3, 5)))
    assert d["note"] == "3 complete, 1 in progress, 1 not started, 3 discontinued"


def test_goal_and_objective():
    d = compute({"action_steps": STEPS}, _m(goal="G1"), Y, None).iloc[0]
    assert (d["numerator"], d["denominator"]) == (3, 5)   # 6 steps, st4 discontinued
    d = compute({"action_steps": STEPS}, _m(goal="G1", objective="O1"), Y, None).iloc[0]
    assert (d["numerator"], d["denominator"]) == (2, 3)   # st1 st2 of st1-st3
    d = compute({"action_steps": STEPS}, _m(goal="G2"), Y, None).iloc[0]
    assert d["denominator"] == 0 and pd.isna(d["value"])
    assert d["note"].endswith("every step was discontinued")


def test_no_data():
    with pytest.raises(NoData, match="action_steps not provided"):
        compute({}, _m(), Y, None)
    with pytest.raises(NoData, match="no rows for 2024-25"):
        compute({"action_steps": STEPS}, _m(), "2024-25", None)
    with pytest.raises(NoData, match="no action steps of plan clayton-pl goal G9"):
        compute({"action_steps": STEPS}, _m(goal="G9"), Y, None)


def test_step_records_of_one_plan_and_year():
    from plan_metrics.kinds.action_completion import step_records
    other_year = STEPS.iloc[:1].assign(school_year="1999-00", status="not_started")
    tables = {"action_steps": pd.concat([STEPS, other_year])}
    recs = step_records(tables, "clayton-pl", Y)
    # 8 steps of clayton-pl in Y (not the other plan's x1, not 1999-00's copy of st1)
    assert [r["step_id"] for r in recs] == [f"st{i}" for i in range(1, 9)]
    assert recs[0] == {"step_id": "st1", "goal_id": "G1", "objective_id": "O1",
                       "owner": "Director", "status": "complete", "note": ""}  # missing note: ""
    assert step_records(tables, "clayton-pl", "2001-02") == []
    assert step_records({}, "clayton-pl", Y) == []


@pytest.mark.parametrize("before, now, change", [
    ("in_progress", "complete", "completed"), ("not_started", "complete", "completed"),
    ("not_started", "in_progress", "started"),
    ("complete", "in_progress", "slipped_back"), ("complete", "not_started", "slipped_back"),
    ("in_progress", "not_started", "slipped_back"),
    ("in_progress", "discontinued", "discontinued"), ("complete", "discontinued", "discontinued"),
    ("discontinued", "in_progress", "resumed"), ("discontinued", "complete", "completed"),
    (None, "in_progress", "added"),
    ("complete", "complete", None), ("discontinued", "discontinued", None),
])
def test_step_change(before, now, change):
    from plan_metrics.kinds.action_completion import step_change
    assert step_change(before, now) == change
