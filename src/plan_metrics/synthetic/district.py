"""Buildings and the student panel: who is enrolled where, each year, and how many days.

The panel is simulated year by year: students move up a grade, a new kindergarten cohort arrives,
some students move in or out (a share of them mid-year, hence partial-year enrollment), and the
12th-grade cohort leaves with its graduation outcome (graduated late / still enrolled students stay
one more year in grade 12). The result is an internal roster (integer codes and latent traits, one
row per student and year) that every other table is drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import contract
from ._draw import categorical, exact_pick, ids, labels, round_half_up

FIRST_FALL = 2019
N_YEARS = 6
DAYS_IN_YEAR = 180


@dataclass(frozen=True)
class Size:
    students: int
    elementary: int
    middle: int
    high: int


SIZES = {"small": Size(2500, 3, 1, 1), "large": Size(50000, 40, 12, 8)}
#: the largest district ``size_of`` builds (New York City is ~900,000 students)
MAX_STUDENTS = 1_000_000


def size_of(spec: str) -> Size | None:
    """The district size for ``spec``: a named size (``small``, ``large``) or a number of students
    (``200000``, ``200k``, ``1m``, ``1_000_000``) between 1,000 and ``MAX_STUDENTS``, with buildings
    in the large district's proportions (40 elementary, 12 middle, 8 high per 50,000 students).
    None when ``spec`` is neither."""
    if spec in SIZES:
        return SIZES[spec]
    text = str(spec).strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if text.endswith("k"):
        text, factor = text[:-1], 1_000
    elif text.endswith("m"):
        text, factor = text[:-1], 1_000_000
    try:
        students = int(float(text) * factor)
    except ValueError:
        return None
    if not 1_000 <= students <= MAX_STUDENTS:
        return None
    per = students / 50_000
    return Size(students, max(1, round(40 * per)), max(1, round(12 * per)), max(1, round(8 * per)))

RACE = contract.RACE_ETHNICITY          # codes are positions in this tuple
GENDER = contract.GENDER
RACE_P = {"hispanic": 0.11, "american_indian": 0.004, "asian": 0.08, "black": 0.24,
          "pacific_islander": 0.003, "white": 0.50, "two_or_more": 0.063}
GENDER_P = {"female": 0.488, "male": 0.495, "nonbinary": 0.009, "not_reported": 0.008}
# Share economically disadvantaged and English learners by race (overall ~30% and ~8%).
ECON_BY_RACE = {"hispanic": 0.50, "american_indian": 0.50, "asian": 0.20, "black": 0.50,
                "pacific_islander": 0.45, "white": 0.18, "two_or_more": 0.32}
EL_BY_RACE = {"hispanic": 0.42, "american_indian": 0.05, "asian": 0.32, "black": 0.03,
              "pacific_islander": 0.30, "white": 0.015, "two_or_more": 0.03}
BLACK = RACE.index("black")
WHITE = RACE.index("white")

BUILDING_TRAITS = ("climate", "discipline", "achievement")

_TREES = ["Maple", "Cedar", "Willow", "Oak", "Birch", "Aspen", "Hickory", "Sycamore", "Juniper",
          "Magnolia", "Linden", "Alder", "Chestnut", "Dogwood", "Hawthorn", "Laurel", "Poplar",
          "Spruce", "Elm", "Pine", "Walnut", "Redbud", "Cypress", "Hazel", "Larch", "Beech",
          "Holly", "Rowan", "Sassafras", "Tupelo"]
_PLACES = ["wood", " Ridge", " Creek", " Hill", " Park", " Meadow", " Grove", " Glen", " Brook",
           " Field", " Valley", " Crest", " Hollow", " Springs"]


def make_buildings(rng: np.random.Generator, size: Size) -> pd.DataFrame:
    """Fictional buildings ("Maplewood Elementary"), ids ES01.., MS01.., HS01.."""
    combos = [t + p for p in _PLACES for t in _TREES]
    order = rng.permutation(len(combos))
    count = size.elementary + size.middle + size.high
    names = [combos[i] for i in order[:count]]
    # past the 420 tree-and-place names (districts over ~350,000 students): "Maplewood 2", ...
    k = 2
    while len(names) < count:
        names += [f"{combos[i]} {k}" for i in order[: count - len(names)]]
        k += 1
    rows = []
    spec = [("ES", "Elementary", "elementary", 0, 5, size.elementary),
            ("MS", "Middle School", "middle", 6, 8, size.middle),
            ("HS", "High School", "high", 9, 12, size.high)]
    i = 0
    for prefix, suffix, level, lo, hi, count in spec:
        for j in range(count):
            rows.append({"building_id": f"{prefix}{j + 1:02d}", "name": f"{names[i]} {suffix}",
                         "level": level, "grade_low": lo, "grade_high": hi})
            i += 1
    b = pd.DataFrame(rows)
    # building "culture" (not written: the CSV keeps the contract's columns): shifts who answers
    # favorably, who is disciplined and who is proficient within a building, so buildings differ
    # while the district-level planted effects stay exact
    for col in BUILDING_TRAITS:
        b[col] = rng.normal(0, 1, len(b))
    return b


class Panel:
    """Simulates the student population; ``roster`` holds one row per enrolled student and year.

    roster columns: year (0..5), sid (int), grade, bld (row index into buildings), race, gender
    (codes into contract tuples), econ, dis, el (bool), ability, positivity, att_risk (latent
    N(0,1)-ish traits), family, days_enrolled, days_absent, chronic (bool), cohort_outcome (code
    into contract.GRAD_OUTCOME or -1 for students not in that year's first-time 12th grade).
    """

    def __init__(self, rng: np.random.Generator, size: Size, buildings: pd.DataFrame):
        self.rng, self.size, self.buildings = rng, size, buildings
        lv = buildings["level"].to_numpy()
        self.elem = np.flatnonzero(lv == "elementary")
        self.mid = np.flatnonzero(lv == "middle")
        self.high = np.flatnonzero(lv == "high")
        # building sizes vary (a weight per elementary); feeders: elementary -> middle -> high
        self.elem_w = rng.uniform(0.7, 1.3, len(self.elem))
        self.elem_w /= self.elem_w.sum()
        self.feed_mid = self.mid[(np.arange(len(self.elem)) * len(self.mid)) // len(self.elem)]
        self.feed_high = self.high[(np.arange(len(self.mid)) * len(self.high)) // len(self.mid)]
        self.next_sid = 1
        self.next_family = 1
        self.per_grade = size.students / 13

    # -- new students -------------------------------------------------------------------------
    def _new(self, grades: np.ndarray, population: pd.DataFrame | None) -> pd.DataFrame:
        rng, n = self.rng, len(grades)
        race = np.array([RACE.index(r) for r in categorical(rng, RACE_P, n)], dtype=np.int64)
        gender = np.array([GENDER.index(g) for g in categorical(rng, GENDER_P, n)], dtype=np.int64)
        econ = rng.random(n) < np.array([ECON_BY_RACE[r] for r in RACE])[race]
        el_scale = np.where(grades <= 5, 1.35, np.where(grades <= 8, 0.8, 0.6))
        el = rng.random(n) < np.array([EL_BY_RACE[r] for r in RACE])[race] * el_scale
        dis = rng.random(n) < np.where(gender == GENDER.index("male"), 0.165, 0.095)
        ability = rng.normal(0, 1, n) - 0.45 * econ - 0.5 * dis - 0.35 * el
        positivity = rng.normal(0, 1, n)
        att_risk = rng.normal(0, 1, n) + 0.5 * econ + 0.35 * dis
        sid = np.arange(self.next_sid, self.next_sid + n)
        self.next_sid += n
        family = np.arange(self.next_family, self.next_family + n)
        self.next_family += n
        sib = rng.random(n) < 0.3     # siblings: about 3 in 10 students share a family
        if population is not None and len(population):
            family[sib] = population["family"].to_numpy()[rng.integers(0, len(population), sib.sum())]
        elif n:
            family[sib] = family[~sib][rng.integers(0, (~sib).sum(), sib.sum())]
        df = pd.DataFrame({"sid": sid, "grade": grades.astype(np.int64), "race": race,
                           "gender": gender, "econ": econ, "dis": dis, "el": el,
                           "ability": ability, "positivity": positivity, "att_risk": att_risk,
                           "family": family, "repeat": False, "mid_year_in": False})
        # every student has an elementary feeder; middle and high schools follow from it
        df["feeder"] = self.elem[rng.choice(len(self.elem), size=n, p=self.elem_w)]
        df["bld"] = self._promote(df["feeder"].to_numpy(), df["grade"].to_numpy())
        return df

    def _promote(self, feeder_elem: np.ndarray, grades: np.ndarray) -> np.ndarray:
        elem_pos = np.searchsorted(self.elem, feeder_elem)
        mid = self.feed_mid[elem_pos]
        high = self.feed_high[np.searchsorted(self.mid, mid)]
        return np.where(grades <= 5, feeder_elem, np.where(grades <= 8, mid, high))

    # -- the simulation -----------------------------------------------------------------------
    def simulate(self) -> pd.DataFrame:
        rng = self.rng
        grades0 = np.repeat(np.arange(13), round_half_up(np.full(13, self.per_grade)))
        pop = self._new(grades0, None)
        years = []
        for t in range(N_YEARS):
            n = len(pop)
            twelfth_first = (pop["grade"].to_numpy() == 12) & ~pop["repeat"].to_numpy()
            outcome = np.full(n, -1, dtype=np.int64)
            outcome[twelfth_first] = self._grad_outcomes(pop[twelfth_first], t)
            # who leaves at (or before) the end of this year
            grade = pop["grade"].to_numpy()
            moves_out = (rng.random(n) < 0.055 + 0.02 * pop["econ"].to_numpy()) & (grade < 12)
            code = {o: i for i, o in enumerate(contract.GRAD_OUTCOME)}
            left_early = np.isin(outcome, [code["transferred_out"], code["dropped_out"],
                                           code["deceased"], code["other_removal"]])
            mid_out = (moves_out & (rng.random(n) < 0.35)) | left_early
            stays_in_12 = np.isin(outcome, [code["graduated_late"], code["still_enrolled"]])
            days = self._days(n, mid_in=pop["mid_year_in"].to_numpy(), mid_out=mid_out)
            snap = pop.assign(year=t, days_enrolled=days, cohort_outcome=outcome)
            years.append(snap)
            # next year
            leaving = moves_out | (grade == 12) & ~stays_in_12
            stay = pop[~leaving].copy()
            stay["repeat"] = stays_in_12[~leaving]
            stay["grade"] = np.where(stay["repeat"], 12, stay["grade"] + 1)
            stay["bld"] = self._promote(stay["feeder"].to_numpy(), stay["grade"].to_numpy())
            stay["mid_year_in"] = False
            # English learners are reclassified over time; a few students newly get an IEP
            el = stay["el"].to_numpy() & (rng.random(len(stay)) >= 0.12)
            stay["el"] = el
            stay["dis"] = stay["dis"].to_numpy() | (rng.random(len(stay)) < 0.004)
            n_k = int(round_half_up(self.per_grade * rng.uniform(0.97, 1.03)))
            n_in = int(round_half_up(moves_out.sum() * rng.uniform(0.95, 1.08)))
            new = self._new(np.concatenate([np.zeros(n_k, np.int64),
                                            rng.integers(1, 13, n_in)]), stay)
            new["mid_year_in"] = np.concatenate([np.zeros(n_k, bool), rng.random(n_in) < 0.3])
            pop = pd.concat([stay, new], ignore_index=True)
        roster = pd.concat(years, ignore_index=True)
        roster = roster.drop(columns=["repeat", "mid_year_in", "feeder"])
        self._absences(roster)
        return roster

    def _grad_outcomes(self, cohort: pd.DataFrame, t: int) -> np.ndarray:
        """Outcomes of a first-time 12th-grade cohort; on-time graduation exactly 90% (rounded)
        of the adjusted cohort (cohort minus transferred out, deceased, other removal)."""
        rng, n = self.rng, len(cohort)
        code = {o: i for i, o in enumerate(contract.GRAD_OUTCOME)}
        out = np.full(n, -1, dtype=np.int64)
        zeros = np.zeros(n, np.int64)
        n_transfer = int(round_half_up(0.03 * n))
        tr = exact_pick(rng, zeros, [n_transfer])
        out[tr] = code["transferred_out"]
        free = out < 0
        # rare removals: one planted in two cohorts so the codes appear, plus chance ones
        n_dec = rng.binomial(n, 0.0005) + (1 if t == 4 else 0)
        n_oth = rng.binomial(n, 0.001) + (1 if t == 2 else 0)
        pick = exact_pick(rng, zeros, [n_dec], free.astype(float))
        out[pick] = code["deceased"]
        free = out < 0
        pick = exact_pick(rng, zeros, [n_oth], free.astype(float))
        out[pick] = code["other_removal"]
        free = out < 0
        adjusted = int(free.sum())
        w = np.exp(1.2 * cohort["ability"].to_numpy() - 0.6 * cohort["att_risk"].to_numpy())
        on_time = exact_pick(rng, zeros, [int(round_half_up(GRAD_RATE * adjusted))], w * free)
        out[on_time] = code["graduated_on_time"]
        rest = np.flatnonzero(out < 0)
        rest_codes = categorical(rng, {"dropped_out": 0.45, "graduated_late": 0.32,
                                       "still_enrolled": 0.23}, len(rest))
        out[rest] = [code[c] for c in rest_codes]
        return out

    def _days(self, n: int, mid_in: np.ndarray, mid_out: np.ndarray) -> np.ndarray:
        """Days enrolled: 170-180 for most; arrivals and leavers mid-year get part of the year,
        and a few leave within the first days (< 10 days)."""
        rng = self.rng
        days = DAYS_IN_YEAR - np.minimum(rng.geometric(0.45, n) - 1, 10)
        partial = mid_in | mid_out
        part_days = rng.integers(10, 161, n)
        very_short = rng.random(n) < 0.08
        part_days = np.where(very_short, rng.integers(1, 10, n), part_days)
        return np.where(partial, part_days, days).astype(np.int64)

    def _absences(self, roster: pd.DataFrame) -> None:
        """days_absent: exactly 10% (rounded) of the students with >= 10 days enrolled are
        chronically absent (days_absent / days_enrolled >= 0.10) each year."""
        rng = self.rng
        de = roster["days_enrolled"].to_numpy()
        n = len(roster)
        eligible = de >= 10
        codes = np.where(eligible, roster["year"].to_numpy(), N_YEARS)  # N_YEARS = not eligible
        eligible_per_year = np.bincount(codes, minlength=N_YEARS + 1)[:N_YEARS]
        k = np.append(round_half_up(CHRONIC_RATE * eligible_per_year), 0)
        chronic = exact_pick(rng, codes, k, np.exp(1.1 * roster["att_risk"].to_numpy()))
        min_chronic = (de + 9) // 10                 # smallest absence with 10*a >= d
        r_chronic = np.minimum(0.10 + rng.gamma(1.6, 0.045, n), 0.6)
        r_ok = np.minimum(rng.beta(1.3, 30, n) * (1 + 0.3 * np.clip(roster["att_risk"], -2, 3)), 0.2)
        a = np.where(chronic, np.maximum(min_chronic, round_half_up(r_chronic * de)),
                     np.minimum(round_half_up(np.abs(r_ok) * de), min_chronic - 1))
        a = np.where(eligible, a, rng.binomial(de, 0.05))
        roster["days_absent"] = np.clip(a, 0, de).astype(np.int64)
        roster["chronic"] = chronic


GRAD_RATE = 0.90
CHRONIC_RATE = 0.10


def enrollment_table(roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """The contract's enrollment table from the roster."""
    return pd.DataFrame({
        "school_year": labels(roster["year"].to_numpy(), years),
        "student_id": student_ids(roster["sid"]),
        "building_id": labels(roster["bld"].to_numpy(), buildings["building_id"]),
        "grade": roster["grade"].to_numpy(),
        "race_ethnicity": labels(roster["race"].to_numpy(), RACE),
        "gender": labels(roster["gender"].to_numpy(), GENDER),
        "econ_disadvantaged": roster["econ"].to_numpy(),
        "disability": roster["dis"].to_numpy(),
        "english_learner": roster["el"].to_numpy(),
        "days_enrolled": roster["days_enrolled"].to_numpy(),
        "days_absent": roster["days_absent"].to_numpy(),
    })


def student_ids(sid) -> pd.Categorical:
    """Student numbers -> ids 'S000123'."""
    return ids("S", np.asarray(sid), 6)


def graduation_table(roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """Each year's first-time 12th-grade cohort (cohort = that school year) with its outcome."""
    c = roster[roster["cohort_outcome"] >= 0]
    return pd.DataFrame({
        "cohort": labels(c["year"].to_numpy(), years),
        "student_id": student_ids(c["sid"]),
        "building_id": labels(c["bld"].to_numpy(), buildings["building_id"]),
        "outcome": labels(c["cohort_outcome"].to_numpy(), contract.GRAD_OUTCOME),
    })


__all__ = ["SIZES", "MAX_STUDENTS", "size_of", "Size", "Panel", "make_buildings", "enrollment_table", "graduation_table",
           "student_ids", "FIRST_FALL", "N_YEARS"]
