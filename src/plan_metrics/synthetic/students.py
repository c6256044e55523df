"""Student-level tables drawn from the roster: discipline, assessments, programs, rubrics and
service hours. The planted effects are drawn with exact counts per group (see _draw.exact_pick)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract
from ._draw import categorical, exact_pick, gap_rates, labels, round_half_up, two_group_rates
from .district import BLACK, GENDER, N_YEARS, student_ids

# ---- planted targets (the truth written to PLANTED.yaml) -----------------------------------------
SUSPENSION_RATE = 0.04
SUSPENSION_RR = np.linspace(3.0, 1.5, N_YEARS)          # black vs all other students
REFERRAL_RATE = 0.07                                      # referral-only students, beyond suspended
REFERRAL_RR = np.linspace(2.2, 1.6, N_YEARS)
GIFTED_RATE = 0.08
GIFTED_RR = 0.4                                           # black vs all other students
MAP_ELA_RATE = 0.55
MAP_ELA_ECON_GAP = -25.0                                  # points, econ_disadvantaged vs not
# Other proficiency targets: (overall in the first year, yearly change, econ gap in points).
PROFICIENCY = {
    ("map", "ela"): (MAP_ELA_RATE, 0.0, MAP_ELA_ECON_GAP),
    ("map", "math"): (0.50, 0.012, -22.0),
    ("map", "science"): (0.48, 0.008, -20.0),
    ("milestones", "ela"): (0.40, 0.010, -20.0),
    ("milestones", "math"): (0.38, 0.012, -20.0),
    ("milestones", "science"): (0.35, 0.008, -18.0),
    ("milestones", "social_studies"): (0.37, 0.008, -18.0),
}
MAP_GRADES = {"ela": range(3, 12), "math": range(3, 12), "science": (5, 8, 11)}
MILESTONES_GRADES = range(3, 9)
RUBRIC_GRADES = (2, 5, 8, 12)   # Profile of a Graduate checkpoints


def _grade_factor(grade: np.ndarray) -> np.ndarray:
    return np.select([grade <= 2, grade <= 5, grade <= 8], [0.3, 0.6, 1.5], 1.3)


def _year_strings(years, year_idx):
    return labels(year_idx, years)


# ---- discipline --------------------------------------------------------------------------------

def discipline(rng, roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """Incidents: suspended students (>= 1 iss/oss/expulsion) are exactly SUSPENSION_RATE of the
    enrolled students each year, split so that black students' risk is SUSPENSION_RR x the risk of
    all other students; referral-only students likewise. A fighting incident often involves two
    students (one incident_id); an exclusionary action usually comes with a referral row."""
    y = roster["year"].to_numpy()
    black = roster["race"].to_numpy() == BLACK
    codes = y * 2 + black
    n = np.bincount(codes, minlength=2 * N_YEARS).reshape(N_YEARS, 2)   # [:, 0] others, [:, 1] black
    p_b, p_o = two_group_rates(SUSPENSION_RATE, SUSPENSION_RR, n[:, 1], n[:, 0])
    k = round_half_up(np.column_stack([p_o, p_b]) * n).ravel()
    grade = roster["grade"].to_numpy()
    w = (np.exp(0.6 * roster["dis"] + 0.4 * roster["econ"] - 0.3 * roster["ability"]
                + 0.5 * (roster["gender"] == GENDER.index("male"))).to_numpy()
         * _grade_factor(grade) * (roster["days_enrolled"].to_numpy() >= 10)
         * np.exp(0.2 * buildings["discipline"].to_numpy()[roster["bld"].to_numpy()]))
    suspended = exact_pick(rng, codes, k, w)
    r_b, r_o = two_group_rates(REFERRAL_RATE, REFERRAL_RR, n[:, 1], n[:, 0])
    k_ref = round_half_up(np.column_stack([r_o, r_b]) * n).ravel()
    referred = exact_pick(rng, codes, k_ref, w * ~suspended)

    # one row per (student, incident): suspended students have >= 1 exclusionary incident
    who_s = np.flatnonzero(suspended)
    who_r = np.flatnonzero(referred)
    n_s = 1 + rng.poisson(0.35, len(who_s))
    n_r = 1 + rng.poisson(0.3, len(who_r))
    stu = np.concatenate([np.repeat(who_s, n_s), np.repeat(who_r, n_r)])
    first = np.concatenate([_firsts(n_s), np.zeros(n_r.sum(), bool)])
    exclusionary = first | (np.concatenate([np.ones(n_s.sum(), bool), np.zeros(n_r.sum(), bool)])
                            & (rng.random(len(stu)) < 0.5))
    m = len(stu)
    level_hs = grade[stu] >= 6
    action = np.where(rng.random(m) < 0.53, "oss", "iss").astype(object)
    action[(rng.random(m) < 0.025) & level_hs] = "expulsion"
    cat_ex = categorical(rng, {"fighting": 0.38, "defiance": 0.25, "bullying": 0.15,
                               "bias_incident": 0.06, "other": 0.16}, m)
    cat_ref = categorical(rng, {"defiance": 0.40, "other": 0.25, "bullying": 0.15,
                                "fighting": 0.12, "bias_incident": 0.08}, m)
    inc = pd.DataFrame({"row": stu, "year": y[stu], "bld": roster["bld"].to_numpy()[stu],
                        "exclusionary": exclusionary,
                        "action": np.where(exclusionary, action, "referral"),
                        "category": np.where(exclusionary, cat_ex, cat_ref),
                        "date": _school_days(rng, y[stu] + years_first_fall(years))})
    inc["incident"] = np.arange(len(inc))
    inc = _pair_fights(rng, inc, years_first_fall(years))
    # expand: exclusionary incidents carry a referral row too, most of the time
    with_ref = inc[inc["exclusionary"] & (rng.random(len(inc)) < 0.75)].assign(action="referral")
    rows = pd.concat([inc, with_ref], ignore_index=True)
    de = roster["days_enrolled"].to_numpy()[rows["row"].to_numpy()]
    a = rows["action"].to_numpy()
    removed = np.select([a == "iss", a == "oss", a == "expulsion"],
                        [rng.integers(1, 4, len(rows)), np.minimum(rng.geometric(0.35, len(rows)), 10),
                         rng.integers(30, 91, len(rows))], 0)
    rows["days_removed"] = np.minimum(removed, de)
    rows = rows.sort_values(["year", "incident_id", "row", "action"], kind="stable")
    return pd.DataFrame({
        "school_year": _year_strings(years, rows["year"]),
        "incident_id": rows["incident_id"].to_numpy(),
        "student_id": student_ids(roster["sid"].to_numpy()[rows["row"].to_numpy()]),
        "building_id": labels(rows["bld"].to_numpy(), buildings["building_id"]),
        "incident_date": rows["date"].to_numpy(),
        "category": rows["category"].to_numpy(),
        "action": rows["action"].to_numpy(),
        "days_removed": rows["days_removed"].to_numpy(),
    })


def years_first_fall(years: list[str]) -> int:
    """The fall year of the first school year ('2019-20' -> 2019)."""
    return contract.parse_school_year(years[0])


def _firsts(counts: np.ndarray) -> np.ndarray:
    """[2, 1, 3] -> [T, F, T, T, F, F]: marks each student's first incident."""
    out = np.zeros(counts.sum(), bool)
    if len(counts):
        out[np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)] = True
    return out


