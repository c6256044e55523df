"""action_completion (DESIGN.md section 6): progress of an action-step plan.

value = complete steps / steps that are not discontinued, over the action_steps rows of the school
year for ``spec.plan_id`` (and, when given, one goal and/or one objective). One row only: building
``ALL``, group ``all`` (steps belong to the plan, not to a building or a student group). numerator =
complete steps, denominator = the steps counted (not discontinued); the note lists the counts by
status. Interval: Wilson. ``n`` is left empty: it counts the *people* behind a cell (section 8) and
no person is behind a plan's action steps, so the privacy rules do not apply to them (the privacy
module leaves rows without ``n`` out of suppression).
"""

from __future__ import annotations

import pandas as pd

from .. import stats
from ..results import ALL, DISTRICT
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Share of the plan's (goal's, objective's) action steps complete in ``school_year``."""
    spec = measure.spec
    steps = P.year_rows(tables, "action_steps", school_year)
    steps = steps[steps["plan_id"].astype(str) == spec.plan_id]
    scope = f"plan {spec.plan_id}"
    if spec.goal is not None:
        steps = steps[steps["goal_id"].astype(str) == spec.goal]
        scope += f" goal {spec.goal}"
    if spec.objective is not None:
        steps = steps[steps["objective_id"].astype(str) == spec.objective]
        scope += f" objective {spec.objective}"
    if steps.empty:
        raise P.NoData(f"no action steps of {scope} for {school_year}")
    counts = steps["status"].astype(str).value_counts()
    complete = int(counts.get("complete", 0))
    counted = len(steps) - int(counts.get("discontinued", 0))
    low, high = stats.wilson(complete, counted)
    note = ", ".join(f"{int(counts.get(s, 0))} {s.replace('_', ' ')}"
                     for s in ("complete", "in_progress", "not_started", "discontinued"))
    if counted == 0:
        note += "; every step was discontinued"
    row = {"building_id": DISTRICT, "group_by": ALL, "group": ALL, "n": None,
           "numerator": complete, "denominator": counted,
           "value": P.ratio([complete], [counted])[0], "ci_low": low, "ci_high": high,
           "comparison_value": float("nan"), "note": note}
    return P.finish(pd.DataFrame([row]))
