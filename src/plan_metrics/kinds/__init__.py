"""Measure kinds (DESIGN.md section 6): one pure function per kind, registered in ``KINDS``.

Interface of every kind function::

    def compute(tables: Tables, measure: Measure, school_year: str, options: Options) -> pd.DataFrame

It returns the *unsuppressed* rows of the measure for one school year: one row for the district
(building_id ``ALL``) and one per building, each for all students (group_by ``all``, group ``all``)
and for each group of each ``measure.groups`` column, with columns

    building_id, group_by, group, n, numerator, denominator, value, ci_low, ci_high,
    comparison_value, note

``n`` is the number of people behind the cell (students, respondents, staff; not answers or
student-years). The engine adds plan_id, measure_id, school_year, applies privacy and display.
Raise ``NoData(reason)`` when the table the measure reads is absent or has no rows for the year.
"""

from __future__ import annotations


class NoData(Exception):
    """The measure's source data is absent for this year; the engine writes a 'no data' row."""


ROW_COLUMNS = ["building_id", "group_by", "group", "n", "numerator", "denominator", "value",
               "ci_low", "ci_high", "comparison_value", "note"]


# The registry is imported last: the kind modules import NoData and ROW_COLUMNS from here.
from . import (action_completion, graduation, mean, per_100, percent_favorable,  # noqa: E402
               proficiency, rate, representation, risk_ratio, share_at_or_above)

#: kind name (plan.Measure.kind) -> its compute function.
KINDS: dict[str, callable] = {
    "percent_favorable": percent_favorable.compute,
    "rate": rate.compute,
    "proficiency": proficiency.compute,
    "graduation_rate": graduation.compute,
    "risk_ratio": risk_ratio.compute,
    "representation_gap": representation.compute,
    "per_100": per_100.compute,
    "mean": mean.compute,
    "share_at_or_above": share_at_or_above.compute,
    "action_completion": action_completion.compute,
}
