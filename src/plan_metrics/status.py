"""Status of a measure for a school year (DESIGN.md section 6), from its district all-students row.

``compute(measure, history, school_year)`` takes the measure's district, all-students rows of the
school years up to ``school_year`` (after suppression: columns school_year, value, ci_low, ci_high,
n, suppressed, note) and returns one status row (results.STATUS_COLUMNS) with the rule in words.

The rule:

- The *baseline* is ``measure.baseline_year`` or else the first year with a published value.
- ``not enough data`` where this year's cell is missing, suppressed or has no value, where there is
  no baseline (or its value is not published), or where this year is the baseline year or earlier.
- With a target (``measure.target``): ``met`` once the value reaches the target in the measure's
  direction; ``on track`` if it is at or beyond the straight-line trajectory from the baseline value
  (in the baseline year) to the target (in the target year) for this year; ``progressing`` if it
  is better than the baseline by a real change but short of the trajectory; ``off track`` otherwise.
- Without a target: ``improving`` / ``declining`` where the change from the baseline is real (its
  95% MOVER interval, stats.change, excludes zero) and better / worse in the measure's direction;
  ``no clear change`` otherwise.

"Better" by direction: ``higher`` a larger value, ``lower`` a smaller one, ``toward_one`` a smaller
``|log value|`` (a risk ratio nearer parity), ``toward_zero`` a smaller ``|value|`` (a gap nearer
none). For toward_one and toward_zero the target and trajectory are distances from parity (|log|, or
|value|); the expected value is reported on the baseline's side of parity. A value whose interval is
missing (a census count, e.g. action steps) is taken as exact.

A measure that compares groups (a risk ratio, a proficiency gap) has no value on its all-students
row. For such a measure (toward_one / toward_zero) the status follows, instead, the district group
farthest from parity this year (largest |log RR| or |gap|) against that same group's baseline; the
rule text names the group.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import stats, texts
from .contract import parse_school_year
from .plan import Measure
from .privacy import format_change, format_value, unit_of

_EPS = 1e-9


def _num(x) -> float:
    return float("nan") if x is None or pd.isna(x) else float(x)


def distance(value: float, direction: str) -> float:
    """The 'badness' of a value: smaller is better (NaN where undefined)."""
    if math.isnan(value):
        return value
    if direction == "higher":
        return -value
    if direction == "lower":
        return value
    if direction == "toward_one":
        return abs(math.log(value)) if value > 0 else float("nan")
    return abs(value)


def expected_value(baseline: float, target: float, direction: str, fraction: float) -> float:
    """The straight-line trajectory from ``baseline`` to ``target`` at ``fraction`` (0..1) of the
    way; for toward_one / toward_zero the line runs in distance from parity, reported on the
    baseline's side of it."""
    f = min(max(fraction, 0.0), 1.0)
    if direction in ("higher", "lower"):
        return baseline + (target - baseline) * f
    d0, d1 = distance(baseline, direction), distance(target, direction)
    d = d0 + (d1 - d0) * f
    if direction == "toward_one":
        return math.exp(d if baseline >= 1 else -d)
    return d if baseline >= 0 else -d


def _records(rows) -> list[dict]:
    """A DataFrame or a list of dicts -> a list of dicts with group_by, group, suppressed and
    school_year (text) filled in (pandas is slow on frames of a few rows)."""
    recs = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows or [])
    out = []
    for r in recs:
        r = dict(r)
        r["group_by"] = str(r.get("group_by", "all") if not _missing(r.get("group_by")) else "all")
        r["group"] = str(r.get("group", "all") if not _missing(r.get("group")) else "all")
        r["suppressed"] = bool(r.get("suppressed", False)) if not _missing(
            r.get("suppressed")) else False
        r["school_year"] = str(r.get("school_year"))
        out.append(r)
    return out


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _row(history: list[dict], year: str | None) -> dict | None:
    return next((r for r in history if r["school_year"] == year), None)


def _published(row: dict | None) -> bool:
    return row is not None and not row.get("suppressed", False) and not _missing(row.get("value"))


def _interval(row: dict) -> tuple[float, float, float]:
    v = _num(row["value"])
    lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
    if math.isnan(lo) or math.isnan(hi):
        lo = hi = v  # no interval: a census value, taken as exact
    return v, lo, hi


