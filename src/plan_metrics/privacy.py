"""Privacy of the published cells (DESIGN.md section 6): suppression and display text.

``apply(rows, min_n)`` takes the unsuppressed rows of one measure and year (every building and the
district ``ALL``, every group) and returns them with small cells suppressed:

1. Primary suppression: a row whose ``n`` (people behind it) is under ``min_n``.
2. Complementary suppression. The rows form *families* whose parts add up (or nearly) to a total:
   - across groups: in one building, the rows of one group_by (e.g. the seven race_ethnicity groups)
     are the parts and the building's ``all`` row is the total;
   - across buildings: for one (group_by, group), the building rows are the parts and the district
     row is the total.
   A family whose members (total included) hold exactly one suppressed cell gives that cell away by
   subtraction (of ``n`` or of ``numerator``): total minus the published parts, or, when the total
   is the one suppressed, the sum of the parts. So the smallest published part of that family (by
   ``n``; the total only when no part is left) is suppressed too. This repeats over both kinds of
   family until no family has exactly one suppressed cell; a family with 0 or >= 2 suppressed cells
   gives nothing away by subtraction. Families without a total row, and rows without ``n`` (no
   people count, e.g. action steps or 'no data' rows), take no part.
3. A suppressed row keeps no number: n, numerator, denominator, value, the interval and
   ``comparison_value`` are emptied and ``suppressed`` is true; its note says why (without counts).
   ``comparison_value`` of a group is the value of all *other* people of its building: it is emptied
   as well on every row of a family whose building ``all`` row is suppressed, because there it is not
   derivable from published cells and could give a suppressed cell away; the kind's note of such a
   row, which may quote the comparison, is dropped too.

``display(rows, unit, min_n)`` writes the text shown for each row: "78%" (proportions, no decimals;
never exactly 0% or 100% from fewer than 100 people: "< 3%" / "> 97%" for 40 people, the bound being
100/n rounded up), "-25.0 pts", "2.00", "325", "3.2 per 100", "4.5 hrs", "n < 10" (primary
suppression), "not shown" (complementary), "no data", "not computed".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import texts
from .plan import Measure
from .results import ALL, DISTRICT

NUMBER_COLUMNS = ["n", "numerator", "denominator", "value", "ci_low", "ci_high", "comparison_value"]
UNITS = ("percent", "points", "ratio", "index", "per_100", "hours", "number")
SMALL_FOR_PERCENT = 100  # fewer people than this never show exactly 0% or 100%


def _texts(s: pd.Series) -> list:
    """A text column as a plain list (iterating arrow strings one by one is slow)."""
    return s.to_numpy(dtype=object, na_value=None).tolist()


def families(rows: pd.DataFrame) -> list[tuple[int, np.ndarray]]:
    """The additive families of ``rows`` as (position of the total, positions of the parts).

    Positions are 0-based into ``rows``; only rows with an ``n`` (or already suppressed) take part.
    """
    take = rows["n"].notna().to_numpy()
    if "suppressed" in rows.columns:
        take = take | rows["suppressed"].fillna(False).astype(bool).to_numpy()
    keys = zip(*(_texts(rows[c]) for c in ("building_id", "group_by", "group")))
    pos: dict[tuple, int] = {}
    across_groups: dict[tuple, list[int]] = {}
    across_buildings: dict[tuple, list[int]] = {}
    for i, (b, gb, g) in enumerate(keys):
        if not take[i]:
            continue
        pos[(b, gb, g)] = i
        if gb != ALL:      # a group of the building's all row
            across_groups.setdefault((b, gb), []).append(i)
        if b != DISTRICT:  # a building of the district row
            across_buildings.setdefault((gb, g), []).append(i)
    out: list[tuple[int, np.ndarray]] = []
    for (b, gb), parts in across_groups.items():
        total = pos.get((b, ALL, ALL))
        if total is not None:
            out.append((total, np.asarray(parts)))
    for (gb, g), parts in across_buildings.items():
        total = pos.get((DISTRICT, gb, g))
        if total is not None:
            out.append((total, np.asarray(parts)))
    return out


def suppression_flags(rows: pd.DataFrame, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(primary, complementary) boolean arrays over ``rows`` (see the module docstring)."""
    n = pd.to_numeric(rows["n"]).astype("float64").to_numpy(na_value=np.nan)
    num = pd.to_numeric(rows["numerator"]).astype("float64").to_numpy(na_value=np.nan) \
        if "numerator" in rows.columns else np.full(len(rows), np.nan)
    primary = ~np.isnan(n) & (n < min_n)
    already = rows["suppressed"].fillna(False).astype(bool).to_numpy() \
        if "suppressed" in rows.columns else np.zeros(len(rows), bool)
    sup = primary | already
    fams = families(rows)
    changed = True
    while changed:
        changed = False
        for total, parts in fams:
            if int(sup[total]) + int(sup[parts].sum()) != 1:
                continue
            open_parts = parts[~sup[parts]]
            if len(open_parts):
                # smallest n, then smallest numerator, then first listed: deterministic
                order = np.lexsort((np.arange(len(open_parts)), np.nan_to_num(num[open_parts]),
                                    n[open_parts]))
                pick = open_parts[order[0]]
            elif not sup[total]:
                pick = total
            else:  # cannot happen: one suppressed cell and nothing open means a family of one
                continue
            sup[pick] = True
            changed = True
    return primary, sup & ~primary & ~already


