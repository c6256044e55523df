"""The attacks of issue 9, on a small hand-built district: subtraction across the whole table
(building x group against district x group), bounds ("a listed group holds someone"), and linked
measures (ELA and math count the same tested students). The attacker (tests/attacker.py) is
written apart from the library. The per-measure, per-line first pass (the old suppression) falls to
it; the published edition holds: every hidden count keeps a range of at least ``protection``."""

from __future__ import annotations

import itertools
from pathlib import Path
from dataclasses import dataclass

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attacker import narrowest, ranges
from plan_metrics import engine, loading
from plan_metrics.options import Options
from plan_metrics.plan import Plan
from plan_metrics.runs.protection import protect_editions

Y = "2023-24"
RACES = ("white", "black", "asian", "american_indian")
# students per building and race. ES01's asian and American Indian students are 1 each: hidden
# alone in their line, and their row publishes the pair's total of 2 - so each is 1 (bounds).
# ES02's American Indian count of 2 is the G2.4 pattern: the asian column and the other rows close
# the system by subtraction.
COUNTS = {"ES01": (30, 25, 1, 1), "ES02": (28, 22, 11, 2), "ES03": (26, 27, 5, 12)}
PROTECTION = 5


def student_rows(counts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enrollment and assessments: every student tested in ELA and math (the same people);
    proficient in ELA every third student, in math every second one, counted per building."""
    enr, tests = [], []
    for b, per_race in counts.items():
        i = 0
        for race, count in zip(RACES, per_race):
            for _ in range(count):
                sid = f"{b}-{i:03d}"
                enr.append({"school_year": Y, "student_id": sid, "building_id": b, "grade": 4,
                            "race_ethnicity": race, "gender": "female",
                            "econ_disadvantaged": False, "disability": False,
                            "english_learner": False, "days_enrolled": 170, "days_absent": 3})
                for subject, every in (("ela", 3), ("math", 2)):
                    level = 3 if i % every == 0 else 2
                    tests.append({"school_year": Y, "student_id": sid, "building_id": b,
                                  "test": "milestones", "subject": subject, "grade": 4,
                                  "level": level, "scale_score": None})
                i += 1
    return pd.DataFrame(enr), pd.DataFrame(tests)


def measure(subject: str) -> dict:
    return {"id": f"{subject}-proficient", "title": f"{subject} proficient", "kind": "proficiency",
            "source": "assessments", "direction": "higher", "groups": ["race_ethnicity"],
            "spec": {"test": "milestones", "subject": subject,
                     "statistic": "percent_proficient"}, "unit": "percent"}


PLAN = Plan.model_validate({
    "id": "hand", "title": "Hand-built plan", "organization": "Hand-built district",
    "goals": [{"id": "G1", "statement": "Students read and compute.",
               "outcomes": [{"id": "G1.1", "statement": "Proficiency rises.",
                             "measures": [measure("ela"), measure("math")]}]}]})
SAME = [["ela-proficient", "math-proficient"]]


def district(folder: Path, counts) -> loading.Tables:
    folder.mkdir(parents=True, exist_ok=True)
    enr, tests = student_rows(counts)
    pd.DataFrame([{"building_id": b, "name": f"School {b}", "level": "elementary",
                   "grade_low": "K", "grade_high": "5"} for b in counts]).to_csv(
        folder / "buildings.csv", index=False)
    enr.to_csv(folder / "enrollment.csv", index=False)
    tests.to_csv(folder / "assessments.csv", index=False)
    return loading.load_data(folder, tables=["buildings", "enrollment", "assessments"])


def first_pass(tables) -> pd.DataFrame:
    """What the old suppression published: each measure on its own, line by line."""
    return engine.compute_measures(PLAN, tables, Y, Options())


@dataclass(eq=False)
class _Edition:
    """What runs.protection reads of an edition being published."""
    plan: Plan
    year: str
    params: dict
    rows_dir: Path
    domains: list
    target: Path


def published(tables, tmp: Path) -> pd.DataFrame:
    """The rows the run publishes (the privacy step of runs.protection, in process)."""
    rows_dir = tmp / "scratch"
    rows_dir.mkdir(parents=True, exist_ok=True)
    rows = engine.compute_measures(PLAN, tables, Y, Options(), keep_truth=True)
    rows.to_parquet(rows_dir / "achievement.parquet", index=False)
    ed = _Edition(PLAN, Y, {"min_n": 10, "protection": PROTECTION}, rows_dir, ["achievement"],
                  tmp / "reports" / PLAN.id / Y)
    (final, record), = protect_editions([ed], tables, tmp / "reports").values()
    return final


def test_the_old_suppression_falls_to_the_attacker(tmp_path):
    rows = first_pass(district(tmp_path / "data", COUNTS))
    (m, b, gb, g, q), (low, high) = narrowest(ranges(rows, SAME))
    assert high - low < PROTECTION
    # ES01's two small groups are pinned at 1 each (bounds and their row's total)
    hit = ranges(rows, SAME)
    assert hit[("ela-proficient", "ES01", "race_ethnicity", "asian", "n")] == (1, 1)


def test_the_published_edition_holds_against_the_attacker(tmp_path):
    final = published(district(tmp_path / "data", COUNTS), tmp_path)
    hidden = ranges(final, SAME)
    assert hidden, "the small groups are hidden"
    key, (low, high) = narrowest(hidden)
    assert high - low >= PROTECTION, f"{key} is narrowed to {low}..{high}"
    # one consistent pattern for the measures that count the same people
    state = final.assign(h=final["n"].isna()).pivot_table(
        index=["building_id", "group_by", "group"], columns="measure_id", values="h")
    assert (state["ela-proficient"] == state["math-proficient"]).all()
    # every group under min_n is hidden, with one display text that tells no range
    for b, per_race in COUNTS.items():
        for race, count in zip(RACES, per_race):
            row = final[(final["building_id"] == b) & (final["group"] == race)]
            if count < 10:
                assert row["n"].isna().all() and set(row["display"]) == {"not shown"}


@st.composite
def counts(draw):
    buildings = draw(st.integers(2, 4))
    return {f"B{i}": tuple(draw(st.integers(0, 30)) for _ in RACES) for i in range(buildings)}


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=counts())
def test_generated_districts_hold_against_the_attacker(tmp_path_factory, case):
    if sum(itertools.chain(*case.values())) == 0:
        return
    tmp = tmp_path_factory.mktemp("district")
    final = published(district(tmp / "data", case), tmp)
    truth = {(b, race): c for b, per in case.items() for race, c in zip(RACES, per)}
    hidden = ranges(final, SAME)
    for (m, b, gb, g, q), (low, high) in hidden.items():
        assert high - low >= PROTECTION, f"{m} {b} {g} {q}: {low}..{high}"
        if q == "n" and b != "ALL" and g in RACES:
            assert low <= truth[(b, g)] <= high  # the attacker's range holds the truth


@pytest.mark.parametrize("name", ["ela-proficient"])
def test_first_pass_is_per_measure(name, tmp_path):
    # sanity: the attacker sees nothing hidden when nothing is small
    big = {b: (30, 30, 30, 30) for b in ("ES01", "ES02")}
    rows = first_pass(district(tmp_path / "data", big))
    assert not ranges(rows[rows["measure_id"] == name], SAME)
