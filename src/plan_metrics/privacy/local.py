"""Suppression of one measure-year's rows on their own (DESIGN.md section 6): the first pass.

``apply(rows, min_n, relation)`` takes the unsuppressed rows of one measure and year (every building
and the district ``ALL``, every group) and returns them with:

1. primary suppression: a row whose ``n`` (people behind it) is under ``min_n`` is hidden;
2. the band of the extremes: a proportion of fewer than 100 people below x% or above (100 - x)%
   (``display.band_x``) keeps its ``n`` but loses its value, numerator, denominator and interval;
   it shows the bound (column ``band``);
3. complementary suppression within the measure's own lines: the rows form *families* whose parts
   add up to a total (the groups of one group_by in a building and the building's ``all`` row; the
   buildings of one group and the district row). A family with exactly one hidden cell gives it
   away by subtraction, so the smallest published part (by ``n``) is hidden too, until no family
   has exactly one;
4. a hidden row keeps no number: n, numerator, denominator, value, the interval and
   ``comparison_value`` are emptied, ``suppressed`` is true and its note is the one note of every
   hidden cell; ``comparison_value`` (the value of all *other* people of the building) is emptied
   where the building's ``all`` row does not publish its counts, and so is the row of a measure
   whose value is itself a comparison with the others (a gap, a risk ratio: ``compares``).

This pass makes a measure's own table safe against subtraction within single lines. What the whole
reports folder publishes together (tables across groups and buildings at once, measures that count
the same people, three-year windows) is protected by ``privacy.protect`` at publishing, which starts
from these rows and proves the result with ``privacy.audit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import texts
from ..results import ALL, DISTRICT
from .display import _texts, band_of

NUMBER_COLUMNS = ["n", "numerator", "denominator", "value", "ci_low", "ci_high", "comparison_value"]
BANDED_EMPTY = ["numerator", "denominator", "value", "ci_low", "ci_high", "comparison_value"]
#: relations (see model.relation_of) whose numerator/denominator is a share of people
BANDED_RELATIONS = ("share", "favorable", "rr")


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


def bands(rows: pd.DataFrame, relation: str) -> np.ndarray:
    """The band side ('<', '>' or None) of every row (None for relations that are no share)."""
    if relation not in BANDED_RELATIONS or rows.empty:
        return np.full(len(rows), None, dtype=object)
    return np.asarray([band_of(a, b, c) for a, b, c in zip(
        rows["numerator"].tolist(), rows["denominator"].tolist(), rows["n"].tolist())],
        dtype=object)


def apply(rows: pd.DataFrame, min_n: int, relation: str = "share",
          compares: bool = False) -> pd.DataFrame:
    """Suppress the small cells of one measure-year's rows (primary, band, complementary).

    ``relation``: what the row's counts are (model.relation_of: 'share', 'favorable', 'rr', ...);
    ``compares``: the value compares a group with all other people of its building (gap, ratio).
    Returns a copy with ``suppressed`` and ``band`` set and the numbers of hidden and banded rows
    emptied.
    """
    out = rows.reset_index(drop=True)
    out["suppressed"] = (out["suppressed"].fillna(False).astype(bool) if "suppressed" in out.columns
                         else False)
    if "note" not in out.columns:
        out["note"] = None
    out["band"] = bands(out, relation) if "band" not in out.columns else out["band"]
    if out.empty or (out["n"].isna() & ~out["suppressed"]).all():
        return out
    primary, complementary = suppression_flags(out, min_n)
    sup = primary | complementary
    return finish(out, sup, min_n, compares)


def finish(out: pd.DataFrame, hidden: np.ndarray, min_n: int, compares: bool = False,
           whole_line: np.ndarray | None = None) -> pd.DataFrame:
    """Write the hidden rows (mask ``hidden``) and the banded rows (column ``band``) of one
    measure-year: empty their numbers, set the notes, and empty what depends on a building's
    ``all`` row where that row does not publish its counts."""
    hidden = np.asarray(hidden, bool) | out["suppressed"].to_numpy(bool)
    band = out["band"].to_numpy(dtype=object).copy()
    band[hidden] = None
    note = out["note"].astype("object").to_numpy(copy=True)
    banded = np.asarray([b in ("<", ">") for b in band])
    is_all = (out["group_by"] == ALL).to_numpy()
    bld = out["building_id"].astype(str).to_numpy()
    # a building whose all row publishes no counts: its comparisons are not derivable from
    # published cells, so they are not published either (they would give that row away)
    closed = np.isin(bld, bld[is_all & (hidden | banded)])
    if compares:
        hidden = hidden | (closed & ~is_all & out["n"].notna().to_numpy())
        banded &= ~hidden
        band[hidden] = None
    for col in NUMBER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].mask(hidden)
    for col in BANDED_EMPTY:
        if col in out.columns:
            out[col] = out[col].mask(banded)
    if "comparison_value" in out.columns:
        out["comparison_value"] = out["comparison_value"].mask(closed)
        note[closed & ~hidden & ~banded] = None  # a kind's note may quote the comparison
    out["suppressed"] = hidden
    out["band"] = pd.Series(band, index=out.index, dtype="object")
    note[hidden] = texts.fill("notes.hidden", min_n=min_n)
    if whole_line is not None:
        note[np.asarray(whole_line, bool) & hidden] = texts.fill("notes.whole_line")
    note[banded] = texts.text("notes.banded")
    out["note"] = pd.Series(note, index=out.index, dtype="object")
    return out
