"""The planted truth (PLANTED.yaml): the effects the generator builds into the demo district, so
tests can check that the engine recovers them.

Each entry names the measure (catalogue id, DESIGN.md section 7), what is measured, the cell
(building, group_by, group, school_year) and the expected value in the units of results.parquet
(proportions as fractions, gaps in points, risk ratios as ratios), with two allowances:

- ``tolerance``: 3 binomial standard errors at the expected value and this district's group sizes
  (what a real district of this size would see by chance);
- ``exact_within``: the largest deviation that rounding the planted counts can cause. The generator
  fixes the count of events per group (sampling without replacement), so the generated data hit
  ``expected`` within this much, which is far inside ``tolerance``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import staff as staff_mod
from . import students as stu
from . import surveys as srv
from ._draw import gap_rates, two_group_rates
from .district import CHRONIC_RATE, GRAD_RATE, N_YEARS


def _prop_tol(p, n):
    return 3 * np.sqrt(p * (1 - p) / n)


def _rr_bounds(p1, n1, p0, n0, slack=0.5):
    """(3-SE tolerance, rounding bound) of a risk ratio p1/p0 drawn with fixed counts."""
    rr = p1 / p0
    se = np.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
    tol = rr * (np.exp(3 * se) - 1)
    k1, k0 = p1 * n1, p0 * n0
    worst = max(abs((k1 + slack) / n1 / ((k0 - slack) / n0) - rr),
                abs((k1 - slack) / n1 / ((k0 + slack) / n0) - rr))
    return float(tol), float(worst)


def _entry(measure, what, year, expected, tolerance, exact_within, unit, group_by="all",
           group="all", building="ALL", **extra):
    e = {"measure": measure, "what": what, "building": building, "group_by": group_by,
         "group": group, "school_year": year, "expected": round(float(expected), 4),
         "tolerance": round(float(tolerance), 4), "exact_within": round(float(exact_within), 4),
         "unit": unit}
    e.update(extra)
    return e


def planted(tables: dict[str, pd.DataFrame], years: list[str]) -> list[dict]:
    """Every planted effect with its expected value, tolerance and rounding bound."""
    enr = tables["enrollment"]
    out: list[dict] = []
    n_year = enr.groupby("school_year").size().reindex(years).to_numpy()
    black = (enr["race_ethnicity"] == "black").groupby(enr["school_year"]).sum()
    black = black.reindex(years).to_numpy()
    other = n_year - black

    # suspension: 1-year risk ratio, 3-year pooled risk ratio, and the overall rate
    p_b, p_o = two_group_rates(stu.SUSPENSION_RATE, stu.SUSPENSION_RR, black, other)
    for t, y in enumerate(years):
        tol, ex = _rr_bounds(p_b[t], black[t], p_o[t], other[t])
        out.append(_entry("G1.2-suspension-rr", "risk ratio of students with >= 1 iss/oss/"
                          "expulsion, black vs all other enrolled students, 1-year risk "
                          "(window_years 1)", y, stu.SUSPENSION_RR[t], tol, ex, "ratio",
                          "race_ethnicity", "black", window_years=1))
    for t in range(2, N_YEARS):
        w = slice(t - 2, t + 1)
        n1, n0 = black[w].sum(), other[w].sum()
        q1, q0 = (p_b[w] * black[w]).sum() / n1, (p_o[w] * other[w]).sum() / n0
        tol, ex = _rr_bounds(q1, n1, q0, n0, slack=1.5)
        out.append(_entry("G1.2-suspension-rr", "the same risk ratio pooled over the 3 years "
                          "ending in school_year (students with an event counted once per year; "
                          "enrolled student-years)", years[t], q1 / q0, tol, ex, "ratio",
                          "race_ethnicity", "black", window_years=3))
    for t, y in enumerate(years):
        r = stu.SUSPENSION_RATE
        out.append(_entry("G1.2-suspension-rate", "share of enrolled students with >= 1 iss/"
                          "oss/expulsion", y, r, _prop_tol(r, n_year[t]), 1 / n_year[t],
                          "proportion"))

    # belonging, by english_learner (pooled favorable answers / answered items)
    resp = tables["survey_responses_student_sel"]
    items = srv.ITEMS["student_sel"]["sense_of_belonging"]
    bel = resp[resp["item_id"].isin([i for i, _, _ in items]) & resp["response"].notna()]
    bel = pd.DataFrame({"school_year": bel["school_year"].astype(str).to_numpy(),
                        "student_id": bel["student_id"].astype(str).to_numpy()})
    el = enr[["school_year", "student_id", "english_learner"]]
    bel = bel.merge(el, on=["school_year", "student_id"], how="left")
    answered = bel.groupby(["school_year", "english_learner"]).size().unstack(fill_value=0)
    respondents = bel.drop_duplicates(["school_year", "student_id"]).groupby(
        ["school_year", "english_learner"]).size().unstack(fill_value=0)
    for t, y in enumerate(years):
        a1, a0 = answered.loc[y, True], answered.loc[y, False]
        r1, r0 = respondents.loc[y, True], respondents.loc[y, False]
        p1, p0 = gap_rates(srv.BELONGING_RATE, srv.BELONGING_EL_GAP[t], a1, a0)
        what = "percent favorable, student_sel topic sense_of_belonging"
        out.append(_entry("G1.1-belonging", what, y, srv.BELONGING_RATE,
                          _prop_tol(srv.BELONGING_RATE, r1 + r0), 1 / (a1 + a0), "proportion"))
        out.append(_entry("G1.1-belonging", what + ", english learners", y, p1,
                          _prop_tol(p1, r1), 0.5 / a1, "proportion", "english_learner", "true"))
        out.append(_entry("G1.1-belonging", what + ", students who are not english learners", y,
                          p0, _prop_tol(p0, r0), 0.5 / a0, "proportion", "english_learner",
                          "false"))
        out.append(_entry("G1.1-belonging", "gap in points: english learners' percent favorable "
                          "minus the other students'", y, srv.BELONGING_EL_GAP[t],
                          100 * 3 * np.sqrt(p1 * (1 - p1) / r1 + p0 * (1 - p0) / r0),
                          100 * (0.5 / a1 + 0.5 / a0), "points", "english_learner", "true",
                          statistic="gap"))

    # teachers of color vs students of color
    st = tables["staff"]
    teachers = st[st["role"] == "teacher"].groupby("school_year").size().reindex(years).to_numpy()
    soc = enr["race_ethnicity"].ne("white").groupby(enr["school_year"]).mean().reindex(years).to_numpy()
    for t, y in enumerate(years):
        q = soc[t] + staff_mod.TEACHER_GAP[t] / 100
        out.append(_entry("G1.4-teacher-diversity-gap", "% teachers of color minus % students of "
                          "color, in points (headcount, role teacher)", y, staff_mod.TEACHER_GAP[t],
                          100 * 3 * np.sqrt(q * (1 - q) / teachers[t]), 100 * 0.5 / teachers[t],
                          "points"))
        out.append(_entry("PO5-teacher-retention", "share of teachers not separated at year end",
                          y, 1 - staff_mod.TEACHER_SEPARATION,
                          _prop_tol(1 - staff_mod.TEACHER_SEPARATION, teachers[t]),
                          0.5 / teachers[t], "proportion"))

    # MAP ELA proficiency and the econ_disadvantaged gap
    a = tables["assessments"]
    ela = a[(a["test"] == "map") & (a["subject"] == "ela")]
    counts = ela.merge(enr[["school_year", "student_id", "econ_disadvantaged"]],
                       on=["school_year", "student_id"]).groupby(
                           ["school_year", "econ_disadvantaged"]).size().unstack(fill_value=0)
    for t, y in enumerate(years):
        n1, n0 = counts.loc[y, True], counts.loc[y, False]
        p1, p0 = gap_rates(stu.MAP_ELA_RATE, stu.MAP_ELA_ECON_GAP, n1, n0)
        out.append(_entry("G2.2-ela-proficient", "MAP ELA share of tested students at level >= 3",
                          y, stu.MAP_ELA_RATE, _prop_tol(stu.MAP_ELA_RATE, n1 + n0),
                          1 / (n1 + n0), "proportion"))
        out.append(_entry("G2.3-ela-gap", "MAP ELA % proficient of econ_disadvantaged students "
                          "minus all other students', in points", y, stu.MAP_ELA_ECON_GAP,
                          100 * 3 * np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0),
                          100 * (0.5 / n1 + 0.5 / n0), "points", "econ_disadvantaged", "true"))

    # chronic absence (students with >= 10 days enrolled)
    elig = enr[enr["days_enrolled"] >= 10].groupby("school_year").size().reindex(years).to_numpy()
    for t, y in enumerate(years):
        out.append(_entry("PO3-attendance", "share of students (>= 10 days enrolled) not "
                          "chronically absent (days_absent / days_enrolled < 0.10)", y,
                          1 - CHRONIC_RATE, _prop_tol(CHRONIC_RATE, elig[t]), 0.5 / elig[t],
                          "proportion"))

    # graduation (ACGR)
    g = tables["graduation_cohort"]
    removed = g["outcome"].isin(["transferred_out", "deceased", "other_removal"])
    adj = g[~removed].groupby("cohort").size().reindex(years).to_numpy()
    for t, y in enumerate(years):
        out.append(_entry("PO2-graduation-rate", "4-year adjusted cohort graduation rate",
                          y, GRAD_RATE, _prop_tol(GRAD_RATE, adj[t]), 0.5 / adj[t], "proportion"))

    # gifted identification, black vs all others
    p_b, p_o = two_group_rates(stu.GIFTED_RATE, stu.GIFTED_RR, black, other)
    for t, y in enumerate(years):
        tol, ex = _rr_bounds(p_b[t], black[t], p_o[t], other[t])
        out.append(_entry("G2.3-gifted-rr", "risk ratio of gifted identification, black vs all "
                          "other enrolled students", y, stu.GIFTED_RR, tol, ex, "ratio",
                          "race_ethnicity", "black", window_years=1))
    return out


__all__ = ["planted"]
