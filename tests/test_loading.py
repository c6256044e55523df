"""The loader on the tiny hand-made fixture: typed output, BOM, boolean spellings, K, absent
tables, the years filter, tables= restriction, hashes and row counts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plan_metrics import loading
from plan_metrics.errors import PlanMetricsError
from plan_metrics.loading import Tables, load_data

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture
def tiny(tmp_path) -> Path:
    d = tmp_path / "tiny"
    shutil.copytree(TINY, d)
    return d


def test_tiny_fixture_loads_every_table_with_contract_dtypes():
    t = load_data(TINY)
    assert isinstance(t, Tables)
    assert list(t) == list(loading.contract.TABLES)          # all 14, in contract order
    assert t.absent == []
    assert t.years == ["2023-24", "2024-25"]
    enr = t["enrollment"]
    assert len(enr) == 24                                     # 12 students x 2 years
    assert enr["grade"].dtype == np.int64
    assert enr["days_absent"].dtype == np.int64
    assert enr["econ_disadvantaged"].dtype == bool
    assert pd.api.types.is_string_dtype(enr["student_id"])
    assert enr["school_year"].iloc[0] == "2023-24"            # kept as text
    # S01 is in kindergarten in 2023-24: K -> 0
    assert enr.loc[(enr.student_id == "S01") & (enr.school_year == "2023-24"), "grade"].item() == 0
    assert t["buildings"]["grade_low"].tolist() == [0, 9]
    resp = t["survey_responses"]
    assert str(resp["response"].dtype) == "Int64"             # optional: skipped items are <NA>
    assert resp["response"].isna().sum() == 1                 # R08 skipped trusted_adult
    assert resp["student_id"].isna().sum() == 6               # staff and family rows
    assert pd.api.types.is_datetime64_any_dtype(t["discipline"]["incident_date"])
    assert t["discipline"]["incident_date"].iloc[0] == pd.Timestamp("2023-10-12")
    assert t["staff"]["fte"].dtype == np.float64
    assert t["staff"]["fte"].sum() == pytest.approx(1 + 1 + .5 + 1 + 1 + 1 + 1 + 1)
    assert t["assessments"]["scale_score"].isna().sum() == 2
    assert t["service_hours"]["hours"].tolist() == [12.5, 4.0, 20.0, 0.0]
    assert t["survey_items"]["reverse_coded"].tolist() == [False, True, False, False, False]
    # a quoted text with a comma survives
    assert t["action_steps"]["note"].iloc[2] == "Done, reported in May"
    assert t["action_steps"]["note"].isna().sum() == 2             # the two 2023-24 rows


def test_hashes_and_row_counts_for_the_manifest():
    t = load_data(TINY)
    path = TINY / "enrollment.csv"
    assert t.hashes["enrollment.csv"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert t.row_counts["enrollment.csv"] == 24
    assert t.row_counts["buildings.csv"] == 2
    assert t.data_dir == TINY


def test_bom_is_accepted(tiny):
    p = tiny / "buildings.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    t = load_data(tiny)
    assert list(t["buildings"].columns)[0] == "building_id"
    assert t["buildings"]["building_id"].tolist() == ["B1", "B2"]


def test_boolean_spellings(tiny):
    p = tiny / "staff.csv"
    lines = p.read_text().splitlines()
    # rows 2..5 (2023-24): new_hire / separated written in four accepted ways
    spelled = ["TRUE,No", "1,yes", "False,0", "no,YES"]
    for i, pair in enumerate(spelled, start=1):
        parts = lines[i].split(",")
        lines[i] = ",".join(parts[:7] + [pair])
    p.write_text("\n".join(lines) + "\n")
    staff = load_data(tiny)["staff"]
    assert staff["new_hire"].tolist()[:4] == [True, True, False, False]
    assert staff["separated_end_of_year"].tolist()[:4] == [False, True, False, True]
    assert staff["new_hire"].dtype == bool


def test_grade_k_lower_case_and_zero(tiny):
    p = tiny / "enrollment.csv"
    text = p.read_text().replace("2023-24,S01,B1,K,", "2023-24,S01,B1,k,") \
        .replace("2024-25,S13,B1,K,", "2024-25,S13,B1,0,")
    p.write_text(text)
    enr = load_data(tiny)["enrollment"]
    assert enr.loc[enr.student_id.isin(["S01", "S13"]) & (enr.grade == 0)].shape[0] == 2


def test_absent_table_is_none(tiny):
    (tiny / "service_hours.csv").unlink()
    (tiny / "curriculum_audit.csv").unlink()
    t = load_data(tiny)
    assert t.get("service_hours") is None
    assert "service_hours" not in t
    assert t.absent == ["curriculum_audit", "service_hours"]
    assert t.get("enrollment") is not None


def test_years_filter_keeps_rows_of_those_years_only():
    t = load_data(TINY, years=["2024-25"])
    assert t.years == ["2024-25"]
    assert len(t["enrollment"]) == 12
    assert set(t["discipline"]["school_year"]) == {"2024-25"}
    assert len(t["buildings"]) == 2                          # no year column: kept whole
    assert len(t["graduation_cohort"]) == 4                   # cohort is not a school_year filter
    assert t["enrollment"].index.tolist() == list(range(12))


def test_tables_restriction_adds_the_joined_tables():
    t = load_data(TINY, tables=["survey_responses"])
    assert set(t) == {"buildings", "enrollment", "survey_items", "survey_responses"}
    t = load_data(TINY, tables=["action_steps"])
    assert set(t) == {"action_steps"}
    with pytest.raises(PlanMetricsError, match="Unknown table"):
        load_data(TINY, tables=["enrolment"])


def test_missing_directory_is_one_clear_error(tmp_path):
    with pytest.raises(PlanMetricsError, match="does not exist"):
        load_data(tmp_path / "nowhere")


def test_invalid_data_raises_with_every_problem(tiny):
    p = tiny / "enrollment.csv"
    p.write_text(p.read_text().replace(",hispanic,", ",Hispanic,"))
    with pytest.raises(PlanMetricsError) as e:
        load_data(tiny)
    # S03 (lines 4 and 16) and S09 (lines 10 and 22) are Hispanic: 4 rows
    assert sum(pr.count for pr in e.value.problems) == 4
    assert {pr.row for pr in e.value.problems} == {4, 10, 16, 22}
    assert "enrollment.csv" in str(e.value) and "plan-metrics validate" in str(e.value)


def test_student_not_enrolled_is_a_warning_not_an_error(tiny):
    p = tiny / "survey_responses.csv"
    p.write_text(p.read_text().replace("R14,student,B2,S14", "R14,student,B2,S99"))
    t = load_data(tiny)                                       # loads
    w = [x for x in t.warnings if x.column == "student_id"]
    assert sum(x.count for x in w) == 3 and w[0].file == "survey_responses.csv"
    assert w[0].row == 17                                     # header + 15 rows before R14's first


def test_years_filter_accepts_one_year_as_text_and_keeps_dtypes():
    t = load_data(TINY, tables=["assessments"], years="2023-24")
    a = t["assessments"]
    # assessments.csv has 6 rows of 2023-24 (lines 2..7)
    assert len(a) == 6 and a["level"].dtype == np.int64
    assert a["scale_score"].isna().sum() == 1                 # S03's empty score
    assert pd.api.types.is_string_dtype(a["student_id"])
    assert t.years == ["2023-24"]


def test_text_columns_are_sorted_categoricals_but_the_ids_of_people():
    """Codes, years and buildings are categoricals of the values present, sorted as text (so a
    sort or group-by orders them as the text would), with empty cells missing; the identifiers
    of people and events stay text."""
    t = load_data(TINY)
    enr, resp = t["enrollment"], t["survey_responses"]
    for df, col in ((enr, "school_year"), (enr, "building_id"), (enr, "race_ethnicity"),
                    (resp, "item_id"), (t["action_steps"], "note")):
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col
        cats = df[col].cat.categories.tolist()
        assert cats == sorted(set(df[col].dropna().astype(str))), col
    assert t["action_steps"]["note"].isna().sum() == 2
    for df, col in ((enr, "student_id"), (resp, "respondent_id"), (t["staff"], "staff_id"),
                    (t["discipline"], "incident_id")):
        assert pd.api.types.is_string_dtype(df[col]) and \
            not isinstance(df[col].dtype, pd.CategoricalDtype), col
    # a one-year load keeps only that year's values among the categories, rows renumbered
    one = load_data(TINY, years=["2024-25"])["enrollment"]
    assert one["school_year"].cat.categories.tolist() == ["2024-25"]
    assert one.index.tolist() == list(range(len(one)))
    assert one["building_id"].tolist() == enr.loc[enr["school_year"] == "2024-25",
                                                  "building_id"].tolist()
