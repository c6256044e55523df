"""rate (DESIGN.md section 6): people meeting a condition / people in the population.

Conditions (RateSpec.condition):

- ``not_chronically_absent`` / ``chronically_absent`` (source enrollment), after EDFacts FS195: a
  student is chronically absent when days_absent / days_enrolled >= the threshold (exactly 10% IS
  chronically absent: 18 absences in 180 enrolled days is, 17 in 172 is not). Students with fewer
  than ``spec.min_days_enrolled`` days enrolled are out of the population. The threshold is the run
  option ``chronic_threshold`` unless the plan sets ``spec.threshold`` explicitly. A student enrolled
  in two buildings in a year counts in each building with that building's days; the district row
  adds the student's days over buildings before applying the rule.
- ``has_action`` (source discipline): enrolled students with at least one discipline row whose action
  is in ``spec.actions`` (any action when not given) / enrolled students. A building counts the
  discipline rows of its own students at that building; the district row counts any.
- ``not_separated`` (source staff): staff of ``spec.role`` (headcount, distinct staff_id) not
  separated at the end of the year / staff of the role. Groups are the staff member's own
  race_ethnicity and gender.

``spec.population`` (grade bands) restricts the students. n = people in the population; numerator =
people meeting the condition; interval: Wilson; comparison_value (group rows) = the rate of all other
people of the same building.
"""

from __future__ import annotations

import pandas as pd

from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """The rate of ``measure.spec.condition`` for one school year (chronic absence after EDFacts
    FS195)."""
    spec = measure.spec
    options = P.options_or_default(options)
    groups = list(measure.groups)
    if spec.condition in ("not_chronically_absent", "chronically_absent"):
        units, district = _attendance(tables, spec, school_year, options, groups)
    elif spec.condition == "has_action":
        units, district = _has_action(tables, spec, school_year, groups)
    else:
        units, district = _not_separated(tables, spec, school_year, groups)
    c = P.tabulate(units, groups, ["met", "one"], district=district)
    c = P.share_of_people(c, "met")
    return P.finish(c)


def _attendance(tables, spec, school_year, options, groups):
    threshold = spec.threshold if "threshold" in spec.model_fields_set else options.chronic_threshold
    enr = P.enrollment_rows(tables, school_year, spec.population, groups)
    per_student = P.collapse(enr, "student_id", {"days_enrolled": "sum", "days_absent": "sum"},
                             labels=groups)

    def rule(df: pd.DataFrame) -> pd.DataFrame:
        df = df[(df["days_enrolled"] >= spec.min_days_enrolled) & (df["days_enrolled"] > 0)]
        chronic = (df["days_absent"] / df["days_enrolled"]) >= threshold
        met = chronic if spec.condition == "chronically_absent" else ~chronic
        return df.assign(met=met.astype("int64"), one=1)

    return rule(enr), rule(per_student)


def _has_action(tables, spec, school_year, groups):
    disc = P.year_rows(tables, "discipline", school_year)
    if spec.actions:
        disc = disc[disc["action"].astype(str).isin(list(spec.actions))]
    enr = P.enrollment_rows(tables, school_year, spec.population, groups)
    pairs = disc[["student_id", "building_id"]].drop_duplicates().assign(_hit=1)
    units = enr.merge(pairs, on=["student_id", "building_id"], how="left")
    units = units.assign(met=units["_hit"].fillna(0).astype("int64"), one=1)
    district = P.collapse(enr, "student_id", {}, labels=groups)
    hit = district["student_id"].isin(disc["student_id"])
    district = district.assign(met=hit.astype("int64"), one=1)
    return units, district


def _not_separated(tables, spec, school_year, groups):
    staff = P.year_rows(tables, "staff", school_year)
    if spec.role is not None:
        staff = staff[staff["role"].astype(str) == spec.role]
    if staff.empty:
        raise P.NoData(f"no {spec.role or 'staff'} rows for {school_year} in table staff")
    labels = [g for g in groups if g in P.STAFF_GROUP_COLUMNS]
    staff = P.label_groups(staff, labels).assign(
        sep=staff["separated_end_of_year"].astype(bool).astype("int64"))
    units = P.collapse(staff, ["staff_id", "building_id"], {"sep": "max"}, labels, order_by=None)
    district = P.collapse(staff, "staff_id", {"sep": "max"}, labels, order_by="fte")
    units = units.assign(met=1 - units["sep"], one=1)
    district = district.assign(met=1 - district["sep"], one=1)
    return units[["building_id", *labels, "met", "one"]], district[[*labels, "met", "one",
                                                                    "building_id"]]
