"""Shared machinery of the measure kinds: reading a table for a year, a person's student groups, and
tabulating per-person rows into the cells every kind reports.

A kind builds a *unit frame*: one row per person (or unit) and building, carrying the person's group
labels and the additive quantities its formula needs (e.g. ``answered``, ``favorable``). ``tabulate``
sums those quantities into the cells of section 6 (district ``ALL`` and each building, for ``all`` and
each value of each group_by) and adds, for group rows, the same sums for *all other people of the
same building* (``<column>_others`` = the building's ``all`` cell minus the group's cell), from which
each kind computes its ``comparison_value``. Everything is vectorized (integer codes, ``bincount``,
pandas joins): no Python loop over people. Derived frames that many measures share (a year's
enrollment with its labels, a survey-year's scored answers) are memoized per table object.

Group labels are text (categoricals): race_ethnicity and gender as coded, the yes/no groups as
``true``/``false``, and ``grade_band`` derived from grade (elementary K-5, middle 6-8, high 9-12).
A student's groups come from enrollment of the school year (DESIGN.md section 5: a table joins
enrollment on (school_year, student_id)); a student enrolled in two buildings in a year takes the
groups of the enrollment row with the most days enrolled. Staff populations use the staff member's own
race_ethnicity and gender.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .. import contract, stats
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


def year_rows(tables, name: str, school_year: str, *, required: bool = True,
              cache: bool = True) -> pd.DataFrame:
    """The rows of table ``name`` for ``school_year`` (``cohort`` for graduation_cohort).

    Raises NoData when the table is absent or (``required``) has no rows for the year. The slice is
    memoized per table object and year (see ``memo``); callers never modify it in place.
    """
    df = get_table(tables, name)
    col = contract.YEAR_COLUMN[name]
    if cache:
        out = memo((df,), ("year_rows", school_year), lambda: df[df[col] == school_year])
    else:
        out = df[df[col] == school_year]
    if required and out.empty:
        raise NoData(f"no rows for {school_year} in table {name}")
    return out


# Many measures read the same slices (14 survey measures share one survey-year, every student
# measure the year's enrollment and its group labels), and the engine asks again for earlier years
# to find baselines. ``memo`` keeps derived frames per *source table object*: the key holds the
# id() of the source frames and the entry a weak reference to each, so a table loaded anew (a
# different object) never sees a stale entry, and an entry dies with its table. The contract that
# makes this safe: a table handed to the kinds is not modified in place afterwards (the loader's
# tables never are), and derived frames are never modified in place (pandas copy-on-write).
# The memo is bounded by bytes (least recently used first out), so a long run over many years
# keeps the memory flat: 256 MB, or half the largest source table alive, whichever is more. (A
# fixed bound made a large district recompute what it had just computed: at 200,000 students one
# year's student survey answers take 255 MB, and the surveys notebook went from 7 to 50 s.)
_MEMO: dict[tuple, tuple[list, object, int]] = {}
MEMO_BUDGET_BYTES = 256_000_000
_SOURCES: dict[int, tuple[weakref.ref, int]] = {}   # id -> (the source table, its bytes)


def memo(frames: tuple[pd.DataFrame, ...], key: tuple, build):
    """``build()``, remembered for these source frames and this key."""
    k = (tuple(id(f) for f in frames), key)
    hit = _MEMO.pop(k, None)
    if hit is not None and all(ref() is f for ref, f in zip(hit[0], frames)):
        _MEMO[k] = hit                      # most recently used goes last
        return hit[1]
    value = build()
    try:
        refs = [weakref.ref(f) for f in frames]
    except TypeError:                       # not weak-referenceable: do not remember
        return value
    size = _nbytes(value)
    budget = _budget(frames, refs)
    if size > budget:
        return value
    for old in [x for x, entry in _MEMO.items() if any(r() is None for r in entry[0])]:
        del _MEMO[old]                      # their tables are gone
    while _MEMO and sum(e[2] for e in _MEMO.values()) + size > budget:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[k] = (refs, value, size)
    return value


def _budget(frames: tuple[pd.DataFrame, ...], refs: list[weakref.ref]) -> int:
    """The memo's bound in bytes: MEMO_BUDGET_BYTES, or half the largest source table alive."""
    for f, ref in zip(frames, refs):
        if id(f) not in _SOURCES or _SOURCES[id(f)][0]() is not f:
            _SOURCES[id(f)] = (ref, _nbytes(f))
    for key in [k for k, (ref, _) in _SOURCES.items() if ref() is None]:
        del _SOURCES[key]
    return max([MEMO_BUDGET_BYTES] + [b // 2 for _, b in _SOURCES.values()])


def _nbytes(value) -> int:
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return int(value.memory_usage(index=True, deep=False).sum()) if isinstance(
            value, pd.DataFrame) else int(value.memory_usage(index=True, deep=False))
    return 1_000


def clear_memo() -> None:
    """Forget every memoized frame (tests; long-lived kernels after reloading data)."""
    _MEMO.clear()
    _SOURCES.clear()


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
    """A copy of ``df`` whose group columns hold text labels (grade_band derived from grade), as
    categoricals (tabulating then reads their integer codes instead of hashing text).

    Columns ``df`` cannot provide (e.g. disability for staff) are left out.
    """
    out = df.copy()
    for col in columns:
        if col == "grade_band":
            if "grade" not in out.columns:
                continue
            labels = grade_band(out["grade"])
        elif col not in out.columns:
            continue
        elif col in contract.BOOL_GROUP_COLUMNS:
            labels = _bool_label(out[col])
        else:
            labels = out[col].astype("str")
        out[col] = _categorical(labels, _LABELS.get(col))
    return out


#: Every possible label of each group column: fixed categories keep year frames concatenable.
_LABELS = {"race_ethnicity": contract.RACE_ETHNICITY, "gender": contract.GENDER,
           "grade_band": tuple(contract.GRADE_BANDS), **{c: ("false", "true")
                                                         for c in contract.BOOL_GROUP_COLUMNS}}


def _categorical(labels: pd.Series, known) -> pd.Series:
    if known is not None:
        cat = labels.astype(pd.CategoricalDtype(sorted(known)))
        if not (labels.notna() & cat.isna()).any():
            return cat
    return labels.astype("category")


def labeled_enrollment(tables, school_year: str) -> pd.DataFrame:
    """Enrollment rows of the year with every group label (memoized); empty when none."""
    enr = get_table(tables, "enrollment")
    return memo((enr,), ("labeled", school_year),
                lambda: label_groups(enr[enr["school_year"] == school_year], contract.GROUP_COLUMNS))


def enrollment_rows(tables, years: str | list[str], population=None,
                    groups: Iterable[str] = ()) -> pd.DataFrame:
    """Enrollment rows of the year(s) with group labels (all of them: ``groups`` is accepted for
    readability), restricted to ``population`` (a plan.Population of grade bands, or None).

    Raises NoData when enrollment is absent or has no rows for the year(s).
    """
    years = [years] if isinstance(years, str) else list(years)
    parts = [labeled_enrollment(tables, y) for y in years]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise NoData(f"no rows for {', '.join(years)} in table enrollment")
    enr = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
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
    enrollment is absent or no group is asked for (the kind then reports the ``all`` rows only).
    """
    groups = list(groups)
    enr = maybe_table(tables, "enrollment")
    if enr is None or not groups:
        return None
    per_student = memo((enr,), ("student_groups", school_year), lambda: _one_row_per_student(
        labeled_enrollment(tables, school_year), ["days_enrolled", "building_id"], [False, True]))
    return per_student[["student_id", *groups]]


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
    counts in ``all`` only; a cell exists where at least one unit falls in it. Returns building_id,
    group_by, group, the sums, the distinct counts and, for each sum, ``<sum>_others`` (the
    building's all-cell minus the group's cell; NaN on ``all`` rows), ordered district first, then
    buildings, ``all`` first, then groups in the order listed and their values sorted.

    Implementation: integer codes and ``np.bincount`` (one pass per column and cell family), which
    keeps the per-measure cost near the cost of reading the columns.
    """
    distinct = dict(distinct or {})
    district = units if district is None else district
    groups = [g for g in groups if g in district.columns and (not buildings or g in units.columns)]
    parts = []
    person_codes: dict[int, dict] = {}
    frames = [(district, None)]
    if buildings:
        b_codes, b_names = _codes(units["building_id"])
        frames.append((units, (b_codes, b_names)))
    for group_by in [ALL, *groups]:
        for frame, bld in frames:
            if group_by == ALL:
                g_codes, g_names = np.zeros(len(frame), dtype=np.int64), np.array([ALL], object)
            else:
                g_codes, g_names = _codes(frame[group_by])
            n_g = len(g_names)
            if bld is None:
                key, n_keys = g_codes, n_g
                b_of = np.full(n_g, DISTRICT, dtype=object)
            else:
                key = np.where(g_codes >= 0, bld[0] * n_g + g_codes, -1)
                n_keys = len(bld[1]) * n_g
                b_of = np.repeat(np.asarray(bld[1], dtype=object), n_g)
            if id(frame) not in person_codes:   # the people of each frame, coded once
                person_codes[id(frame)] = {name: _person_codes(frame[col])
                                           for name, col in distinct.items()}
            block = _bincount_block(frame, key, n_keys, sums, person_codes[id(frame)])
            present = block.pop("_rows") > 0
            part = pd.DataFrame({"building_id": b_of[present], "group_by": group_by,
                                 "group": np.tile(g_names, n_keys // max(n_g, 1))[present],
                                 **{c: v[present] for c, v in block.items()}})
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for col in ("building_id", "group_by", "group"):
        out[col] = out[col].astype("str")

    is_all = out["group_by"] == ALL
    totals = out[is_all].set_index("building_id")
    for col in sums:
        whole = out["building_id"].map(totals[col]).to_numpy(dtype="float64")
        out[f"{col}_others"] = np.where(is_all, np.nan, whole - out[col].to_numpy(dtype="float64"))

    gorder = {g: i for i, g in enumerate([ALL, *groups])}
    out["_b"] = out["building_id"] != DISTRICT
    out["_g"] = out["group_by"].map(gorder)
    out = out.sort_values(["_b", "building_id", "_g", "group"], kind="stable")
    return out.drop(columns=["_b", "_g"]).reset_index(drop=True)


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and their labels, sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy(dtype=np.int64)
        return codes, np.asarray(s.cat.categories.astype(str), dtype=object)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _person_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(s)
    return codes.astype(np.int64), max(len(uniques), 1)


def _bincount_block(frame: pd.DataFrame, key: np.ndarray, n_keys: int, sums: list[str],
                    distinct: Mapping[str, tuple[np.ndarray, int]]) -> dict[str, np.ndarray]:
    ok = key >= 0
    k = key[ok]
    out = {"_rows": np.bincount(k, minlength=n_keys)}
    for col in sums:
        w = frame[col].to_numpy(dtype="float64", na_value=0.0)[ok]
        out[col] = np.bincount(k, weights=w, minlength=n_keys)
    for name, (p_codes, width) in distinct.items():
        pairs = np.sort(k * width + p_codes[ok])
        first = np.ones(len(pairs), dtype=bool)
        first[1:] = pairs[1:] != pairs[:-1]
        out[name] = np.bincount(pairs[first] // width, minlength=n_keys)
    return out


def share_of_people(c: pd.DataFrame, met: str) -> pd.DataFrame:
    """Fill the cells of a share of people (tabulated sums ``met`` and ``one``, one per person):
    n = people, numerator/denominator = people meeting the condition / people, value with its
    Wilson interval, comparison_value = the same share among all others of the building."""
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c[met], c["one"]
    c["value"] = ratio(c[met], c["one"])
    c["ci_low"], c["ci_high"] = stats.wilson(c[met], c["one"])
    c["comparison_value"] = ratio(c[f"{met}_others"], c["one_others"])
    return c


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


def pct(x: float, n=None) -> str:
    """0.123 -> '12.3%' (for notes). With ``n`` people behind it, the privacy rule applies: from
    fewer than 100 people an exact 0% or 100% is written as a bound ("< 3%")."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if n is not None and np.isfinite(n) and x in (0.0, 1.0):
        from ..privacy import format_value  # late import: privacy imports the plan model
        return format_value(x, "percent", n)
    return f"{100 * x:.1f}%"


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
