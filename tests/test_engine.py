"""engine: entry points on handmade tables (numbers by hand) and on the tiny fixture."""

from pathlib import Path

import pandas as pd
import pytest

from plan_metrics import engine
from plan_metrics.errors import PlanMetricsError
from plan_metrics.loading import load_data
from plan_metrics.options import Options
from plan_metrics.plan import Plan
from plan_metrics.results import RESULTS_COLUMNS, STATUS_COLUMNS

TINY = Path(__file__).parent / "fixtures" / "tiny"


def plan(*measures) -> Plan:
    return Plan.model_validate({
        "id": "test", "title": "Test plan", "organization": "Test district",
        "goals": [{"id": "G1", "statement": "Students attend.",
                   "outcomes": [{"id": "G1.1", "statement": "Attendance improves.",
                                 "measures": list(measures)}]}]})


CHRONIC = {"id": "chronic", "title": "Chronic absence", "kind": "rate", "source": "enrollment",
           "spec": {"condition": "chronically_absent"}, "direction": "lower",
           "groups": ["gender"]}
BULLYING = {"id": "bullying", "title": "Bullying incidents", "kind": "per_100",
            "source": "discipline", "spec": {"category": ["bullying"]}, "direction": "lower"}


def students(year, building, gender, count, chronic, start):
    """``count`` students, the first ``chronic`` of them absent 20 of 170 days (11.8%, chronic),
    the others 5 of 170 (2.9%)."""
    return [{"school_year": year, "student_id": f"S{start + i:03d}", "building_id": building,
             "grade": 3, "race_ethnicity": "white", "gender": gender,
             "econ_disadvantaged": False, "disability": False, "english_learner": False,
             "days_enrolled": 170, "days_absent": 20 if i < chronic else 5}
            for i in range(count)]


def tables():
    """Two buildings, two years. 2023-24: X 15 female (2 chronic) + 15 male (4); Y 12 female (1)
    + 8 male (1). 2024-25: X 15 female (1) + 15 male (2); Y 12 female (1) + 8 male (0)."""
    rows = []
    for year, counts in (("2023-24", (2, 4, 1, 1)), ("2024-25", (1, 2, 1, 0))):
        rows += students(year, "X", "female", 15, counts[0], 0)
        rows += students(year, "X", "male", 15, counts[1], 15)
        rows += students(year, "Y", "female", 12, counts[2], 30)
        rows += students(year, "Y", "male", 8, counts[3], 42)
    buildings = pd.DataFrame({"building_id": ["X", "Y"], "name": ["X school", "Y school"],
                              "level": ["elementary", "elementary"], "grade_low": [0, 0],
                              "grade_high": [5, 5]})
    return {"buildings": buildings, "enrollment": pd.DataFrame(rows)}


