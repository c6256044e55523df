"""share_at_or_above (DESIGN.md section 6): share of people or units rated at or above a level.

By source:

- ``progression_rubrics``: students rated on ``spec.attribute`` with score >= ``spec.min`` / students
  rated. With ``spec.assessor`` only that assessor's ratings count; without it, a student rated by
  both uses the teacher's rating. Groups from enrollment of the year; n = students rated.
- ``educator_evaluations``: educators whose mean rating over the standards rated is >= ``spec.min``
  / educators rated (a building averages the standards rated at that building; the district all of
  the educator's). Groups are the educator's own race_ethnicity and gender (from the staff table);
  n = educators.
- ``curriculum_audit``: units whose rating on ``spec.criterion`` is >= ``spec.min`` on the ordered
  scale not_evident < emerging < meets < exceeds (a number 1..4 is a position on that scale) / units
  rated. n = units, not people (the note says so); no student-group rows.

Interval: Wilson. comparison_value (group rows) = the share of all other people of the building.
"""

from __future__ import annotations

import pandas as pd

from .. import contract
from ..errors import PlanMetricsError
from . import _population as P

AUDIT_SCALE = {r: i + 1 for i, r in enumerate(contract.AUDIT_RATING)}


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Share at or above ``spec.min`` for one school year (see module docstring)."""
    if measure.source == "progression_rubrics":
        units, district, groups, note = _rubrics(tables, measure, school_year)
    elif measure.source == "educator_evaluations":
        units, district, groups, note = _evaluations(tables, measure, school_year)
    else:
        units, district, groups, note = _audit(tables, measure, school_year)
    c = P.tabulate(units, groups, ["met", "one"], district=district)
    c = P.share_of_people(c, "met")
    c["note"] = note
    return P.finish(c)


def _numeric_min(measure) -> int:
    m = measure.spec.min
    if isinstance(m, str):
        raise PlanMetricsError(f"spec.min of a {measure.source} measure must be a score 1..4, "
                               f"not {m!r}", f"measure {measure.id}, spec.min",
                               "write e.g. min: 3")
    return m


def _rubrics(tables, measure, school_year):
    spec = measure.spec
    if spec.attribute is None:
        raise PlanMetricsError("A progression_rubrics measure needs spec.attribute",
                               f"measure {measure.id}, spec",
                               "add e.g. attribute: Creative Thinker (as the plan writes it)")
    minimum = _numeric_min(measure)
    rows = P.year_rows(tables, "progression_rubrics", school_year)
    rows = rows[rows["attribute"].astype(str) == spec.attribute]
    if spec.assessor is not None:
        rows = rows[rows["assessor"].astype(str) == spec.assessor]
    else:  # the teacher's rating first, the student's own when there is no teacher rating
        rows = rows.assign(_t=(rows["assessor"].astype(str) != "teacher").astype(int))
        rows = rows.sort_values(["student_id", "_t"], kind="stable").drop_duplicates("student_id")
    if rows.empty:
        raise P.NoData(f"no {spec.attribute} ratings for {school_year}")
    score = pd.to_numeric(rows["score"], errors="coerce")
    units = rows[["student_id", "building_id"]].assign(
        met=(score >= minimum).astype("int64"), one=1)
    groups = list(measure.groups)
    if groups:
        units = P.attach_groups(units, P.student_groups(tables, school_year, groups))
    return units, None, groups, None


def _evaluations(tables, measure, school_year):
    minimum = _numeric_min(measure)
    rows = P.year_rows(tables, "educator_evaluations", school_year)
    rows = rows.assign(rating=pd.to_numeric(rows["rating"], errors="coerce"))
    rows = rows[rows["rating"].notna()].assign(k=1)
    # mean >= min  <=>  sum >= min * count (exact in integers)
    per_bldg = rows.groupby(["staff_id", "building_id"], sort=False).agg(
        s=("rating", "sum"), k=("k", "sum")).reset_index()
    per_staff = rows.groupby("staff_id", sort=False).agg(
        s=("rating", "sum"), k=("k", "sum"), building_id=("building_id", "first")).reset_index()
    groups = [g for g in measure.groups if g in P.STAFF_GROUP_COLUMNS]
    labels = P.staff_groups(P.maybe_table(tables, "staff"), school_year, groups)
    out = []
    for df in (per_bldg, per_staff):
        df = df.assign(met=(df["s"] >= minimum * df["k"]).astype("int64"), one=1)
        out.append(P.attach_groups(df, labels, key="staff_id") if labels is not None else df)
    return out[0], out[1], groups, None


def _audit(tables, measure, school_year):
    spec = measure.spec
    if spec.criterion is None:
        raise PlanMetricsError("A curriculum_audit measure needs spec.criterion",
                               f"measure {measure.id}, spec", "add e.g. criterion: representation")
    minimum = spec.min if isinstance(spec.min, int) else AUDIT_SCALE[spec.min]
    rows = P.year_rows(tables, "curriculum_audit", school_year)
    rows = rows[rows["criterion"].astype(str) == spec.criterion]
    if rows.empty:
        raise P.NoData(f"no curriculum_audit ratings of {spec.criterion} for {school_year}")
    rank = rows["rating"].astype(str).map(AUDIT_SCALE)
    units = rows[["unit_id", "building_id"]].assign(met=(rank >= minimum).astype("int64"), one=1)
    return units, None, [], "units, not people"