def _pair(a: float, b: float, unit: str, n=None) -> tuple[str, str]:
    """Two values formatted alike; with one more decimal where they would otherwise look equal."""
    sa, sb = format_value(a, unit, n), format_value(b, unit)
    if sa == sb and abs(a - b) > _EPS and unit in ("percent", "index", "ratio", "points",
                                                   "per_100", "hours", "number"):
        scale = 100 if unit == "percent" else 1
        digits = {"ratio": 3}.get(unit, 1)
        suffix = {"percent": "%", "points": " pts", "per_100": " per 100", "hours": " hrs"}.get(unit, "")
        sa = f"{a * scale:.{digits}f}{suffix}"
        sb = f"{b * scale:.{digits}f}{suffix}"
    return sa, sb


def focus_group(measure: Measure, current, group_by: str | None = None
                ) -> tuple[str, str] | None:
    """For a toward_one / toward_zero measure whose all-students row has people but no value (a
    risk ratio or gap compares groups), the (group_by, group) of the row farthest from parity
    with a published value this year; None otherwise. Of a yes/no group (e.g. disability) only
    the "yes" side is a candidate when it is published: the "no" side mirrors it. With
    ``group_by`` only that student-group column's groups are candidates (a card showing one
    column names its widest disparity).

    ``current``: the measure's rows of the year at one place (a DataFrame or a list of dicts with
    group_by, group, value, n, suppressed).
    """
    if measure.direction not in ("toward_one", "toward_zero"):
        return None
    rows = _records(current)
    lead = next((r for r in rows if r["group_by"] == "all"), None)
    if lead is None or lead["suppressed"] or _missing(lead.get("n")) \
            or not _missing(lead.get("value")):
        return None
    groups = [r for r in rows if r["group_by"] != "all" and _published(r)
              and (group_by is None or r["group_by"] == group_by)]
    # a yes/no group's "no" side mirrors its "yes" side (a reciprocal ratio, a negated gap): name
    # the group that has the characteristic
    has_yes = {r["group_by"] for r in groups if r["group"] == "true"}
    groups = [r for r in groups if not (r["group"] == "false" and r["group_by"] in has_yes)]
    far = [(distance(float(r["value"]), measure.direction), i) for i, r in enumerate(groups)]
    far = [(d, i) for d, i in far if not math.isnan(d)]
    if not far:
        return None
    best = groups[max(far, key=lambda x: (x[0], -x[1]))[1]]
    return best["group_by"], best["group"]


def compute(measure: Measure, history, school_year: str, plan_id: str = "",
            min_n: int = 10, group_by: str | None = None) -> dict:
    """The status row of ``measure`` for ``school_year`` (see the module docstring).

    ``history``: the measure's district rows (building ALL) of the years needed, as a DataFrame or
    a list of dicts; with group_by and group it may hold group rows too, used by a measure that
    compares groups (``focus_group``; ``group_by`` limits it to one student-group column);
    without them every row is the all-students row.
    """
    hist = _records(history)
    focus = focus_group(measure, [r for r in hist if r["school_year"] == school_year], group_by)
    gb, g = focus if focus else ("all", "all")
    series = sorted((r for r in hist if r["group_by"] == gb and r["group"] == g),
                    key=lambda r: r["school_year"])
    out = _compute(measure, series, school_year, plan_id, min_n)
    if focus:
        word, rest = out["rule_text"].split(": ", 1)
        label = texts.fill("focus", group=texts.group_label(gb, g), year=school_year)
        out["rule_text"] = f"{word} ({label}): {rest}"
    return out


def building_status(measure: Measure, rows, building_id: str, school_year: str,
                    plan_id: str = "", min_n: int = 10, group_by: str | None = None) -> dict:
    """The status of ``measure`` at one building: the same rules as ``compute`` on the building's
    own rows, so its baseline is the building's own (the measure's baseline year, else the
    building's first published year) and the trajectory runs from that baseline to the plan's
    target in the plan's target year.

    ``rows``: results rows of the measure (a DataFrame or dicts with building_id, school_year,
    group_by, group, value, ci_low, ci_high, n, suppressed, note); other buildings are ignored.
    """
    recs = [r for r in _records(rows) if str(r.get("building_id")) == str(building_id)]
    return compute(measure, recs, school_year, plan_id, min_n, group_by)