def cell(results, building, group_by="all", group="all", measure="chronic"):
    hit = results[(results["measure_id"] == measure) & (results["building_id"] == building)
                  & (results["group_by"] == group_by) & (results["group"] == group)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_compute_measures_by_hand():
    res = engine.compute_measures(plan(CHRONIC), tables(), "2023-24", Options())
    assert list(res.columns) == list(RESULTS_COLUMNS)
    assert (res["plan_id"] == "test").all() and (res["school_year"] == "2023-24").all()
    # district: 6 + 2 = 8 chronic of 50 = 16%; female 3/27 = 11.1% -> 11%; male 5/23 = 21.7% -> 22%
    d = cell(res, "ALL")
    assert (d["n"], d["numerator"], d["value"], d["display"]) == (50, 8, 0.16, "16%")
    assert d["ci_low"] == pytest.approx(0.0834, abs=1e-4)  # Wilson 8/50: 0.0834 .. 0.2851
    assert d["ci_high"] == pytest.approx(0.2851, abs=1e-4)
    assert cell(res, "ALL", "gender", "female")["display"] == "11%"
    assert cell(res, "ALL", "gender", "male")["display"] == "22%"
    # buildings: X 6/30 = 20%, Y 2/20 = 10%
    assert cell(res, "X")["display"] == "20%" and cell(res, "Y")["display"] == "10%"
    # Y-male (8) is under 10; Y = 20 = 12 + 8 would give it away -> Y-female (12) hidden too;
    # across buildings, male 23 = X 15 + Y 8 -> X-male hidden; female 27 = X 15 + Y 12 -> X-female
    hidden = res[res["suppressed"]]
    assert set(zip(hidden["building_id"], hidden["group"])) == {
        ("X", "female"), ("X", "male"), ("Y", "female"), ("Y", "male")}
    assert cell(res, "Y", "gender", "male")["display"] == "not shown"
    assert cell(res, "Y", "gender", "female")["display"] == "not shown"
    assert hidden[["n", "numerator", "value", "ci_low"]].isna().all().all()


def test_absent_table_gives_one_no_data_row():
    res = engine.compute_measures(plan(CHRONIC, BULLYING), tables(), "2023-24")
    nd = res[res["measure_id"] == "bullying"]
    assert len(nd) == 1
    row = nd.iloc[0]
    assert (row["building_id"], row["group_by"], row["group"]) == ("ALL", "all", "all")
    assert row["display"] == "no data" and not row["suppressed"]
    assert "discipline" in row["note"] and pd.isna(row["value"]) and pd.isna(row["n"])
    st = engine.compute_status(plan(CHRONIC, BULLYING), tables(), "2023-24", results=res)
    assert st.set_index("measure_id").loc["bullying", "status"] == "not enough data"
    rule = st.set_index("measure_id").loc["bullying", "rule_text"]
    assert rule.startswith("not enough data: no data for 2023-24 (") and "discipline" in rule
    assert "(no data" not in rule


def test_status_against_the_first_year():
    # 2024-25: 4/50 = 8% vs 16% in 2023-24. Wilson 4/50 = 0.0316 .. 0.1884, 8/50 = 0.0834 .. 0.2851;
    # MOVER: high = -0.08 + sqrt((0.1884 - 0.08)² + (0.16 - 0.0834)²) = -0.08 + 0.1327 = +0.053,
    # low = -0.08 - sqrt((0.08 - 0.0316)² + (0.2851 - 0.16)²) = -0.08 - 0.1341 = -0.214:
    # the interval holds 0 -> no clear change
    p = plan(CHRONIC)
    res, st = engine.compute_plan(p, tables(), "2024-25")
    row = st.iloc[0]
    assert list(st.columns) == list(STATUS_COLUMNS)
    assert (row["status"], row["baseline_year"], row["baseline_value"], row["value"]) == \
        ("no clear change", "2023-24", 0.16, 0.08)
    assert row["rule_text"] == ("no clear change: 8% in 2024-25 vs the baseline 16% in 2023-24; "
                                "the change -8.0 pts is within its margin of error (95% interval "
                                "-21.4 pts to +5.3 pts)")
    # the same status without the year's results (computed from the tables)
    alone = engine.compute_status(p, tables(), "2024-25")
    assert alone.iloc[0]["rule_text"] == row["rule_text"]
    # with a target of 10% by 2025-26: the trajectory expects 16 + (10 - 16)·1/2 = 13% in
    # 2024-25; 8% is below it (lower is better) and below the target itself -> met
    with_target = dict(CHRONIC, target={"value": 0.10, "year": "2025-26"})
    st = engine.compute_status(plan(with_target), tables(), "2024-25")
    assert st.iloc[0]["status"] == "met"
    # the first year is the baseline itself
    st = engine.compute_status(p, tables(), "2023-24")
    assert st.iloc[0]["status"] == "not enough data"


def test_unknown_or_malformed_year():
    with pytest.raises(PlanMetricsError) as e:
        engine.compute_measures(plan(CHRONIC), tables(), "2030-31")
    assert "2030-31" in str(e.value) and "2023-24, 2024-25" in str(e.value)
    with pytest.raises(PlanMetricsError) as e:
        engine.compute_measures(plan(CHRONIC), tables(), "2023-25")
    assert "YYYY-YY" in str(e.value)


def test_unknown_measure_id():
    with pytest.raises(PlanMetricsError) as e:
        engine.compute_measures(plan(CHRONIC), tables(), "2023-24", measure_ids=["nope"])
    assert "nope" in str(e.value)


def test_tiny_fixture_every_row_private():
    # the tiny district has 12 students a year: with min_n 10 nearly everything is hidden, and
    # nothing published may stand on fewer than 10 people
    t = load_data(TINY)
    ids = ["G1.1-belonging", "G1.2-suspension-rate", "G1.5-bias-incidents", "G2.2-ela-mpi",
           "G3.4-service-hours", "G1.2-suspension-rr"]
    res = engine.compute_measures("clayton", t, "2024-25", Options(), measure_ids=ids)
    published = res[~res["suppressed"]]
    assert (published["n"].dropna() >= 10).all()
    assert set(res["measure_id"]) == set(ids)
    # suspension rate, district 2024-25: one student (S07, iss) of the 12 enrolled -> 1/12: one
    # person from 0% among fewer than 100, so banded: x = floor(100/12) + 1 = 9 -> "< 9%", and
    # the numerator is not published
    d = cell(res, "ALL", measure="G1.2-suspension-rate")
    assert (d["n"], d["display"]) == (12, "< 9%") and pd.isna(d["numerator"])
    st = engine.compute_status("clayton", t, "2024-25", results=res)
    assert set(st["measure_id"]) == set(ids)


def test_tiny_fixture_without_discipline():
    t = dict(load_data(TINY))
    del t["discipline"]
    res = engine.compute_measures("clayton", t, "2024-25",
                                  measure_ids=["G3.4-bullying", "G2.2-ela-mpi"])
    nd = res[res["measure_id"] == "G3.4-bullying"]
    assert len(nd) == 1 and nd.iloc[0]["display"] == "no data"


def test_compute_plan_from_a_directory(tmp_path):
    t = tables()
    enr = t["enrollment"].assign(grade="3")
    for col in ("econ_disadvantaged", "disability", "english_learner"):
        enr[col] = "false"
    enr.to_csv(tmp_path / "enrollment.csv", index=False)
    t["buildings"].assign(grade_low="K").to_csv(tmp_path / "buildings.csv", index=False)
    res, st = engine.compute_plan(plan(CHRONIC), tmp_path, "2024-25")
    # 2024-25: X 1 + 2, Y 1 + 0 chronic of 50 -> 8%
    assert cell(res, "ALL")["display"] == "8%"
    assert st.iloc[0]["status"] == "no clear change"
