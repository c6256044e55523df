"""Shared machinery of the measure kinds: reading a table for a year, a person's student groups, and
tabulating per-person rows into the cells every kind reports.

A kind builds a *unit frame*: one row per person (or unit) and building, carrying the person's group
labels and the additive quantities its formula needs (e.g. ``answered``, ``favorable``). ``tabulate``
sums those quantities into the cells of section 6 (district ``ALL`` and each building, for ``all`` and
each value of each group_by) and adds, for group rows, the same sums for *all other people of the
same building* (``<column>_others`` = the building's ``all`` cell minus the group's cell), from which
each kind computes its ``comparison_value``. Everything is a pandas groupby: no loop over people.

Group labels are text: race_ethnicity and gender as coded, the yes/no groups as ``true``/``false``,
and ``grade_band`` derived from grade (elementary K-5, middle 6-8, high 9-12). A student's groups come
from enrollment of the school year (DESIGN.md section 5: a table joins enrollment on
(school_year, student_id)); a student enrolled in two buildings in a year takes the groups of the
enrollment row with the most days enrolled. Staff populations use the staff member's own
race_ethnicity and gender.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .. import contract
from ..options import Options
from ..results import ALL, DISTRICT
from . import ROW_COLUMNS, NoData

STAFF_GROUP_COLUMNS = ("race_ethnicity", "gender")


# ---- reading ------------------------------------------------------------------------------------

def get_table(tables: Mapping[str, pd.DataFrame] | None, name: str) -> pd.DataFrame:
    """The table ``name``; ``NoData('table X not provided')`` when absent."""
    df = tables.get(name) if tables is not None else None
    if df is None:
        raise NoData(f"table {name} not provided")
    return df


def maybe_table(tables: Mapping[str, pd.DataFrame] | None, name: str) -> pd.DataFrame | None:
    """The table ``name`` or None when absent."""
    return tables.get(name) if tables is not None else None


def year_rows(tables, name: str, school_year: str, *, required: bool = True) -> pd.DataFrame:
    """The rows of table ``name`` for ``school_year`` (``cohort`` for graduation_cohort).

    Raises NoData when the table is absent or (``required``) has no rows for the year.
    """
    df = get_table(tables, name)
    col = contract.YEAR_COLUMN[name]
    out = df[df[col].astype(str) == school_year]
    if required and out.empty:
        raise NoData(f"no rows for {school_year} in table {name}")
    return out


def options_or_default(options: Options | None) -> Options:
    return options if options is not None else Options()


# ---- group labels -------------------------------------------------------------------------------

def grade_number(grade: pd.Series) -> pd.Series:
    """Grades as numbers (K = 0), whether the loader gave ints or text."""
    if pd.api.types.is_numeric_dtype(grade):
        return grade
    text = grade.astype(str).str.strip().str.upper().replace({"K": "0"})
    return pd.to_numeric(text, errors="coerce")


def grade_band(grade: pd.Series) -> pd.Series:
    """elementary K-5, middle 6-8, high 9-12 (missing grade -> missing band)."""
    g = grade_number(grade)
    band = np.select([g <= 5, g <= 8, g <= 12], ["elementary", "middle", "high"], default="")
    out = pd.Series(band, index=grade.index, dtype="object")
    return out.where(g.notna() & (out != ""), None).astype("str")


def _bool_label(s: pd.Series) -> pd.Series:
    """Booleans (or their text) as the group labels 'true'/'false'."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "true", False: "false"}).astype("str")
    text = s.astype(str).str.strip().str.lower()
    return text.map({"true": "true", "false": "false", "1": "true", "0": "false", "yes": "true",
                     "no": "false"}).astype("str")


