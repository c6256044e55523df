"""risk_ratio (DESIGN.md section 6), after the IDEA significant-disproportionality rule, 34 CFR 300.647.

Risk of a group = students of the group with at least one event / enrolled students of the group.
RR = risk of the group / risk of the comparison group, where the comparison group is all other
enrolled students of the same building (for a yes/no group that is "yes vs no": the ``false`` row
compares with the ``true`` students). Events are discipline actions in ``spec.event`` (source
discipline; a building counts the rows at that building) or program codes in ``spec.event`` (source
programs). ``spec.population`` restricts the students by grade band of their enrollment row (e.g.
high-school students for advanced coursework).

Window: ``window_years`` W pools the W school years ending in the school year (those with enrollment
data): numerator = students with >= 1 event, counted once per year, summed over the years;
denominator = enrolled student-years. numerator/denominator are the group's; n = the group's
distinct students in the window (people, for the privacy rules).

No ratio (value empty, the note says why) where the group's or the comparison group's event count is
under ``options.cell_size`` or either enrollment (student-years) is under ``options.n_size``.
Interval: the Katz log interval (``stats.log_rr_interval``). comparison_value = the comparison
group's risk. The risk difference has no column in the results schema, so the note carries it with
both risks: "risk 20.0% vs 10.0% (difference +10.0 points)".

The ``all`` rows have no ratio (there is nobody to compare all students with): value,
comparison_value and the interval are empty; numerator/denominator give the overall events and
student-years and the note states the overall risk. The dashboard shows the RR of each group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract, stats
from ..errors import PlanMetricsError
from ..results import ALL
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Risk ratios (34 CFR 300.647) of each student group for one school year, pooled over the
    window."""
    spec = measure.spec
    options = P.options_or_default(options)
    groups = list(measure.groups)
    years = [contract.shift_school_year(school_year, -k) for k in range(spec.window_years)][::-1]
    codes = contract.DISCIPLINE_ACTION if measure.source == "discipline" else contract.PROGRAM
    unknown = [e for e in spec.event if e not in codes]
    if unknown:
        raise PlanMetricsError(f"Event {', '.join(map(repr, unknown))} is not a code of table "
                               f"{measure.source}", f"measure {measure.id}, spec.event",
                               f"use codes of {measure.source}: {', '.join(codes)}")

    events = P.year_rows(tables, measure.source, school_year)  # NoData when the year is absent
    source = P.get_table(tables, measure.source)
    source = source[source["school_year"].astype(str).isin(years)]
    code = "action" if measure.source == "discipline" else "program"
    events = source[source[code].astype(str).isin(list(spec.event))]

    enr = P.enrollment_rows(tables, years, spec.population, groups)
    enr = enr.assign(school_year=enr["school_year"].astype(str))
    if not (enr["school_year"] == school_year).any():
        raise P.NoData(f"no enrolled students for {school_year} in table enrollment")
    pooled = sorted(enr["school_year"].unique())

    ev_years = events[["school_year", "student_id"]].astype({"school_year": "str"})
    if measure.source == "discipline":
        pairs = events[["school_year", "student_id", "building_id"]].astype(
            {"school_year": "str"}).drop_duplicates().assign(_hit=1)
        units = enr.merge(pairs, on=["school_year", "student_id", "building_id"], how="left")
    else:
        units = enr.merge(ev_years.drop_duplicates().assign(_hit=1),
                          on=["school_year", "student_id"], how="left")
    units = units.assign(event=units["_hit"].fillna(0).astype("int64"), one=1)
    district = P.collapse(enr, ["school_year", "student_id"], {}, labels=groups)
    hit = pd.MultiIndex.from_frame(district[["school_year", "student_id"]]).isin(
        pd.MultiIndex.from_frame(ev_years))
    district = district.assign(event=hit.astype("int64"), one=1)

    c = P.tabulate(units, groups, ["event", "one"], district=district,
                   distinct={"n": "student_id"})
    a, n1 = c["event"].to_numpy(float), c["one"].to_numpy(float)
    cc, n2 = c["event_others"].to_numpy(float), c["one_others"].to_numpy(float)
    risk, risk_c = P.ratio(a, n1), P.ratio(cc, n2)
    is_all = (c["group_by"] == ALL).to_numpy()

    unit = "students" if spec.window_years == 1 else "student-years"
    cell, nsize = options.cell_size, options.n_size
    reasons = [
        (a < cell, f"fewer than {cell} {unit} with an event in the group"),
        (cc < cell, f"fewer than {cell} {unit} with an event in the comparison group"),
        (n1 < nsize, f"fewer than {nsize} {unit} enrolled in the group"),
        (n2 < nsize, f"fewer than {nsize} {unit} enrolled in the comparison group"),
    ]
    why = np.select([r for r, _ in reasons], [t for _, t in reasons], default="")
    ok = (~is_all) & (why == "")
    rr = np.where(ok, P.ratio(risk, risk_c), np.nan)
    low, high = stats.log_rr_interval(a, n1, cc, n2)

    c["numerator"], c["denominator"] = a, n1
    c["value"] = rr
    c["ci_low"] = np.where(ok, low, np.nan)
    c["ci_high"] = np.where(ok, high, np.nan)
    c["comparison_value"] = np.where(is_all, np.nan, risk_c)
    window = ("" if spec.window_years == 1 else
              f"; {len(pooled)} school years pooled ({pooled[0]} to {pooled[-1]})")
    # people behind each risk, for the 0%/100% rule in the notes (student-years / W is a lower
    # bound on the comparison group's people, so the rule errs on the side of a bound)
    people, people_c = c["n"].to_numpy(float), n2 / spec.window_years
    notes = []
    for i in range(len(c)):
        if is_all[i]:
            notes.append(f"overall risk {P.pct(risk[i], people[i])}; the risk ratio is reported for each "
                         f"student group{window}")
            continue
        diff = 100 * (risk[i] - risk_c[i])
        text = (f"risk {P.pct(risk[i], people[i])} vs {P.pct(risk_c[i], people_c[i])} "
                f"(difference {diff:+.1f} points)" if np.isfinite(diff) else "no risk to compare")
        notes.append((f"no ratio: {why[i]}; " if why[i] else "") + text + window)
    c["note"] = notes
    return P.finish(c)
