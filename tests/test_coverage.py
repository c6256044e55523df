"""What a plan can compute from the data (`validate --plan`, and `run` before it starts).

The demo district computes every measure of every shipped plan; a copy whose student survey is
exported as `sel_student`, whose family topic is `belonging` and whose gifted program code is
missing names each measure it cannot compute with its reason and the names that are there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from plan_metrics.coverage import NO, VALUES_ONLY, YES, plan_coverage
from plan_metrics.loading import load_data
from plan_metrics.plan import available_plans, load_plan

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "plan-metrics"
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "plan_metrics.cli"]
SURVEY_MEASURES = ["G1.1-belonging", "G1.1-climate", "G1.1-safety", "G1.3-students-connected",
                   "G1.6-self-efficacy", "G1.7-trusted-adult", "G2.1-voice-choice",
                   "G3.1-self-management", "G3.1-social-awareness",
                   "G3.1-supportive-relationships", "G3.2-empathy", "G3.3-wellbeing"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def renamed(demo_data, tmp_path_factory) -> Path:
    """The demo district with the survey id, a topic and a program code its plan does not use."""
    d = tmp_path_factory.mktemp("renamed") / "data"
    shutil.copytree(demo_data, d)
    for t in ("survey_items", "survey_responses"):
        df = pd.read_csv(d / f"{t}.csv", dtype=str, keep_default_na=False)
        df["survey"] = df["survey"].replace({"student_sel": "sel_student"})
        if t == "survey_items":
            df["topic"] = df["topic"].replace({"family_belonging": "belonging"})
        df.to_csv(d / f"{t}.csv", index=False)
    p = pd.read_csv(d / "programs.csv", dtype=str, keep_default_na=False)
    p = p[p["program"] != "gifted"]
    p.to_csv(d / "programs.csv", index=False)
    return d


def test_demo_district_computes_every_measure_of_every_plan(demo_data):
    tables = load_data(demo_data)
    for plan_id in available_plans():
        plan = load_plan(plan_id)
        rows = plan_coverage(plan, tables)
        assert [r.measure_id for r in rows] == [m.id for m in plan.measures()]
        assert {r.state for r in rows} == {YES}, [r for r in rows if r.state != YES]
    r = cli("validate", "--data", str(demo_data), "--plan", "clayton")
    assert r.returncode == 0
    assert "Plan clayton: 34 of 34 measures can be computed from this data." in r.stdout
    assert "G1.1-belonging" in r.stdout and "cannot compute" not in r.stdout


def test_renamed_codes_name_each_measure_and_why(renamed):
    r = cli("validate", "--data", str(renamed), "--plan", "clayton")
    assert r.returncode == 0, r.stdout + r.stderr       # the data is valid: only the plan misses
    out = r.stdout
    assert "Plan clayton: 20 of 34 measures can be computed from this data." in out
    lines = {ln.split()[0]: ln for ln in out.splitlines()[out.splitlines().index(
        "Plan clayton: 20 of 34 measures can be computed from this data.") + 1:]}
    assert len(lines) == 34
    for mid in SURVEY_MEASURES:
        assert "cannot compute  survey 'student_sel' not in survey_items.survey (there: " \
               "family_climate, pd_feedback, sel_student, staff_climate)" in lines[mid], mid
    assert "cannot compute  topic 'family_belonging' not in survey_items.topic of survey " \
           "family_climate (there: belonging, community_support)" in lines["G1.3-families-connected"]
    assert "cannot compute  program code 'gifted' not in programs.program (there: ap, " \
           "dual_credit, honors, sped_referral, tier2, tier3)" in lines["G2.3-gifted-rr"]
    bad = {m for m, ln in lines.items() if "cannot compute" in ln}
    assert bad == {*SURVEY_MEASURES, "G1.3-families-connected", "G2.3-gifted-rr"}
    assert all("computable" in lines[m] for m in set(lines) - bad)


def test_too_few_years_for_a_window_or_a_baseline(demo_data, tmp_path):
    """Two school years of data: a 3-year window pools fewer years; a baseline year that is not
    in the data gives values but no status; a single year gives no baseline at all."""
    d = tmp_path / "data"
    shutil.copytree(demo_data, d)
    for p in d.glob("*.csv"):
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        col = "cohort" if p.stem == "graduation_cohort" else "school_year"
        if col in df:
            df[df[col].isin(["2023-24", "2024-25"])].to_csv(p, index=False)
    tables = load_data(d)
    plan = load_plan("clayton")
    rows = {r.measure_id: r for r in plan_coverage(plan, tables)}
    rr = rows["G1.2-referral-rr"]
    assert rr.state == VALUES_ONLY
    assert rr.reason == ("a 3-year window ending in 2024-25 needs 2022-23 to 2024-25 in "
                         "discipline; the data has 2023-24, 2024-25; the ratio pools fewer years")
    assert rows["G1.2-suspension-rate"].state == YES       # no window
    m = plan.measure("G1.1-belonging").model_copy(update={"baseline_year": "2019-20"})
    one = SimpleNamespace(measures=lambda: [m])
    (b,) = plan_coverage(one, tables)
    assert (b.state, b.reason) == (VALUES_ONLY, "baseline year 2019-20 not in survey_responses "
                                                "(it has 2023-24 to 2024-25): no change from "
                                                "baseline or status")
    # a year the source table lacks altogether
    (gone,) = plan_coverage(SimpleNamespace(measures=lambda: [plan.measure("G1.1-belonging")]),
                            tables, ["2022-23"])
    assert gone.state == NO and gone.reason == ("survey_responses has no rows for 2022-23 (it has "
                                                "2023-24 to 2024-25)")


PLAN = """\
id: covtest
title: Coverage test plan
organization: Test district
goals:
  - id: G1
    statement: Students belong.
    outcomes:
      - id: G1.1
        statement: Students feel they belong.
        measures:
          - id: G1.1-belonging
            title: Students who feel they belong at school
            kind: percent_favorable
            source: survey_responses
            spec: {survey: student_sel, topic: sense_of_belonging, respondent_type: student}
            direction: higher
            unit: percent
"""


@pytest.mark.slow
def test_run_warns_before_it_starts(renamed, tmp_path):
    plan = tmp_path / "covtest.yaml"
    plan.write_text(PLAN)
    r = cli("run", "--plan", str(plan), "--data", str(renamed), "--years", "2024-25",
            "--out", str(tmp_path / "reports"), "--jobs", "1")
    err = r.stderr
    assert r.returncode == 0, err          # it runs: the measure publishes "no data"
    head = ("Warning: plan covtest: 1 of 1 measures cannot be computed in full from this data "
            "(they will publish 'no data' or no status):")
    assert head in err
    line = err.split(head, 1)[1].splitlines()[1]
    assert line.split()[:3] == ["G1.1-belonging", "cannot", "compute"]
    assert "survey 'student_sel' not in survey_items.survey (there: family_climate, " \
           "pd_feedback, sel_student, staff_climate)" in line
    # printed before the run starts: before the progress bar's first line
    assert err.index(head) < err.find("plan-metrics run") if "plan-metrics run" in err else True
    assert "Traceback" not in err
