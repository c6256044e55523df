"""The equity review's cells (DESIGN.md section 9): disparities, how far they are beyond the review's
thresholds, their flags, and the one group a heatmap row follows across the years.

Disparity by unit: a risk ratio is the edition's value (group vs all other students) with its
interval; a gap in points is the edition's value and interval; a percentage (survey share,
retention) becomes the gap in points between the group and all other students (the row's
comparison_value, else the all-students row), its interval the group's own interval less that
share (the other students are the larger part, their share is taken as fixed).

Severity: how far a disparity is from parity in units of the threshold: |ln RR| / ln(threshold) for
ratios (the high threshold above 1, the low one below), |gap| / gap_points for gaps; 1 = on the
threshold. Hidden or empty cells have no disparity; their display text ("not shown") is kept.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import charts
from ..plan import Measure
from ..privacy import format_value
from ..results import ALL, DISTRICT

COLUMNS = ["school_year", "group_by", "group", "disparity", "low", "high", "display"]
#: Heat levels by severity: (upper bound, key in texts equity.levels, colour; ColorBrewer OrRd,
#: a sequential scale readable by colour-blind readers, the words are always shown too).
LEVELS = ((0.5, "near", "#F7F7F7"), (1.0, "approaching", "#FDD49E"),
          (1.5, "beyond", "#FC8D59"), (math.inf, "far", "#B30000"))
HIDDEN_COLOR = "#BDBDBD"


def _f(x) -> float | None:
    if x is None or x is pd.NA:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _key(r) -> dict:
    return {"school_year": str(r["school_year"]), "group_by": str(r["group_by"]),
            "group": str(r["group"])}


def disparities(results: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Per school year and student group of a measure (district rows): the disparity, its
    interval (low, high; None when the edition has none) and its display text. Hidden or empty
    cells have disparity None and keep the edition's display ("not shown")."""
    unit = charts.measure_unit(measure)
    rows = results[(results["measure_id"] == measure.id) & (results["building_id"] == DISTRICT)]
    all_rows = {r["school_year"]: _f(r["value"]) for r in rows[rows["group_by"] == ALL]
                .to_dict("records")}
    out = []
    for r in rows[rows["group_by"] != ALL].to_dict("records"):
        v = None if r["suppressed"] else _f(r["value"])
        lo, hi = _f(r["ci_low"]), _f(r["ci_high"])
        if v is None:
            out.append({**_key(r), "disparity": None, "low": None, "high": None,
                        "display": str(r["display"])})
            continue
        if unit == "percent":
            ref = _f(r["comparison_value"])
            ref = all_rows.get(r["school_year"]) if ref is None else ref
            if ref is None:
                out.append({**_key(r), "disparity": None, "low": None, "high": None,
                            "display": "no comparison"})
                continue
            d = (v - ref) * 100
            out.append({**_key(r), "disparity": d,
                        "low": None if lo is None else (lo - ref) * 100,
                        "high": None if hi is None else (hi - ref) * 100,
                        "display": format_value(d, "points")})
        else:
            out.append({**_key(r), "disparity": v, "low": lo, "high": hi,
                        "display": format_value(v, "ratio" if unit == "ratio" else "points")})
    # measures reported for the district only (e.g. staff vs students gaps): the 'all' row itself
    if not out and unit == "points":
        for r in rows[rows["group_by"] == ALL].to_dict("records"):
            v = None if r["suppressed"] else _f(r["value"])
            out.append({"school_year": str(r["school_year"]), "group_by": ALL, "group": ALL,
                        "disparity": v, "low": _f(r["ci_low"]) if v is not None else None,
                        "high": _f(r["ci_high"]) if v is not None else None,
                        "display": str(r["display"]) if v is None else format_value(v, "points")})
    return pd.DataFrame(out, columns=COLUMNS)


def severity(x: float | None, ratio: bool, review) -> float | None:
    """How far ``x`` is from parity in units of the threshold (1 = on the threshold)."""
    if x is None:
        return None
    if ratio:
        if x <= 0:
            return None
        t = review.risk_ratio_high if x >= 1 else review.risk_ratio_low
        return abs(math.log(x)) / abs(math.log(t))
    return abs(x) / review.gap_points


def assured(value: float | None, low: float | None, high: float | None, ratio: bool) -> float | None:
    """The end of the interval nearest parity (parity itself when the interval contains it); the
    value itself when there is no interval. None for no value."""
    if value is None:
        return None
    if low is None or high is None:
        return value
    parity = 1.0 if ratio else 0.0
    if low > parity:
        return low
    if high < parity:
        return high
    return parity


def flag(value, low, high, ratio: bool, review) -> str | None:
    """'flagged' when the value AND its whole interval lie beyond the threshold, 'uncertain' when
    only the value does (or there is no interval), None when the value is within the threshold."""
    s = severity(value, ratio, review)
    if s is None or s <= 1:
        return None
    if low is None or high is None:
        return "uncertain"
    a = severity(assured(value, low, high, ratio), ratio, review)
    return "flagged" if a is not None and a > 1 else "uncertain"


def level(s: float | None) -> tuple[str, str]:
    """(texts key, colour) of a severity's heat level."""
    for bound, key, color in LEVELS:
        if s is not None and s < bound:
            return key, color
    return LEVELS[-1][1], LEVELS[-1][2]


def row_group(d: pd.DataFrame, years: list[str], ratio: bool, review) -> str | None:
    """The one group a heatmap cell follows across ``years``: the group farthest from parity in the
    latest year that has a published disparity, ranked first by the severity of its interval's end
    nearest parity, then by its value's. A yes/no characteristic (groups true and false, mirror
    images of each other) always follows the students who have it (true). None when no year
    publishes a group."""
    d = d[d["school_year"].isin(years)]
    if set(d["group"]) == {"true", "false"}:
        return "true"
    for y in reversed(years):
        rows = d[(d["school_year"] == y) & d["disparity"].notna()]
        if rows.empty:
            continue
        best, key = None, None
        for r in rows.to_dict("records"):
            k = (severity(assured(r["disparity"], _f(r["low"]), _f(r["high"]), ratio), ratio,
                          review) or 0.0,
                 severity(r["disparity"], ratio, review) or 0.0)
            if key is None or k > key:
                best, key = r["group"], k
        return best
    return None
