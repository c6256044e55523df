"""representation_gap (DESIGN.md section 6): the teacher diversity gap (Center for American Progress).

value = share of staff of ``spec.role`` in the category minus share of students in it, in
percentage points (e.g. 20% teachers of color vs 45% students of color -> -25.0). The category
``of_color`` is every race_ethnicity but white. Staff are a headcount (distinct staff_id, not FTE);
``spec.new_hires_only`` restricts the staff to new hires of the year. Students are the enrolled
students of the year (distinct student_id).

Per building (its own staff vs its own students) and for the district. numerator/denominator = staff
in the category / staff; n = staff headcount; comparison_value = the students' share; the note gives
the ratio of the two shares (staff share / student share). Interval: MOVER (Newcombe's method 10) of
the two Wilson intervals, in points. There are no student-group rows: the measure compares two
populations as a whole, so ``measure.groups`` is ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract, stats
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """The teacher diversity gap (Center for American Progress): staff share minus student share
    in points, for one school year, per building and district."""
    spec = measure.spec
    staff = P.year_rows(tables, "staff", school_year)
    staff = staff[staff["role"].astype(str) == spec.role]
    if spec.new_hires_only:
        staff = staff[staff["new_hire"].astype(bool)]
    who = f"{'newly hired ' if spec.new_hires_only else ''}{spec.role} staff"
    if staff.empty:
        raise P.NoData(f"no {who} for {school_year} in table staff")
    enr = P.enrollment_rows(tables, school_year)

    def in_category(df: pd.DataFrame) -> pd.Series:
        return df["race_ethnicity"].astype(str).isin(contract.OF_COLOR).astype("int64")

    st_units = staff.drop_duplicates(["staff_id", "building_id"])
    st_units = st_units[["staff_id", "building_id"]].assign(cat=in_category(st_units), one=1)
    st_district = staff.drop_duplicates("staff_id")
    st_district = st_district[["staff_id", "building_id"]].assign(cat=in_category(st_district),
                                                                  one=1)
    stu_units = enr[["student_id", "building_id"]].assign(cat=in_category(enr), one=1)
    stu_district = P.collapse(enr, "student_id", {}, labels=["race_ethnicity"])
    stu_district = stu_district.assign(cat=in_category(stu_district), one=1)

    s = P.tabulate(st_units, [], ["cat", "one"], district=st_district)
    t = P.tabulate(stu_units, [], ["cat", "one"], district=stu_district)
    c = s.merge(t[["building_id", "cat", "one"]].rename(columns={"cat": "s_cat", "one": "s_one"}),
                on="building_id", how="left")
    c[["s_cat", "s_one"]] = c[["s_cat", "s_one"]].fillna(0)

    p_staff, p_stu = P.ratio(c["cat"], c["one"]), P.ratio(c["s_cat"], c["s_one"])
    l1, u1 = stats.wilson(c["cat"], c["one"])
    l0, u0 = stats.wilson(c["s_cat"], c["s_one"])
    low, high = stats.mover_difference(p_staff, l1, u1, p_stu, l0, u0)
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c["cat"], c["one"]
    c["value"] = 100 * (p_staff - p_stu)
    c["ci_low"], c["ci_high"] = 100 * np.asarray(low), 100 * np.asarray(high)
    c["comparison_value"] = p_stu
    share_ratio = P.ratio(p_staff, p_stu)
    c["note"] = [
        (f"staff {P.pct(a, na)} of color vs students {P.pct(b, nb)}; ratio {r:.2f}"
         if np.isfinite(r) else "no students enrolled in this building" if not np.isfinite(b)
         else f"staff {P.pct(a, na)} of color vs students {P.pct(b, nb)}; no ratio (no students "
              f"of color)")
        for a, b, r, na, nb in zip(p_staff, p_stu, share_ratio, c["one"].to_numpy(float),
                                   c["s_one"].to_numpy(float))]
    return P.finish(c)