def _school_days(rng, fall_years: np.ndarray) -> np.ndarray:
    """Random weekdays between late August and late May of each school year, as ISO dates."""
    start = pd.to_datetime(pd.Series(fall_years).astype(str) + "-08-19").to_numpy()
    d = start + rng.integers(0, 280, len(fall_years)).astype("timedelta64[D]")
    dow = (d.astype("datetime64[D]").astype(np.int64) + 3) % 7    # 0 = Monday
    d = d + np.where(dow >= 5, 7 - dow, 0).astype("timedelta64[D]")
    return np.datetime_as_string(d.astype("datetime64[D]"), unit="D").astype(object)


def _pair_fights(rng, inc: pd.DataFrame, first_fall: int) -> pd.DataFrame:
    """About half of the fighting incidents involve two students: the pair shares one incident_id
    and date (the students differ, so the key stays unique)."""
    fights = inc.index[(inc["category"] == "fighting").to_numpy()]
    f = inc.loc[fights, ["year", "bld", "row"]].assign(r=rng.random(len(fights)))
    f = f.sort_values(["year", "bld", "r"], kind="stable")
    idx = f.index.to_numpy()
    same = ((f["year"].to_numpy()[1:] == f["year"].to_numpy()[:-1])
            & (f["bld"].to_numpy()[1:] == f["bld"].to_numpy()[:-1])
            & (f["row"].to_numpy()[1:] != f["row"].to_numpy()[:-1]))
    partner = np.full(len(inc), -1)
    taken = np.zeros(len(idx), bool)
    pair_ok = same & (rng.random(len(same)) < 0.5)
    for i in np.flatnonzero(pair_ok):      # greedy, at most a few thousand pairs
        if not taken[i] and not taken[i + 1]:
            taken[i] = taken[i + 1] = True
            partner[idx[i + 1]] = idx[i]
    lead = np.where(partner >= 0, partner, np.arange(len(inc)))
    inc = inc.assign(date=inc["date"].to_numpy()[lead])
    # incident ids numbered per year in date order
    lead_year = inc["year"].to_numpy()[lead]
    order = pd.DataFrame({"lead": lead, "y": lead_year, "d": inc["date"].to_numpy()})
    leads = order.drop_duplicates("lead").sort_values(["y", "d", "lead"], kind="stable")
    num = leads.groupby("y").cumcount().to_numpy() + 1
    fall = first_fall + leads["y"].to_numpy()
    code = dict(zip(leads["lead"].to_numpy(),
                    [f"INC{f}-{k:05d}" for f, k in zip(fall, num)]))
    return inc.assign(incident_id=[code[x] for x in lead])


