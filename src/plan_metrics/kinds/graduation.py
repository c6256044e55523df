"""graduation_rate (DESIGN.md section 6): the 4-year adjusted cohort graduation rate (34 CFR 200.19).

The cohort of school year Y is the graduation_cohort rows with ``cohort == Y`` (expected graduation
in Y). value = graduated_on_time / adjusted cohort, where the adjusted cohort is the cohort minus the
students documented as transferred_out, deceased or other_removal. Dropouts and students still
enrolled stay in the denominator; graduated_late is not on time. n = the adjusted cohort size;
Wilson interval; comparison_value (group rows) = the rate of all other students of the building.

A student counts in the building of their cohort row; their groups come from their enrollment in the
cohort year or, failing that, their latest enrollment row before it (or any later one).
"""

from __future__ import annotations

import pandas as pd

from . import _population as P

REMOVED = ("transferred_out", "deceased", "other_removal")


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """The 4-year adjusted cohort graduation rate (34 CFR 200.19) of the cohort expected to
    graduate in ``school_year``."""
    groups = list(measure.groups)
    cohort = P.year_rows(tables, "graduation_cohort", school_year)
    outcome = cohort["outcome"].astype(str)
    cohort = cohort[~outcome.isin(REMOVED)]
    if cohort.empty:
        raise P.NoData(f"every student of cohort {school_year} was removed from the cohort")
    units = cohort[["student_id", "building_id"]].assign(
        grad=(cohort["outcome"].astype(str) == "graduated_on_time").astype("int64"), one=1)
    if groups:
        units = P.attach_groups(units, P.student_groups_latest(tables, school_year, groups))
    c = P.tabulate(units, groups, ["grad", "one"])
    c = P.share_of_people(c, "grad")
    return P.finish(c)