def label_groups(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``df`` whose group columns hold text labels (grade_band derived from grade).

    Columns ``df`` cannot provide (e.g. disability for staff) are left out.
    """
    out = df.copy()
    for col in columns:
        if col == "grade_band":
            if "grade" in out.columns:
                out["grade_band"] = grade_band(out["grade"])
        elif col in contract.BOOL_GROUP_COLUMNS:
            if col in out.columns:
                out[col] = _bool_label(out[col])
        elif col in out.columns:
            out[col] = out[col].astype("str")
    return out


def enrollment_rows(tables, years: str | list[str], population=None,
                    groups: Iterable[str] = ()) -> pd.DataFrame:
    """Enrollment rows of the year(s) with group labels, restricted to ``population``.

    ``population`` is a plan.Population (grade_band list) or None. Raises NoData when enrollment is
    absent or has no rows for the year(s).
    """
    years = [years] if isinstance(years, str) else list(years)
    enr = get_table(tables, "enrollment")
    enr = enr[enr["school_year"].astype(str).isin(years)]
    if enr.empty:
        raise NoData(f"no rows for {years[-1] if len(years) == 1 else ', '.join(years)} "
                     f"in table enrollment")
    need = set(groups) | ({"grade_band"} if population is not None and
                          population.grade_band else set())
    enr = label_groups(enr, need)
    if population is not None and population.grade_band:
        enr = enr[enr["grade_band"].isin(list(population.grade_band))]
    return enr


def _one_row_per_student(enr: pd.DataFrame, first_keys: list[str], ascending: list[bool]):
    order = enr.sort_values(first_keys + ["student_id"], ascending=ascending + [True],
                            kind="stable")
    return order.drop_duplicates("student_id", keep="first")


def student_groups(tables, school_year: str, groups: Iterable[str]) -> pd.DataFrame | None:
    """One row per student enrolled in ``school_year``: student_id and the group labels.

    The row with the most days enrolled stands for a student enrolled in two buildings. None when
    enrollment is absent (the kind then reports the ``all`` rows only).
    """
    groups = list(groups)
    enr = maybe_table(tables, "enrollment")
    if enr is None or not groups:
        return None
    enr = enr[enr["school_year"].astype(str) == school_year]
    enr = _one_row_per_student(enr, ["days_enrolled", "building_id"], [False, True])
    enr = label_groups(enr, groups)
    return enr[["student_id", *[g for g in groups if g in enr.columns]]]


def student_groups_latest(tables, school_year: str, groups: Iterable[str]) -> pd.DataFrame | None:
    """Like ``student_groups``, but a student with no enrollment in ``school_year`` takes their latest
    enrollment row before it (or, failing that, their latest row at all). Used for graduation
    cohorts, whose students may have left before the cohort year."""
    groups = list(groups)
    enr = maybe_table(tables, "enrollment")
    if enr is None or not groups:
        return None
    enr = enr.assign(_year=enr["school_year"].astype(str))
    # 0: the cohort year itself, 1: an earlier year, 2: a later year; then the latest year.
    enr["_pref"] = np.where(enr["_year"] == school_year, 0,
                            np.where(enr["_year"] < school_year, 1, 2))
    enr = _one_row_per_student(enr, ["_pref", "_year", "days_enrolled"], [True, False, False])
    enr = label_groups(enr, groups)
    return enr[["student_id", *[g for g in groups if g in enr.columns]]]


def attach_groups(units: pd.DataFrame, groups_by_student: pd.DataFrame | None,
                  key: str = "student_id") -> pd.DataFrame:
    """Left-join the group labels onto units by student_id (no match: groups missing, so the unit
    counts in the ``all`` rows only)."""
    if groups_by_student is None:
        return units
    labels = groups_by_student.rename(columns={"student_id": key})
    keep = [c for c in units.columns if c == key or c not in labels.columns]
    return units[keep].merge(labels, on=key, how="left")


def staff_groups(staff: pd.DataFrame | None, school_year: str,
                 groups: Iterable[str]) -> pd.DataFrame | None:
    """One row per staff member of the year: staff_id and their own race_ethnicity/gender labels
    (the only groups a staff member has). None when there is nothing to attach."""
    cols = [g for g in groups if g in STAFF_GROUP_COLUMNS]
    if staff is None or not cols:
        return None
    st = staff[staff["school_year"].astype(str) == school_year]
    st = st.sort_values(["staff_id", "building_id"], kind="stable").drop_duplicates("staff_id")
    st = label_groups(st, cols)
    return st[["staff_id", *cols]]


# ---- tabulation ---------------------------------------------------------------------------------

def tabulate(units: pd.DataFrame, groups: Iterable[str], sums: list[str],
             district: pd.DataFrame | None = None, distinct: Mapping[str, str] | None = None,
             buildings: bool = True) -> pd.DataFrame:
    """Sum the unit columns ``sums`` into the cells of section 6.

    ``units``: rows per person and building (columns building_id, group labels, ``sums``);
    ``district``: rows per person for the district (defaults to ``units``: right when a person has
    one row); ``distinct``: {output column: unit column} counted as distinct values per cell (e.g.
    {'n': 'student_id'}). Groups missing from ``units`` are skipped; a unit whose label is missing
    counts in ``all`` only. Returns building_id, group_by, group, the sums, the distinct counts and,
    for each sum, ``<sum>_others`` (the building's all-cell minus the group's cell; NaN on ``all``
    rows), ordered district first, then buildings, ``all`` first, then groups in the order listed.
    """
    distinct = dict(distinct or {})
    district = units if district is None else district
    frames = [district.assign(building_id=DISTRICT)]
    if buildings:
        frames.append(units)
    both = pd.concat(frames, ignore_index=True)
    both["building_id"] = both["building_id"].astype("str")
    groups = [g for g in groups if g in both.columns]

    def agg(by: list[str]) -> pd.DataFrame:
        g = both.groupby(by, sort=False, dropna=True)
        out = g[sums].sum() if sums else pd.DataFrame(index=g.size().index)
        for name, col in distinct.items():
            out[name] = g[col].nunique()
        return out.reset_index()

    cells = agg(["building_id"]).assign(group_by=ALL, group=ALL)
    parts = [cells]
    for col in groups:
        part = agg(["building_id", col]).rename(columns={col: "group"})
        parts.append(part.assign(group_by=col))
    out = pd.concat(parts, ignore_index=True)
    out["group"] = out["group"].astype("str")

    totals = cells.set_index("building_id")
    is_group = out["group_by"] != ALL
    for col in sums:
        whole = out["building_id"].map(totals[col])
        out[f"{col}_others"] = np.where(is_group, whole - out[col], np.nan).astype("float64")

    gorder = {g: i for i, g in enumerate([ALL, *groups])}
    out["_b"] = out["building_id"] != DISTRICT
    out["_g"] = out["group_by"].map(gorder)
    out = out.sort_values(["_b", "building_id", "_g", "group"], kind="stable")
    return out.drop(columns=["_b", "_g"]).reset_index(drop=True)


def ratio(num, den) -> np.ndarray:
    """num / den as floats, NaN where den is 0."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def finish(cells: pd.DataFrame) -> pd.DataFrame:
    """The kind's rows in ROW_COLUMNS order and types (n Int64, numbers float, note text)."""
    out = pd.DataFrame(index=cells.index)
    for col in ROW_COLUMNS:
        s = cells[col] if col in cells.columns else pd.Series(np.nan, index=cells.index)
        if col in ("building_id", "group_by", "group"):
            out[col] = s.astype("str")
        elif col == "n":
            out[col] = pd.to_numeric(s).round().astype("Int64")
        elif col == "note":
            out[col] = s.astype("object").where(s.notna(), None)
        else:
            out[col] = pd.to_numeric(s).astype("float64")
    return out.reset_index(drop=True)


def pct(x: float) -> str:
    """0.123 -> '12.3%' (for notes)."""
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def collapse(units: pd.DataFrame, key: str | list[str], how: Mapping[str, str],
             labels: Iterable[str] = (), order_by: str | None = "days_enrolled") -> pd.DataFrame:
    """One row per ``key`` (e.g. per student for the district row): the columns of ``how``
    aggregated as given ('sum', 'max', 'first'), the ``labels`` (and building_id) taken from the row
    with the largest ``order_by`` (the enrollment with the most days)."""
    keys = [key] if isinstance(key, str) else list(key)
    if order_by is not None and order_by in units.columns:
        units = units.sort_values(order_by, ascending=False, kind="stable")
    agg = dict(how)
    for col in [*labels, "building_id"]:
        if col in units.columns and col not in keys and col not in agg:
            agg[col] = "first"
    return units.groupby(keys, sort=False).agg(agg).reset_index()