# ---- assessments ---------------------------------------------------------------------------------

def assessments(rng, roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """MAP (grades 3-11 ela/math, science 5/8/11) and Milestones (grades 3-8, four subjects).
    Proficient (level >= 3) counts are exact per year and econ_disadvantaged group."""
    grade = roster["grade"].to_numpy()
    tested = (roster["days_enrolled"].to_numpy() >= 30) & (rng.random(len(roster)) >= 0.02)
    parts = []
    for j, ((test, subject), (rate0, slope, gap)) in enumerate(PROFICIENCY.items()):
        grades = MAP_GRADES[subject] if test == "map" else MILESTONES_GRADES
        rows = np.flatnonzero(tested & np.isin(grade, list(grades)))
        y = roster["year"].to_numpy()[rows]
        econ = roster["econ"].to_numpy()[rows]
        codes = y * 2 + econ
        n = np.bincount(codes, minlength=2 * N_YEARS).reshape(N_YEARS, 2)
        overall = rate0 + slope * np.arange(N_YEARS)
        p_e, p_o = gap_rates(overall, gap, n[:, 1], n[:, 0])
        k = round_half_up(np.column_stack([p_o, p_e]) * n).ravel()
        ability = (roster["ability"].to_numpy()[rows] + rng.normal(0, 0.35, len(rows))
                   + 0.2 * buildings["achievement"].to_numpy()[roster["bld"].to_numpy()[rows]])
        prof = exact_pick(rng, codes, k, np.exp(1.8 * ability))
        zero = np.zeros(len(rows), np.int64)
        # within proficient, ~35% advanced; within not proficient, ~40% at level 1
        top = exact_pick(rng, zero, [round_half_up(0.35 * prof.sum())], np.exp(2 * ability) * prof)
        low = exact_pick(rng, zero, [round_half_up(0.40 * (~prof).sum())],
                         np.exp(-2 * ability) * ~prof)
        level = np.where(prof, np.where(top, 4, 3), np.where(low, 1, 2))
        g = grade[rows]
        if test == "map":
            base = 300 + 12 * g
            lo = base + np.select([level == 1, level == 2, level == 3], [-60, -25, 0], 35)
            hi = base + np.select([level == 1, level == 2, level == 3], [-26, -1, 34], 80)
        else:
            lo = np.select([level == 1, level == 2, level == 3], [400, 475, 525], 575)
            hi = np.select([level == 1, level == 2, level == 3], [474, 524, 574], 650)
        score = rng.integers(lo, hi + 1).astype(float)
        score[rng.random(len(rows)) < 0.003] = np.nan      # a few scores not reported
        parts.append(pd.DataFrame({"row": rows, "ts": j, "level": level, "scale_score": score}))
    a = pd.concat(parts, ignore_index=True)
    r, ts = a["row"].to_numpy(), a["ts"].to_numpy()
    out = pd.DataFrame({
        "school_year": _year_strings(years, roster["year"].to_numpy()[r]),
        "student_id": student_ids(roster["sid"].to_numpy()[r]),
        "building_id": labels(roster["bld"].to_numpy()[r], buildings["building_id"]),
        "test": labels(np.array([contract.TEST.index(t) for t, _ in PROFICIENCY])[ts], contract.TEST),
        "subject": labels(np.array([contract.SUBJECT.index(s) for _, s in PROFICIENCY])[ts],
                          contract.SUBJECT),
        "grade": grade[r], "level": a["level"].to_numpy(),
        "scale_score": pd.array(a["scale_score"].to_numpy(), dtype="Int64"),
    })
    return out.sort_values(["school_year", "test", "subject", "student_id"], kind="stable",
                           ignore_index=True)


# ---- programs ------------------------------------------------------------------------------------

def programs(rng, roster: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """gifted: exactly GIFTED_RATE of enrolled students, black students' risk GIFTED_RR x the risk
    of all others (under-identification); ap/honors/dual_credit for high schoolers; sped_referral,
    tier2, tier3 mostly in K-8."""
    y = roster["year"].to_numpy()
    grade = roster["grade"].to_numpy()
    ability = roster["ability"].to_numpy()
    black = roster["race"].to_numpy() == BLACK
    codes = y * 2 + black
    n = np.bincount(codes, minlength=2 * N_YEARS).reshape(N_YEARS, 2)
    p_b, p_o = two_group_rates(GIFTED_RATE, GIFTED_RR, n[:, 1], n[:, 0])
    k = round_half_up(np.column_stack([p_o, p_b]) * n).ravel()
    chosen = {"gifted": exact_pick(rng, codes, k, np.exp(2.5 * ability) * np.where(grade == 0, 0.1, 1))}

    def share(name, rate, eligible, weight):
        codes_e = np.where(eligible, y, N_YEARS)
        counts = np.bincount(codes_e, minlength=N_YEARS + 1)[:N_YEARS]
        k_e = np.append(round_half_up(rate * counts), 0)
        chosen[name] = exact_pick(rng, codes_e, k_e, weight * eligible)

    growth = 1 + 0.04 * y
    share("ap", 0.28, grade >= 10, np.exp(1.6 * ability) * growth)
    share("honors", 0.32, grade >= 9, np.exp(1.4 * ability))
    share("dual_credit", 0.12, grade >= 11, np.exp(1.2 * ability) * growth)
    k8 = grade <= 8
    share("sped_referral", 0.025, k8 & ~roster["dis"].to_numpy(), np.exp(-ability))
    share("tier2", 0.10, k8, np.exp(-1.2 * ability + 0.3 * roster["el"].to_numpy()))
    share("tier3", 0.04, k8, np.exp(-1.8 * ability))
    parts = [pd.DataFrame({"row": np.flatnonzero(v), "program": name}) for name, v in chosen.items()]
    p = pd.concat(parts, ignore_index=True)
    r = p["row"].to_numpy()
    out = pd.DataFrame({"school_year": _year_strings(years, y[r]),
                        "student_id": student_ids(roster["sid"].to_numpy()[r]),
                        "program": p["program"].to_numpy()})
    return out.sort_values(["school_year", "student_id", "program"], kind="stable", ignore_index=True)


# ---- rubrics and service hours ---------------------------------------------------------------------

def progression_rubrics(rng, roster, buildings, years, attributes: list[str]) -> pd.DataFrame:
    """Profile of a Graduate rubric scores (1..4) at checkpoint grades, by the student (self) and
    a teacher; the share scoring >= 3 rises from ~45% to ~65% over the six years."""
    rows = np.flatnonzero(np.isin(roster["grade"].to_numpy(), RUBRIC_GRADES)
                          & (roster["days_enrolled"].to_numpy() >= 30))
    na, m = len(attributes), len(rows)
    r = np.repeat(rows, na * 2)
    attr = np.tile(np.repeat(np.arange(na), 2), m)
    assessor = np.tile([0, 1], na * m)                  # 0 self, 1 teacher
    y = roster["year"].to_numpy()[r]
    base = rng.normal(0, 0.25, na)[attr]
    z = (0.55 * roster["ability"].to_numpy()[r] + 0.3 * roster["positivity"].to_numpy()[r]
         + base + 0.11 * y + 0.25 * (assessor == 0) + rng.normal(0, 0.75, len(r)))
    score = 1 + np.searchsorted([-1.1, 0.15, 1.25], z)  # cut points: ~45% >= 3 in the first year
    out = pd.DataFrame({
        "school_year": _year_strings(years, y),
        "student_id": student_ids(roster["sid"].to_numpy()[r]),
        "building_id": labels(roster["bld"].to_numpy()[r], buildings["building_id"]),
        "attribute": labels(attr, attributes),
        "assessor": labels(assessor, ["self", "teacher"]),
        "score": score.astype(np.int64),
    })
    return out


def service_hours(rng, roster, years) -> pd.DataFrame:
    """Hours of service for high schoolers; students with none have no row (they count as 0)."""
    y = roster["year"].to_numpy()
    hs = roster["grade"].to_numpy() >= 9
    has = hs & (rng.random(len(roster)) < 0.42 + 0.03 * y + 0.1 * np.tanh(roster["positivity"]))
    r = np.flatnonzero(has)
    hours = np.round(rng.gamma(1.8, 9.0, len(r)) * (1 + 0.06 * y[r]) * 2) / 2 + 0.5
    return pd.DataFrame({"school_year": _year_strings(years, y[r]),
                         "student_id": student_ids(roster["sid"].to_numpy()[r]),
                         "hours": hours})
