"""Tables not about individual students or staff: the curriculum audit and the action steps of
the professional learning plan (clayton-pl)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract
from ..errors import PlanMetricsError
from ._draw import exact_pick, labels, round_half_up
from .district import N_YEARS

SUBJECTS = ("ela", "math", "science", "social_studies")
HIGH_COURSES = ("english_9", "english_10", "english_11", "english_12", "algebra_1", "geometry",
                "algebra_2", "biology", "chemistry", "physics", "world_history", "us_history",
                "government", "economics")
# criterion -> share rated meets or exceeds, first and last year
CRITERIA = {"representation": (0.40, 0.78), "rigor": (0.60, 0.70),
            "standards_alignment": (0.70, 0.86)}


def curriculum_audit(rng, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """Every unit of every course in each building is rated on each criterion each year; the
    share rated meets or above follows CRITERIA, and a unit that met tends to keep meeting."""
    units = []
    for b, level in zip(buildings["building_id"], buildings["level"]):
        if level == "elementary":
            courses, n_units = [f"{s}_{'k' if g == 0 else g}" for s in SUBJECTS for g in range(6)], 4
        elif level == "middle":
            courses, n_units = [f"{s}_{g}" for s in SUBJECTS for g in range(6, 9)], 5
        else:
            courses, n_units = list(HIGH_COURSES), 5
        for c in courses:
            for u in range(1, n_units + 1):
                units.append((f"{b}-{c}", b, f"{b}-{c}-u{u}"))
    units = pd.DataFrame(units, columns=["course_id", "building_id", "unit_id"])
    nu, nc = len(units), len(CRITERIA)
    latent = rng.normal(0, 1, (nu, nc))
    y = np.repeat(np.arange(N_YEARS), nu * nc)
    unit = np.tile(np.repeat(np.arange(nu), nc), N_YEARS)
    crit = np.tile(np.arange(nc), nu * N_YEARS)
    first = np.array([v[0] for v in CRITERIA.values()])
    last = np.array([v[1] for v in CRITERIA.values()])
    share = first[None, :] + (last - first)[None, :] * np.linspace(0, 1, N_YEARS)[:, None]
    codes = y * nc + crit
    k = round_half_up(share.ravel() * np.bincount(codes, minlength=N_YEARS * nc))
    w = np.exp(2.0 * latent[unit, crit])
    meets = exact_pick(rng, codes, k, w)
    u = rng.random(len(y))
    rating = np.where(meets, np.where(u < 0.25, "exceeds", "meets"),
                      np.where(u < 0.3, "not_evident", "emerging"))
    return pd.DataFrame({
        "school_year": labels(y, years),
        "course_id": units["course_id"].to_numpy()[unit],
        "building_id": units["building_id"].to_numpy()[unit],
        "unit_id": units["unit_id"].to_numpy()[unit],
        "criterion": labels(crit, list(CRITERIA)),
        "rating": rating.astype(object),
    })


OWNERS = ("Chief Academic Officer", "Director of Professional Learning", "Building Principals",
          "Instructional Coaches", "Director of Student Services", "Director of Equity",
          "Assistant Superintendent for Human Resources", "Director of Assessment and Research",
          "Professional Learning Committee")


def action_steps(rng, years: list[str], plan_id: str = "clayton-pl") -> pd.DataFrame | None:
    """Yearly status of every numbered action step of the plan: not_started until the step
    starts, in_progress for one to three years, then complete; about 8% are discontinued on the
    way; a few are still under way in the last year. None when the plan cannot be loaded (the
    table is then not written)."""
    from ..plan import load_plan
    try:
        plan = load_plan(plan_id)
    except PlanMetricsError:
        return None
    steps = [(g.id, o.id, s.id) for g in plan.goals for o in g.objectives for s in o.action_steps]
    if not steps:
        return None
    n = len(steps)
    start = rng.choice([0, 0, 1, 1, 2, 3, 4], n)
    duration = rng.integers(1, 5, n)
    dropped = exact_pick(rng, np.zeros(n, np.int64), [round_half_up(0.08 * n)])
    stop = np.where(dropped, start + rng.integers(0, 3, n), N_YEARS + 10)
    owner = rng.choice(len(OWNERS), n)
    rows = []
    for t, year in enumerate(years):
        for i, (g, o, s) in enumerate(steps):
            if t >= stop[i]:
                status, note = "discontinued", (f"Discontinued in {years[stop[i]]}: the work was "
                                                f"folded into another action step.")
            elif t < start[i]:
                status, note = "not_started", f"Scheduled to begin in {years[start[i]]}."
            elif t < start[i] + duration[i]:
                status = "in_progress"
                note = f"Under way since {years[start[i]]}; progress reviewed each semester."
            else:
                status = "complete"
                done = contract.shift_school_year(years[0], int(start[i] + duration[i] - 1))
                note = f"Completed in {done}."
            rows.append((year, plan_id, g, o, s, OWNERS[owner[i]], status, note))
    out = pd.DataFrame(rows, columns=list(contract.TABLES["action_steps"]["columns"]))
    # a few notes were never filled in
    out.loc[rng.random(len(out)) < 0.1, "note"] = None
    return out
