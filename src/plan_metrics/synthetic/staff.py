"""Staff: teachers (~1 per 15 students), administrators and support staff per building and year,
with hiring, separations and educator evaluations.

Planted: teachers of color are under-represented, % teachers of color minus % students of color
going from -25 points (first year) to -15 (last year), exact up to rounding: the first year's
staff and each later year's new hires get the count of teachers of color that hits the target;
exactly 12% (rounded) of teachers separate at the end of each year (retention 88%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract
from ._draw import categorical, exact_pick, ids, labels, round_half_up
from .district import N_YEARS, RACE, WHITE

STUDENTS_PER_TEACHER = 15
TEACHER_GAP = np.linspace(-25.0, -15.0, N_YEARS)   # points
TEACHER_SEPARATION = 0.12
ROLES = contract.STAFF_ROLE                          # teacher, administrator, support
COLOR_MIX = {"black": 0.55, "hispanic": 0.20, "asian": 0.12, "two_or_more": 0.10,
             "american_indian": 0.015, "pacific_islander": 0.015}
STANDARDS = ["content_knowledge", "student_growth", "curriculum_implementation",
             "critical_thinking", "learning_environment", "communication",
             "assessment_and_data", "professionalism", "collaboration"]


def _needs(n_students: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Positions per building: [teachers, administrators, support]."""
    teachers = np.ceil(n_students / STUDENTS_PER_TEACHER)
    admins = np.select([level == "elementary", level == "middle"], [2, 3], 4) + n_students // 700
    support = np.ceil(n_students / 45) + 1
    return np.column_stack([teachers, admins, support]).astype(np.int64)


def staff_roster(rng, roster: pd.DataFrame, buildings: pd.DataFrame) -> pd.DataFrame:
    """One row per staff member and year: year, num, bld, role (code), race (code), gender (code),
    fte, new_hire, separated, skill, morale (latent)."""
    level = buildings["level"].to_numpy()
    nb = len(buildings)
    y = roster["year"].to_numpy()
    of_color = roster["race"].to_numpy() != WHITE
    years_out = []
    current = None
    next_num = 1
    for t in range(N_YEARS):
        this = y == t
        n_students = np.bincount(roster["bld"].to_numpy()[this], minlength=nb)
        soc_b = np.bincount(roster["bld"].to_numpy()[this], weights=of_color[this], minlength=nb) \
            / np.maximum(n_students, 1)
        target_share = of_color[this].mean() + TEACHER_GAP[t] / 100
        need = _needs(n_students, level)
        have = np.zeros_like(need)
        if current is not None:
            current = current[~current["separated"]].assign(new_hire=False)
            np.add.at(have, (current["bld"].to_numpy(), current["role"].to_numpy()), 1)
        hires = np.maximum(need - have, 0)
        bld = np.repeat(np.tile(np.arange(nb)[:, None], (1, 3)).ravel(), hires.ravel())
        role = np.repeat(np.tile(np.arange(3), nb), hires.ravel())
        new = _new_staff(rng, bld, role, np.arange(next_num, next_num + len(bld)))
        next_num += len(bld)
        new["new_hire"] = True if t > 0 else rng.random(len(new)) < 0.09
        # teachers of color among the hires: the count that puts the share on target
        teacher_new = (new["role"] == 0).to_numpy()
        retained_color = 0 if current is None else int(
            ((current["role"] == 0) & (current["race"] != WHITE)).sum())
        n_teachers = (0 if current is None else int((current["role"] == 0).sum())) + teacher_new.sum()
        k = int(np.clip(round_half_up(target_share * n_teachers) - retained_color, 0,
                        teacher_new.sum()))
        color = exact_pick(rng, np.zeros(len(new), np.int64), [k],
                           np.exp(2.0 * soc_b[new["bld"].to_numpy()]) * teacher_new)
        other_color = ~teacher_new & (rng.random(len(new)) < np.where(new["role"] == 1, 0.30, 0.45))
        is_color = color | other_color
        race = np.full(len(new), WHITE)
        race[is_color] = [RACE.index(r) for r in categorical(rng, COLOR_MIX, int(is_color.sum()))]
        new["race"] = race
        staff = new if current is None else pd.concat([current, new], ignore_index=True)
        # separations at the end of the year
        teacher = (staff["role"] == 0).to_numpy()
        w = np.exp(-0.4 * staff["skill"].to_numpy()) * np.where(staff["new_hire"], 1.8, 1.0)
        sep_t = exact_pick(rng, np.zeros(len(staff), np.int64),
                           [round_half_up(TEACHER_SEPARATION * teacher.sum())], w * teacher)
        staff["separated"] = sep_t | (~teacher & (rng.random(len(staff)) < 0.10))
        staff["year"] = t
        years_out.append(staff)
        current = staff
    return pd.concat(years_out, ignore_index=True)