def apply(rows: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Suppress the small cells of one measure-year's rows (primary and complementary).

    Returns a copy with ``suppressed`` set, the numbers of suppressed rows emptied and their note
    replaced, and ``comparison_value`` emptied where it could reveal a suppressed cell.
    """
    out = rows.reset_index(drop=True)
    out["suppressed"] = (out["suppressed"].fillna(False).astype(bool) if "suppressed" in out.columns
                         else False)
    if "note" not in out.columns:
        out["note"] = None
    if out.empty or (out["n"].isna() & ~out["suppressed"]).all():
        return out
    primary, complementary = suppression_flags(out, min_n)
    sup = primary | complementary
    if not sup.any():
        return out
    for col in NUMBER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].mask(sup)
    out["suppressed"] = out["suppressed"].to_numpy() | sup
    note = out["note"].astype("object").to_numpy(copy=True)
    note[primary] = texts.fill("notes.suppressed", min_n=min_n)
    note[complementary] = texts.text("notes.complementary")
    if "comparison_value" in out.columns:
        # a building whose all row is suppressed: its groups' comparison values are not derivable
        is_all = (out["group_by"] == ALL).to_numpy()
        bld = out["building_id"].astype(str).to_numpy()
        hidden = np.isin(bld, bld[is_all & out["suppressed"].to_numpy()])
        if hidden.any():
            out["comparison_value"] = out["comparison_value"].mask(hidden)
            # a kind's note may quote the comparison (e.g. "risk 4% vs 9%"): drop it there too
            note[hidden & ~out["suppressed"].to_numpy()] = None
    out["note"] = pd.Series(note, index=out.index, dtype="object")
    return out


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
    """The display text of one published value (not suppressed, not missing).

    Proportions (0..1) show as whole percentages; from fewer than 100 people a value that would
    show as 0% or 100% shows as "< x%" / "> (100 - x)%", x = 100/n rounded up.
    """
    v = float(value)
    if unit == "percent":
        pct = 100 * v
        shown = round(pct)
        small = n is not None and not pd.isna(n) and 0 < int(n) < SMALL_FOR_PERCENT
        x = math.ceil(100 / int(n)) if small else 1
        if shown <= 0:
            if small or pct > 0:
                return texts.fill("display.percent_below", x=x)
        elif shown >= 100:
            if small or pct < 100:
                return texts.fill("display.percent_above", y=100 - x)
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


def display(rows: pd.DataFrame, unit: str, min_n: int) -> pd.Series:
    """The display text of every row (after ``apply``).

    Suppressed rows: "n < {min_n}", or "not shown" for those whose note says they were suppressed to
    protect another cell; rows without a value: "no data" when they have no people count either and
    "not computed" otherwise (e.g. a risk ratio under the cell size); the all-students row of a
    measure that compares groups (a gap, a risk ratio), which has no value by definition, shows "—".
    """
    comp_note = texts.text("notes.complementary")
    out = []
    values = pd.to_numeric(rows["value"]).astype("float64").to_numpy(na_value=np.nan).tolist()
    ns = pd.to_numeric(rows["n"]).astype("Float64").to_numpy(dtype=object, na_value=None).tolist()
    for sup, val, n, gb, note in zip(rows["suppressed"].tolist(), values, ns,
                                     _texts(rows["group_by"]), _texts(rows["note"])):
        if sup:
            if isinstance(note, str) and note == comp_note:
                out.append(texts.text("display.complementary"))
            else:
                out.append(texts.fill("display.suppressed", min_n=min_n))
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
