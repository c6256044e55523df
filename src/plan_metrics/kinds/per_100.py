"""per_100 (DESIGN.md section 6): discipline incidents per 100 enrolled students.

value = distinct incidents (incident_id) of the categories in ``spec.category`` (``all``: every
category) / enrolled students x 100. A building's incidents (discipline rows at that building) are
over its own enrollment; the district's over the district's distinct students. A group row counts the
incidents involving at least one student of the group (an incident with students of two groups
counts in both) over the enrolled students of the group. numerator = incidents, denominator = n =
enrolled students. Interval: Byar's approximation to the exact Poisson interval
(``stats.poisson_rate_interval``). There is no comparison_value: incidents are not additive over
groups, so "all other students" has no clean rate.
"""

from __future__ import annotations

import pandas as pd

from .. import stats
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Incidents of the categories per 100 enrolled students, for one school year."""
    spec = measure.spec
    groups = list(measure.groups)
    disc = P.year_rows(tables, "discipline", school_year)
    if spec.category != "all":
        disc = disc[disc["category"].astype(str).isin(list(spec.category))]
    enr = P.enrollment_rows(tables, school_year, groups=groups)

    stu_units = enr.assign(one=1)
    stu_district = P.collapse(stu_units, "student_id", {"one": "max"}, labels=groups)
    enrolled = P.tabulate(stu_units, groups, ["one"], district=stu_district)

    incidents = disc[["incident_id", "student_id", "building_id"]]
    if groups:
        labels = stu_district[["student_id", *[g for g in groups if g in stu_district.columns]]]
        incidents = P.attach_groups(incidents, labels)
    counted = P.tabulate(incidents, groups, [], distinct={"incidents": "incident_id"})

    c = enrolled.merge(counted, on=["building_id", "group_by", "group"], how="left")
    c["incidents"] = c["incidents"].fillna(0)
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c["incidents"], c["one"]
    c["value"] = 100 * P.ratio(c["incidents"], c["one"])
    c["ci_low"], c["ci_high"] = stats.poisson_rate_interval(c["incidents"], c["one"], per=100)
    return P.finish(c)
