"""One contract table from its raw exports: stack, join, filter, then fill each contract column.

``build_table`` follows a ``TableMapping``: it stacks the files its glob finds, joins the second
file (one row per key), keeps the rows of the ``where`` filter, and turns each column rule into
the contract's text (renames, constants, recodes with ``drop`` and ``others``, ``sum_of``, school
years from dates or year numbers). Work is done on the distinct values of each column
(Categoricals), never per row in Python; per row there are only integer codes, each in the
smallest type its categories allow (a 7-million-row table costs some 100 MB, not gigabytes).

Values the rules do not turn into a valid contract value (a code the recode does not list, a year
that cannot be read, an empty required cell) are not dropped: they come back as ``Uncovered``
findings with their counts, and the importer reports them all in one error.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract
from ..errors import PlanMetricsError
from . import sources, values
from .mapping import DROP, ColumnRule, Mapping, MappingError, TableMapping

_EMPTY, _DROPPED, _UNCOVERED = -1, -2, -3
MAX_SHOWN = 8


@dataclass
class Uncovered:
    """Source values of one column the mapping does not cover, with their row counts."""
    table: str
    column: str
    where: str                          # the rule's YAML location
    origin: str                         # 'FederalRace in students.xlsx'
    found: list[tuple[str, int, str]]   # (value, rows, reason)

    def text(self) -> str:
        shown = "; ".join(f"'{v}' ({n:,} row{'s' * (n != 1)}): {why}"
                          for v, n, why in self.found[:MAX_SHOWN])
        more = len(self.found) - MAX_SHOWN
        return (f"{self.table}.{self.column} from {self.origin} [{self.where}]: {shown}"
                + (f"; and {more} more value{'s' * (more != 1)}" if more > 0 else ""))


@dataclass
class TableResult:
    """A contract table as text Categoricals, in contract column order, and what happened."""
    table: str
    columns: dict[str, pd.Categorical]
    files: list[Path]
    rows_read: int
    dropped_where: int
    dropped_recode: int
    uncovered: list[Uncovered] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def build_table(tm: TableMapping, mapping: Mapping, source_dir: Path) -> TableResult:
    """Read, join, filter and map one table (see the module docstring)."""
    from_where = mapping.where(f"{tm.path}.from")
    mains = [sources.open_source(p, from_where, tm.sheet, tm.encoding)
             for p in sources.find_files(source_dir, tm.pattern, from_where)]
    joins = []
    if tm.join is not None:
        jwhere = mapping.where(f"{tm.join.path}.from")
        joins = [sources.open_source(p, jwhere, tm.join.sheet, tm.join.encoding)
                 for p in sources.find_files(source_dir, tm.join.pattern, jwhere)]
    main_cols, join_cols = _origins(tm, mapping, mains, joins)
    frame = sources.read_all(mains, main_cols)
    rows_read = len(frame)
    if joins:
        frame = _join(tm, mapping, frame, mains, joins, join_cols)
    keep_where = _where(tm, mapping, frame)
    if keep_where is not None:
        frame = frame.loc[keep_where].reset_index(drop=True)
    dropped_where = rows_read - len(frame)
    n = len(frame)
    spec = contract.TABLES[tm.table]["columns"]
    mapped: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    drop = np.zeros(n, dtype=bool)
    origin_of = {}
    for col in spec:
        rule = tm.columns.get(col)
        if rule is None:
            mapped[col] = (np.asarray([], dtype=object), np.full(n, _EMPTY, dtype=np.int8), None)
            continue
        cats, codes, reasons, origin = _fill(rule, frame, mains, joins)
        origin_of[col] = origin
        drop |= codes == _DROPPED
        mapped[col] = (cats, codes, reasons)
    keep = ~drop
    uncovered = []
    for col, (cats, codes, reasons) in mapped.items():
        if reasons is None:
            continue
        bad = keep & (codes == _UNCOVERED)
        if bad.any():
            rule = tm.columns[col]
            found = _count_uncovered(rule, frame, bad, reasons)
            uncovered.append(Uncovered(tm.table, col, mapping.where(rule.path), origin_of[col],
                                       found))
    columns = {}
    keep_all = not drop.any()
    for col in list(mapped):          # a column at a time: its row codes are freed once it is built
        cats, codes, _ = mapped.pop(col)
        kept = codes if keep_all else codes[keep]
        del codes
        np.maximum(kept, -1, out=kept)    # empty -> missing (the importer's own array, not a view)
        if len(cats):
            columns[col] = pd.Categorical.from_codes(
                kept.astype(sources.code_dtype(len(cats)), copy=False),
                categories=_unique_index(cats))
        else:
            columns[col] = pd.Categorical.from_codes(np.full(len(kept), -1, dtype=np.int8),
                                                     categories=[])
    del frame
    sources.forget_sheets()
    return TableResult(tm.table, columns, [s.path for s in mains] + [s.path for s in joins],
                       rows_read, dropped_where, int(drop.sum()), uncovered)


def _unique_index(cats: np.ndarray) -> pd.Index:
    return pd.Index(np.asarray(cats, dtype=object), dtype=object)


# ---- where each source column comes from --------------------------------------------------------

def _where_names(where: str | None, header: list[str]) -> list[str]:
    if not where:
        return []
    out = []
    for col in header:
        if f"`{col}`" in where or re.search(rf"(?<![\w`'\"]){re.escape(col)}(?![\w`'\"])", where):
            out.append(col)
    return out


def _origins(tm: TableMapping, mapping: Mapping, mains, joins) -> tuple[list[str], list[str]]:
    """Source columns to read from the main files and from the joined files."""
    in_all = lambda srcs, c: all(c in s.header for s in srcs)   # noqa: E731
    main_cols, join_cols = [], []
    if tm.join is not None:
        for key in tm.join.on:
            for group, what in ((mains, "the table's files"), (joins, "the joined file")):
                lacking = [s for s in group if key not in s.header]
                if lacking:
                    raise _missing_column(key, lacking[0], mapping.where(f"{tm.join.path}.on"))
            main_cols.append(key)
            join_cols.append(key)
    for rule in tm.columns.values():
        for c in rule.source_columns():
            if c in main_cols or c in join_cols:
                continue
            if in_all(mains, c):
                main_cols.append(c)
            elif joins and in_all(joins, c):
                join_cols.append(c)
            else:
                lacking = next(s for s in mains if c not in s.header)
                if joins and any(c in s.header for s in joins):
                    lacking = next(s for s in joins if c not in s.header)
                raise _missing_column(c, lacking, mapping.where(rule.path), joins)
    for c in _where_names(tm.where, mains[0].header):
        if c not in main_cols and in_all(mains, c):
            main_cols.append(c)
    for c in _where_names(tm.where, joins[0].header if joins else []):
        if c not in main_cols and c not in join_cols and in_all(joins, c):
            join_cols.append(c)
    return main_cols, join_cols


def _missing_column(col: str, src, yaml_where: str, joins=()) -> PlanMetricsError:
    near = difflib.get_close_matches(col, src.header, n=1, cutoff=0.6)
    if not near:
        lower = {h.lower().replace(" ", "").replace("_", ""): h for h in src.header}
        hit = lower.get(col.lower().replace(" ", "").replace("_", ""))
        near = [hit] if hit else []
    also = f" (nor in {joins[0].path.name})" if joins and src not in joins else ""
    return MappingError(
        f"Column {col!r} is not in {src.path.name}{also}", yaml_where,
        (f"did you mean {near[0]!r}? " if near else "") +
        f"the columns of {src.path.name} are {', '.join(src.header)}")


# ---- join ---------------------------------------------------------------------------------------

def _key_codes(frame: pd.DataFrame, on, categories: list[pd.Index]) -> np.ndarray:
    """Rows' key as one int64 per row, from each key column's position in ``categories``
    (-1 where a value is not there)."""
    combined = np.zeros(len(frame), dtype=np.int64)
    absent = np.zeros(len(frame), dtype=bool)
    for col, cats in zip(on, categories):
        s = frame[col]
        pos = cats.get_indexer(s.cat.categories)[s.cat.codes.to_numpy()]
        absent |= pos < 0
        combined = combined * (len(cats) + 1) + (pos + 1)
    combined[absent] = -1
    return combined


def _join(tm: TableMapping, mapping: Mapping, frame: pd.DataFrame, mains, joins,
          join_cols: list[str]) -> pd.DataFrame:
    on = list(tm.join.on)
    other = sources.read_all(joins, join_cols)
    jname = joins[0].path.name if len(joins) == 1 else f"the files of {tm.join.pattern!r}"
    mname = mains[0].path.name if len(mains) == 1 else f"the files of {tm.pattern!r}"
    cats = [pd.Index(other[c].cat.categories, dtype=object) for c in on]
    jkey = _key_codes(other, on, cats)
    dup = pd.Series(jkey).duplicated(keep=False).to_numpy()
    if dup.any():
        reps = other.loc[dup, on].astype(str).agg(" / ".join, axis=1).value_counts()
        shown = ", ".join(f"'{k}' ({v} rows)" for k, v in reps.head(5).items())
        raise MappingError(
            f"{jname} has {len(reps):,} {' / '.join(on)} value{'s' * (len(reps) != 1)} on more "
            f"than one row (e.g. {shown}), so the join would repeat rows of {mname}",
            mapping.where(f"{tm.join.path}.on"),
            f"the joined file must have one row per {' / '.join(on)}: remove the repeated rows "
            f"in the export, or join on more columns (on: [...])")
    mkey = _key_codes(frame, on, cats)
    pos = pd.Index(jkey).get_indexer(mkey)
    pos[mkey < 0] = -1
    missing = pos < 0
    if missing.any():
        vals = frame.loc[missing, on].astype(str).agg(" / ".join, axis=1).value_counts()
        shown = ", ".join(f"'{k}'" for k in vals.index[:5])
        n_missing = int(missing.sum())
        raise MappingError(
            f"{n_missing:,} row{'s' * (n_missing != 1)} of {mname} "
            f"({len(vals):,} distinct {' / '.join(on)}, e.g. {shown}) ha"
            f"{'ve' if n_missing != 1 else 's'} no row in {jname}",
            mapping.where(f"{tm.join.path}.on"),
            f"add them to {jname} (the export may be older than {mname}), or leave those rows "
            f"out with a where: filter")
    out = {c: frame[c] for c in frame.columns}
    for c in join_cols:
        if c in on:
            continue
        s = other[c]
        out[c] = pd.Categorical.from_codes(s.cat.codes.to_numpy()[pos], dtype=s.dtype)
    return pd.DataFrame(out, copy=False)


# ---- where ----------------------------------------------------------------------------------------

def _where(tm: TableMapping, mapping: Mapping, frame: pd.DataFrame) -> np.ndarray | None:
    if not tm.where:
        return None
    yaml_where = mapping.where(f"{tm.path}.where")
    fix = ("write it in pandas query syntax with the source's column names (in backticks when "
           "they hold spaces) and texts in quotes, e.g. \"Status != 'Withdrawn'\"; the columns "
           "read are " + ", ".join(frame.columns))
    try:
        mask = frame.eval(tm.where, engine="python")
    except Exception as e:   # pandas raises NameError, SyntaxError, TypeError, ValueError, ...
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, NameError) or "not defined" in detail:
            detail += " (a column of that name was not read: check its spelling)"
        raise MappingError(f"The row filter {tm.where!r} cannot be applied: {detail}",
                           yaml_where, fix) from None
    if not isinstance(mask, pd.Series) or mask.dtype != bool or len(mask) != len(frame):
        raise MappingError(f"The row filter {tm.where!r} does not give true or false for each "
                           f"row", yaml_where, fix)
    return mask.to_numpy()


# ---- one column ---------------------------------------------------------------------------------

def _describe(col: str, mains, joins) -> str:
    if joins and all(col in s.header for s in joins) and not all(col in s.header for s in mains):
        srcs = joins
    else:
        srcs = mains
    name = srcs[0].path.name if len(srcs) == 1 else f"{len(srcs)} files ({srcs[0].path.name}, ...)"
    return f"{col} in {name}"


def _fill(rule: ColumnRule, frame: pd.DataFrame, mains, joins):
    """(categories, row codes, reasons per source category or None, origin text).

    Row codes index the categories, or are _EMPTY / _DROPPED / _UNCOVERED.
    """
    kind, codes, required = contract.TABLES[rule.table]["columns"][rule.column]
    n = len(frame)
    if rule.value is not None:
        text = values.normalize(kind, codes, rule.value) if rule.value else ""
        return (np.asarray([text], dtype=object),
                np.zeros(n, dtype=np.int8) if text else np.full(n, _EMPTY, dtype=np.int8),
                None, f"the constant {rule.value!r}")
    if rule.sum_of:
        return _sum_of(rule, frame, kind, codes, required, mains, joins)
    col = rule.source or rule.from_date or rule.from_year
    s = frame[col]
    if kind in ("id", "str") and rule.source and rule.recode is None and rule.others is None:
        return (*_pass_through(s, required), _describe(col, mains, joins))
    src_cats = [str(c) for c in s.cat.categories]
    out: list[object] = []
    for u in src_cats:
        out.append(_one_value(rule, kind, codes, required, u))
    return (*_encode(out, s.cat.codes.to_numpy()), _describe(col, mains, joins))


def _pass_through(s: pd.Series, required: bool):
    """An id or text column read as it is, vectorized (an id column may have a million distinct
    values): only its empty cells need a rule."""
    cats = np.asarray(s.cat.categories, dtype=object)
    empty = cats == ""
    cmap = np.arange(len(cats), dtype=sources.code_dtype(len(cats)))
    cmap[empty] = _UNCOVERED if required else _EMPTY
    reasons = [None] * len(cats)
    for i in np.flatnonzero(empty):
        reasons[i] = "empty, and the column is required"
    codes = s.cat.codes.to_numpy()
    rows = cmap[codes] if len(cmap) else np.full(len(codes), _EMPTY, dtype=np.int8)
    return cats, rows, reasons


class _Bad(str):
    """A reason a source value is not covered (a str subclass to tell it from a value)."""


def _one_value(rule: ColumnRule, kind, codes, required, u: str):
    if rule.recode is not None:
        if u in rule.recode:
            t = rule.recode[u]
        elif rule.others is not None:
            t = rule.others
        elif u == "":
            t = ""
        else:
            return _Bad("not in the recode")
    elif rule.others is not None and u != "":
        t = u if values.check(kind, codes, u) is None else rule.others
    else:
        t = u
    if t == DROP:
        return DROP
    try:
        if rule.from_date is not None:
            t = _school_year_of_date(t, rule.date_format) if t else ""
        elif rule.from_year is not None:
            t = _school_year_of_number(t, rule.year) if t else ""
        elif rule.date_format is not None and t:
            t = _iso_date(t, rule.date_format)
        t = values.normalize(kind, codes, t.strip() if kind not in ("str", "id") else t)
    except ValueError as e:
        return _Bad(str(e))
    if t == "" and required:
        return _Bad("empty, and the column is required")
    return t


def _encode(out: list, src_codes: np.ndarray):
    """Per-source-category results -> (categories, row codes, reasons per source category)."""
    cats: list[str] = []
    index: dict[str, int] = {}
    cmap = np.empty(len(out), dtype=sources.code_dtype(len(out)))   # as many categories at most
    reasons: list[str | None] = []
    for i, t in enumerate(out):
        reasons.append(None)
        if isinstance(t, _Bad):
            cmap[i] = _UNCOVERED
            reasons[i] = str(t)
        elif t == DROP:
            cmap[i] = _DROPPED
        elif t == "":
            cmap[i] = _EMPTY
        else:
            if t not in index:
                index[t] = len(cats)
                cats.append(t)
            cmap[i] = index[t]
    rows = cmap[src_codes] if len(cmap) else np.full(len(src_codes), _EMPTY, dtype=np.int8)
    return np.asarray(cats, dtype=object), rows, reasons


def _count_uncovered(rule: ColumnRule, frame, bad: np.ndarray, reasons) -> list:
    if rule.sum_of:
        return reasons(bad)
    col = rule.source or rule.from_date or rule.from_year
    s = frame[col]
    counts = np.bincount(s.cat.codes.to_numpy()[bad], minlength=len(s.cat.categories))
    found = [(str(s.cat.categories[i]), int(counts[i]), reasons[i])
             for i in np.flatnonzero(counts)]
    return sorted(found, key=lambda x: -x[1])


def _sum_of(rule: ColumnRule, frame, kind, codes, required, mains, joins):
    n = len(frame)
    total = np.zeros(n, dtype=float)
    seen = np.zeros(n, dtype=bool)
    bad_rows = np.zeros(n, dtype=bool)
    bad_info = []     # (column, per-category bad flags)
    for col in rule.sum_of:
        s = frame[col]
        cats = pd.Series(np.asarray(s.cat.categories, dtype=object))
        stripped = cats.str.strip()
        num = pd.to_numeric(stripped.where(stripped != ""), errors="coerce").to_numpy(float)
        bad_cat = (stripped != "").to_numpy() & (~np.isfinite(num) | (num < 0))
        c = s.cat.codes.to_numpy()
        v = num[c] if len(num) else np.zeros(n)
        ok = np.isfinite(v)
        total += np.where(ok, v, 0.0)
        seen |= ok
        bad_rows |= bad_cat[c] if len(bad_cat) else False
        bad_info.append((col, s, bad_cat))
    result = np.where(seen, total, np.nan)
    uniq, inv = np.unique(result, return_inverse=True)
    out: list[object] = []
    for x in uniq:
        if np.isnan(x):
            out.append(_Bad("empty, and the column is required") if required else "")
            continue
        try:
            out.append(values.normalize(kind, codes, values.number_text(x)))
        except ValueError as e:
            out.append(_Bad(f"the sum {values.number_text(x)} is {e}"))
    cats, rows, reasons = _encode(out, inv.reshape(-1))
    rows[bad_rows] = _UNCOVERED
    origin = " + ".join(rule.sum_of) + " in " + _describe(rule.sum_of[0], mains, joins) \
        .split(" in ", 1)[1]

    def count(bad: np.ndarray):
        found = []
        for col, s, bad_cat in bad_info:
            codes_ = s.cat.codes.to_numpy()[bad]
            counts = np.bincount(codes_, minlength=len(s.cat.categories))
            for i in np.flatnonzero(counts):
                if bad_cat[i]:
                    found.append((f"{col}={s.cat.categories[i]}", int(counts[i]),
                                  "not a number 0 or more"))
        rest = bad & ~bad_rows
        if rest.any():
            r = np.bincount(inv.reshape(-1)[rest], minlength=len(uniq))
            for i in np.flatnonzero(r):
                found.append((values.number_text(uniq[i]) if np.isfinite(uniq[i]) else "",
                              int(r[i]), reasons[i] or ""))
        return sorted(found, key=lambda x: -x[1])
    return cats, rows, count, origin


# ---- school years and dates -------------------------------------------------------------------------

def _parse_date(text: str, fmt: str | None) -> dt.date:
    t = text.strip()
    try:
        if fmt:
            return dt.datetime.strptime(t, fmt).date()
        return dt.date.fromisoformat(t[:10])
    except ValueError:
        raise ValueError(f"not a date{' in the format ' + fmt if fmt else ' YYYY-MM-DD'} "
                         f"(give format: for the source's dates)" if not fmt else
                         f"does not match the format {fmt!r}") from None


def _iso_date(text: str, fmt: str) -> str:
    return _parse_date(text, fmt).isoformat()


def _school_year_of_date(text: str, fmt: str | None) -> str:
    """A date -> the school year it falls in (a school year starts on July 1)."""
    d = _parse_date(text, fmt)
    return contract.format_school_year(d.year if d.month >= 7 else d.year - 1)


_SPAN = re.compile(r"^(\d{4})\s*[-/]\s*(\d{2}|\d{4})$")


def _school_year_of_number(text: str, written: str) -> str:
    """'2024' -> '2023-24' (the year it ends; 'starting': the year it starts), '2023-2024' and
    '2023-24' -> '2023-24'."""
    t = text.strip()
    if re.fullmatch(r"\d{4}(\.0+)?", t):
        y = int(float(t))
        return contract.format_school_year(y - 1 if written == "ending" else y)
    m = _SPAN.match(t)
    if m:
        a, b = int(m.group(1)), m.group(2)
        if (a + 1) % (100 if len(b) == 2 else 10000) == int(b):
            return contract.format_school_year(a)
    raise ValueError("not a year (a number like 2024, or 2023-2024)")
