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


#: The step statuses of the action_steps table (DESIGN.md section 5), in the order a board reads them.
STEP_STATUSES = ("complete", "in_progress", "not_started", "discontinued")
#: How far along each status is; a step that moves down this order "slipped back".
_PROGRESS = {"not_started": 0, "in_progress": 1, "complete": 2}
#: The kinds of change since last year, in the order the action plan lists them.
STEP_CHANGES = ("completed", "started", "slipped_back", "discontinued", "resumed", "added")


def step_records(tables, plan_id: str, school_year: str) -> list[dict]:
    """Every action step of ``plan_id`` in ``school_year``: step_id, goal_id, objective_id, owner,
    status and note (empty text for a missing owner or note), in the table's order.

    These rows hold no person's data (a step belongs to the plan, its owner is the office that
    leads it), so an edition can publish them whole; the action-plan dashboard reads them from the
    edition's manifest (``action_steps``). A year with no rows gives an empty list.
    """
    df = tables.get("action_steps") if hasattr(tables, "get") else None
    if df is None:
        return []
    df = df[(df["school_year"].astype(str) == school_year) & (df["plan_id"].astype(str) == plan_id)]
    out = []
    for r in df.to_dict("records"):
        out.append({k: "" if r.get(k) is None or (isinstance(r.get(k), float) and r[k] != r[k])
                    else str(r[k])
                    for k in ("step_id", "goal_id", "objective_id", "owner", "status", "note")})
    return out


def step_change(before: str | None, now: str) -> str | None:
    """What happened to one step between last year's status ``before`` (None: the step was not in
    last year's table) and this year's ``now``: 'completed' (now complete), 'started' (not started
    -> in progress), 'slipped_back' (complete -> in progress or not started, in progress -> not
    started), 'discontinued' (now discontinued), 'resumed' (discontinued -> under way again),
    'added' (new this year), or None when the status is the same."""
    if before is None or before == "":
        return "added"
    if before == now:
        return None
    if now == "discontinued":
        return "discontinued"
    if before == "discontinued":
        return "completed" if now == "complete" else "resumed"
    if now == "complete":
        return "completed"
    if _PROGRESS.get(now, 0) > _PROGRESS.get(before, 0):
        return "started"
    return "slipped_back"