def _new_staff(rng, bld: np.ndarray, role: np.ndarray, num: np.ndarray) -> pd.DataFrame:
    n = len(bld)
    female = np.select([role == 0, role == 1], [0.74, 0.60], 0.70)
    u = rng.random(n)
    gender = np.where(u < female, 0, np.where(u < 0.985, 1, np.where(u < 0.991, 2, 3)))
    fte_u = rng.random(n)
    fte = np.where(role == 0, np.select([fte_u < 0.90, fte_u < 0.94], [1.0, 0.8], 0.5),
                   np.where(role == 1, 1.0, np.where(fte_u < 0.8, 1.0, 0.5)))
    return pd.DataFrame({"num": num, "bld": bld, "role": role, "gender": gender, "fte": fte,
                         "skill": rng.normal(0, 1, n), "morale": rng.normal(0, 1, n),
                         "separated": False})


def staff_table(staff: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """The contract's staff table."""
    s = staff.sort_values(["year", "num"], kind="stable")
    return pd.DataFrame({
        "school_year": labels(s["year"].to_numpy(), years),
        "staff_id": staff_ids(s["num"]),
        "building_id": labels(s["bld"].to_numpy(), buildings["building_id"]),
        "role": labels(s["role"].to_numpy(), ROLES),
        "race_ethnicity": labels(s["race"].to_numpy(), RACE),
        "gender": labels(s["gender"].to_numpy(), contract.GENDER),
        "fte": s["fte"].to_numpy(),
        "new_hire": s["new_hire"].to_numpy(dtype=bool),
        "separated_end_of_year": s["separated"].to_numpy(dtype=bool),
    })


def staff_ids(num) -> pd.Categorical:
    """Staff numbers -> ids 'ST00042'."""
    return ids("ST", np.asarray(num), 5)


def with_building_ids(staff: pd.DataFrame, buildings: pd.DataFrame) -> pd.DataFrame:
    """The staff roster with building_id and the building's climate (for the staff surveys)."""
    bld = staff["bld"].to_numpy()
    return staff.assign(building_id=buildings["building_id"].to_numpy()[bld],
                        climate=buildings["climate"].to_numpy()[bld])


def educator_evaluations(rng, staff: pd.DataFrame, buildings: pd.DataFrame,
                         years: list[str]) -> pd.DataFrame:
    """Each teacher is rated 1..4 on four of the nine standards each year; ratings improve a
    little each year and new hires rate lower."""
    t = staff[staff["role"] == 0]
    n, per = len(t), 4
    std = np.argsort(rng.random((n, len(STANDARDS))), axis=1)[:, :per].ravel()
    r = np.repeat(np.arange(n), per)
    z = (t["skill"].to_numpy()[r] + 0.15 * t["year"].to_numpy()[r]
         - 0.6 * t["new_hire"].to_numpy(dtype=bool)[r] + rng.normal(0, 0.7, n * per))
    rating = 1 + np.searchsorted([-2.2, -1.1, 1.4], z)
    out = pd.DataFrame({
        "school_year": labels(t["year"].to_numpy()[r], years),
        "staff_id": staff_ids(t["num"].to_numpy()[r]),
        "building_id": labels(t["bld"].to_numpy()[r], buildings["building_id"]),
        "standard": labels(std, STANDARDS),
        "rating": rating.astype(np.int64),
    })
    return out.sort_values(["school_year", "staff_id", "standard"], kind="stable", ignore_index=True)
