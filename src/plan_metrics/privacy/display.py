"""What a published cell shows (DESIGN.md section 6): its unit, its display text and the texts of
changes.

Every hidden cell shows the one text "not shown", whatever the reason it is hidden (fewer than
``min_n`` people, or hidden so that such a group cannot be worked out), so that the text tells an
attacker nothing. A proportion from fewer than 100 people in the *band* of its extremes shows a
bound instead of its value (see ``band_of``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import texts
from ..plan import Measure
from ..results import ALL

UNITS = ("percent", "points", "ratio", "index", "per_100", "hours", "number")
SMALL_FOR_PERCENT = 100  # fewer people than this never show exactly 0% or 100%


def _texts(s: pd.Series) -> list:
    """A text column as a plain list (iterating arrow strings one by one is slow)."""
    return s.to_numpy(dtype=object, na_value=None).tolist()


def band_x(n) -> int:
    """The bound, in whole percent, of the band of a proportion from ``n`` (< 100) people:
    floor(100 / n) + 1. Below it lie exactly the shares of 0 and 1 person, so "< x%" never tells
    which of the two it is (and "> (100 - x)%" hides all and all but one)."""
    return math.floor(100 / int(n)) + 1


def band_of(num, den, n) -> str | None:
    """'<' or '>' when the proportion num/den of ``n`` people lies in the band of its extremes
    (fewer than 100 people; below x% or above (100 - x)%, x = ``band_x(n)``), else None."""
    if n is None or pd.isna(n) or not 0 < int(n) < SMALL_FOR_PERCENT:
        return None
    if num is None or den is None or pd.isna(num) or pd.isna(den) or float(den) <= 0:
        return None
    x = band_x(n)
    v = 100 * float(num) / float(den)
    if v < x:
        return "<"
    if v > 100 - x:
        return ">"
    return None


def band_text(side: str, n, unit: str, relation: str = "share") -> str:
    """The display of a banded proportion: "< 7%" (or "share < 7%" / "risk < 7%" where the cell's
    own unit is not a percentage)."""
    x = band_x(n)
    key = "percent_below" if side == "<" else "percent_above"
    text = texts.fill(f"display.{key}", x=x, y=100 - x)
    if unit == "percent":
        return text
    return texts.fill("display.risk_band" if relation == "rr" else "display.share_band", band=text)


def unit_of(measure: Measure) -> str:
    """The unit of a measure's value: ``measure.unit`` or inferred from its kind (and spec)."""
    if measure.unit:
        return measure.unit
    kind, spec = measure.kind, measure.spec
    if kind == "proficiency":
        return {"mpi": "index", "gap": "points"}.get(getattr(spec, "statistic", None), "percent")
    if kind == "risk_ratio":
        return "ratio"
    if kind == "representation_gap":
        return "points"
    if kind == "per_100":
        return "per_100"
    if kind == "mean":
        return "hours" if "hour" in str(getattr(spec, "column", "")) else "number"
    return "percent"


def format_value(value, unit: str, n=None) -> str:
    """The display text of one published value (not hidden, not missing).

    Proportions (0..1) show as whole percentages; from fewer than 100 people a value in the band of
    the extremes shows as "< x%" / "> (100 - x)%" (``band_x``). The engine never publishes such a
    value, but charts and notes format values through here too.
    """
    v = float(value)
    if unit == "percent":
        pct = 100 * v
        small = n is not None and not pd.isna(n) and 0 < int(n) < SMALL_FOR_PERCENT
        if small:
            x = band_x(n)
            if pct < x:
                return texts.fill("display.percent_below", x=x)
            if pct > 100 - x:
                return texts.fill("display.percent_above", y=100 - x)
        shown = round(pct)
        if shown <= 0 and pct > 0:
            return texts.fill("display.percent_below", x=1)
        if shown >= 100 and pct < 100:
            return texts.fill("display.percent_above", y=99)
        return texts.fill("display.percent", value=pct)
    if unit == "points":
        if abs(v) < 0.05:
            return texts.text("display.points_zero")
        return texts.fill("display.points", value=v)
    if unit not in UNITS:
        unit = "number"
    return texts.fill(f"display.{unit}", value=v)


def format_change(diff, unit: str) -> str:
    """A change between two values in the unit's terms (percent changes in points)."""
    v = float(diff)
    if unit == "percent":
        v *= 100
    if unit not in UNITS:
        unit = "number"
    if round(v, {"ratio": 2, "index": 0}.get(unit, 1)) == 0:
        v = 0.0  # no "-0.0"
    return texts.fill(f"change.{unit}", value=v)


def display(rows: pd.DataFrame, unit: str, min_n: int = 10, relation: str = "share") -> pd.Series:
    """The display text of every row (after suppression).

    Hidden rows: "not shown"; banded rows (column ``band`` '<' or '>'): their bound; rows without
    a value: "no data" when they have no people count either and "not computed" otherwise (e.g. a
    risk ratio under the cell size); the all-students row of a measure that compares groups (a
    gap, a risk ratio), which has no value by definition, shows "—".
    """
    out = []
    values = pd.to_numeric(rows["value"]).astype("float64").to_numpy(na_value=np.nan).tolist()
    ns = pd.to_numeric(rows["n"]).astype("Float64").to_numpy(dtype=object, na_value=None).tolist()
    bands = _texts(rows["band"]) if "band" in rows.columns else [None] * len(rows)
    for sup, val, n, gb, band in zip(rows["suppressed"].tolist(), values, ns,
                                     _texts(rows["group_by"]), bands):
        if sup:
            out.append(texts.text("display.hidden"))
        elif band in ("<", ">"):
            if relation == "rr" and band == "<":  # under the cell size: no ratio anyway
                out.append(texts.text("display.not_computed"))
            else:
                out.append(band_text(band, n, unit, relation))
        elif pd.isna(val):
            if pd.isna(n):
                out.append(texts.text("display.no_data"))
            elif gb == ALL and unit in ("points", "ratio"):
                out.append(texts.text("display.not_applicable"))
            else:
                out.append(texts.text("display.not_computed"))
        else:
            out.append(format_value(val, unit, n))
    return pd.Series(out, index=rows.index, dtype="string")
