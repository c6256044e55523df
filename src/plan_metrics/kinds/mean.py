"""mean (DESIGN.md section 6): the mean of a numeric column over a population.

value = sum of ``spec.column`` over the population / population size, where the population is the
enrolled students of the year restricted by ``spec.population`` (e.g. high-school students), and a
member of the population with no row in the source table counts as 0 (e.g. service hours per
high-school student, including students who logged none). A student's value is the sum of their rows
for the year. Rows of students outside the population are ignored. numerator = the sum, denominator =
n = the population size. Interval: the normal approximation for a mean. comparison_value (group rows)
= the mean of all other students of the building. A student enrolled in two buildings counts, with
their whole value, in each.
"""

from __future__ import annotations

import pandas as pd

from .. import stats
from ..errors import PlanMetricsError
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """The population mean of ``measure.spec.column`` for one school year."""
    spec = measure.spec
    groups = list(measure.groups)
    src = P.year_rows(tables, measure.source, school_year)
    if spec.column not in src.columns:
        raise PlanMetricsError(f"Table {measure.source} has no column {spec.column!r}",
                               f"measure {measure.id}, spec.column",
                               f"use one of {', '.join(map(str, src.columns))}")
    values = pd.to_numeric(src[spec.column], errors="coerce")
    if values.notna().sum() == 0:
        raise PlanMetricsError(f"Column {spec.column!r} of table {measure.source} holds no numbers",
                               f"measure {measure.id}, spec.column", "name a numeric column")
    per_student = values.fillna(0).groupby(src["student_id"]).sum().rename("x")

    enr = P.enrollment_rows(tables, school_year, spec.population, groups)
    units = enr.merge(per_student, left_on="student_id", right_index=True, how="left")
    units = units.assign(x=units["x"].fillna(0.0), one=1)
    units = units.assign(x2=units["x"] ** 2)
    district = P.collapse(units, "student_id", {"x": "first", "x2": "first", "one": "max"},
                          labels=groups)
    c = P.tabulate(units, groups, ["x", "x2", "one"], district=district)
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c["x"], c["one"]
    c["value"] = P.ratio(c["x"], c["one"])
    c["ci_low"], c["ci_high"] = stats.mean_interval(c["x"], c["x2"], c["one"])
    c["comparison_value"] = P.ratio(c["x_others"], c["one_others"])
    return P.finish(c)