def change_between(now: dict | None, then: dict | None) -> dict | None:
    """The change from row ``then`` to row ``now`` (dicts with value, ci_low, ci_high,
    suppressed) with its 95% MOVER interval, as the status rules judge it: dict(diff, low, high,
    real); a value without an interval (a census count) is taken as exact. None where either
    value is not published."""
    if not (_published(now) and _published(then)):
        return None
    ch = stats.change(*_interval(now), *_interval(then))
    return {"diff": float(ch["diff"]), "low": float(ch["low"]), "high": float(ch["high"]),
            "real": bool(ch["real"])}


def _compute(measure: Measure, history: list[dict], school_year: str, plan_id: str,
             min_n: int) -> dict:
    """The status row from one series of rows (all students, or one group), one per year."""
    unit = unit_of(measure)
    direction = measure.direction
    target = measure.target
    out = {"plan_id": plan_id, "measure_id": measure.id, "school_year": school_year,
           "value": np.nan, "baseline_year": None, "baseline_value": np.nan,
           "target_year": target.year if target else None,
           "target_value": target.value if target else np.nan, "expected_value": np.nan}

    def not_enough(key: str, **fields) -> dict:
        out["status"] = texts.status_word("not_enough_data")
        out["rule_text"] = texts.fill(f"not_enough_data.{key}", year=school_year, min_n=min_n,
                                      **fields)
        return out

    cur = _row(history, school_year)
    # the baseline: the measure's own, else the first year with a published value
    if measure.baseline_year:
        base_year = measure.baseline_year
    else:
        base_year = next((r["school_year"] for r in history
                          if _published(r) and r["school_year"] <= school_year), None)
    base = _row(history, base_year)
    out["baseline_year"] = base_year
    if _published(base):
        out["baseline_value"] = _num(base["value"])

    if cur is None or (pd.isna(cur.get("n")) and pd.isna(cur.get("value"))
                       and not cur.get("suppressed", False)):
        reason = cur.get("note") if cur is not None else None
        if isinstance(reason, str):  # the no-data row's note: "no data: <reason>"
            reason = reason.removeprefix(texts.fill("notes.no_data", reason=""))
        return not_enough("no_data", reason=f" ({reason})" if isinstance(reason, str) and reason
                          else "")
    if cur.get("suppressed", False):
        return not_enough("suppressed")
    if pd.isna(cur.get("value")):
        reason = cur.get("note")
        return not_enough("no_value", reason=f" ({reason})" if isinstance(reason, str) and reason
                          else "")
    v, vl, vu = _interval(cur)
    out["value"] = v
    if base_year is None:
        return not_enough("no_baseline")
    if school_year < base_year:
        return not_enough("before_baseline", baseline_year=base_year)
    if school_year == base_year:
        return not_enough("is_baseline", value=format_value(v, unit, cur.get("n")))
    if not _published(base):
        return not_enough("baseline_hidden", baseline_year=base_year)

    b, bl, bu = _interval(base)
    ch = stats.change(v, vl, vu, b, bl, bu)
    better = distance(v, direction) < distance(b, direction) - _EPS
    worse = distance(v, direction) > distance(b, direction) + _EPS
    fields = dict(year=school_year, baseline_year=base_year,
                  value=format_value(v, unit, cur.get("n")),
                  baseline=format_value(b, unit, base.get("n")),
                  change=format_change(ch["diff"], unit),
                  low=format_change(ch["low"], unit), high=format_change(ch["high"], unit))

    if target is not None:
        t = float(target.value)
        y0, y1, y = (parse_school_year(base_year), parse_school_year(target.year),
                     parse_school_year(school_year))
        fraction = 1.0 if y1 <= y0 else (y - y0) / (y1 - y0)
        e = expected_value(b, t, direction, fraction)
        out["expected_value"] = e
        fields.update(target=format_value(t, unit), target_year=target.year)
        fields["value"], fields["expected"] = _pair(v, e, unit, cur.get("n"))
        if distance(v, direction) <= distance(t, direction) + _EPS:
            key = "met"
        elif distance(v, direction) <= distance(e, direction) + _EPS:
            key = "on_track"
        elif ch["real"] and better:
            key = "progressing"
        else:
            key = "off_track"
    else:
        key = ("improving" if ch["real"] and better else
               "declining" if ch["real"] and worse else "no_clear_change")
    out["status"] = texts.status_word(key)
    rule = texts.fill(f"rule.{key}", **fields)
    if direction in ("toward_one", "toward_zero"):
        rule += f" ({texts.text(f'rule.{direction}')})"
    out["rule_text"] = rule
    return out
