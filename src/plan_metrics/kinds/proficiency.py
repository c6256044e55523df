"""proficiency (DESIGN.md section 6): achievement on a state test, per test and subject.

Statistics (ProficiencySpec.statistic):

- ``percent_proficient``: students at level >= ``proficient_level`` (3: Missouri MAP proficient or
  advanced; Georgia Milestones proficient or distinguished) / students tested; Wilson interval;
  comparison_value (group rows) = the proportion of all other tested students of the building.
- ``mpi``: the Missouri MAP Performance Index, 100 x (1*L1 + 3*L2 + 4*L3 + 5*L4) / N (100..500;
  25 students at each level give 325). numerator = 100 x the points, denominator = N. Interval: the
  normal approximation for the mean of the per-student points, times 100. comparison_value = the
  MPI of all other tested students of the building.
- ``gap``: for a group row, the group's percent proficient minus all other tested students' (of the
  same building), in percentage points (e.g. 50% vs 75% -> -25.0); comparison_value = the others'
  proportion; numerator/denominator/n are the group's. Interval: MOVER (Newcombe's method 10) from
  the two Wilson intervals, in points. The gap is defined for groups only: the ``all`` rows carry
  the tested counts but no value, with the note "gap is defined for groups".

A student's groups come from enrollment of the year (students with no enrollment row count in the
``all`` rows only); a student counts in the building of their test record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import stats
from ..results import ALL
from . import _population as P

MPI_POINTS = {1: 1, 2: 3, 3: 4, 4: 5}


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Percent proficient (MAP / Milestones levels), the MAP Performance Index or the
    proficiency gap, for one test, subject and year."""
    spec = measure.spec
    groups = list(measure.groups)
    tests = P.year_rows(tables, "assessments", school_year)
    tests = tests[(tests["test"].astype(str) == spec.test)
                  & (tests["subject"].astype(str) == spec.subject)]
    level = pd.to_numeric(tests["level"], errors="coerce")
    tests = tests[level.notna()]
    level = level[level.notna()].astype("int64")
    if tests.empty:
        raise P.NoData(f"no {spec.test} {spec.subject} results for {school_year}")
    points = level.map(MPI_POINTS).astype("float64")
    units = tests[["student_id", "building_id"]].assign(
        prof=(level >= spec.proficient_level).astype("int64"), one=1,
        pts=points, pts2=points * points)
    if groups:
        units = P.attach_groups(units, P.student_groups(tables, school_year, groups))
    # The key (school_year, student_id, test, subject) makes one row per student: the district
    # frame is the unit frame itself.
    c = P.tabulate(units, groups, ["prof", "one", "pts", "pts2"])
    c["n"] = c["one"]

    if spec.statistic == "mpi":
        c["numerator"], c["denominator"] = 100 * c["pts"], c["one"]
        c["value"] = 100 * P.ratio(c["pts"], c["one"])
        low, high = stats.mean_interval(c["pts"], c["pts2"], c["one"])
        c["ci_low"], c["ci_high"] = 100 * np.asarray(low), 100 * np.asarray(high)
        c["comparison_value"] = 100 * P.ratio(c["pts_others"], c["one_others"])
        return P.finish(c)

    c["numerator"], c["denominator"] = c["prof"], c["one"]
    p = P.ratio(c["prof"], c["one"])
    low, high = stats.wilson(c["prof"], c["one"])
    p_o = P.ratio(c["prof_others"], c["one_others"])
    c["comparison_value"] = p_o
    if spec.statistic == "percent_proficient":
        c["value"], c["ci_low"], c["ci_high"] = p, low, high
        return P.finish(c)

    # gap, in percentage points
    low_o, high_o = stats.wilson(c["prof_others"], c["one_others"])
    d_low, d_high = stats.mover_difference(p, low, high, p_o, low_o, high_o)
    is_all = (c["group_by"] == ALL).to_numpy()
    c["value"] = np.where(is_all, np.nan, 100 * (p - p_o))
    c["ci_low"] = np.where(is_all, np.nan, 100 * np.asarray(d_low))
    c["ci_high"] = np.where(is_all, np.nan, 100 * np.asarray(d_high))
    no_others = (~is_all) & (c["one_others"].to_numpy() == 0)
    c["note"] = np.where(is_all, "gap is defined for groups",
                         np.where(no_others, "no other students tested to compare with", None))
    return P.finish(c)
