"""The validator: reads every file, runs the per-table and cross-table checks, and types the
valid tables. Its parts live by concern in ``reading``, ``table_checks`` and ``cross_checks``;
this module holds the run, the reporting of rows and the typed output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import contract
from .cross_checks import CrossChecks
from .reading import ReadingChecks, _File
from .report import MAX_EXAMPLES, Problem
from .table_checks import TableChecks, _Column


class _Validator(ReadingChecks, TableChecks, CrossChecks):
    def __init__(self, data_dir: Path, plan=None, years: list[str] | None = None,
                 typed: bool = True):
        self.data_dir = data_dir
        self.plan = plan
        self.years = years
        self.typed = typed                     # False: check only, no typed frames
        self.problems: list[Problem] = []
        self.frames: dict[str, pd.DataFrame] = {}
        self.cols: dict[str, dict[str, _Column]] = {}
        self.hashes: dict[str, str] = {}
        self.row_counts: dict[str, int] = {}
        self.failed: set[str] = set()          # tables whose rows could not all be checked

    # -- reporting ---------------------------------------------------------------------------
    def add(self, file: str, message: str, hint: str = "", row=None, column=None, value=None,
            severity: str = "error") -> None:
        self.problems.append(Problem(file, row, column, value, message, hint, severity))

    def rows(self, f: _File, column: str | None, mask, message, hint: str = "",
             values: pd.Series | None = None, severity: str = "error") -> int:
        """Report the rows where ``mask`` is true: a few examples and a count of the rest.

        ``message`` is a text or a function of the (raw) value giving the text.
        """
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(idx):
            return 0
        if severity == "error":
            self.failed.add(f.table)
        if values is None and column is not None and f.raw is not None and column in f.raw:
            values = f.raw[column]
        ex = idx[:MAX_EXAMPLES]
        lines = f.lines(ex)
        for i, line in zip(ex, lines):
            value = None if values is None else str(values.iloc[i])
            msg = message(value) if callable(message) else message
            self.problems.append(Problem(f.name, int(line), column, value, msg, hint, severity))
        rest = len(idx) - len(ex)
        if rest:
            more = f.lines(idx[len(ex):len(ex) + 5])
            shown = ", ".join(str(int(x)) for x in more)
            if rest > len(more):
                shown += f" and {rest - len(more):,} more"
            generic = message(None) if callable(message) else message
            self.problems.append(Problem(
                f.name, None, column, None,
                f"{rest:,} more line{'s' * (rest != 1)} with the same problem "
                f"({generic.rstrip('.')}): line{'s' * (rest != 1)} {shown}", "", severity,
                count=rest))
        return len(idx)

    # -- the run -------------------------------------------------------------------------------
    def run(self, wanted: list[str], check_strays: bool) -> None:
        files: dict[str, _File] = {}
        for table in wanted:
            try:
                f = self.read(table)
            except OSError as e:
                self.add(f"{table}.csv", f"the file cannot be read ({e.strerror or e})",
                         "check that it is a readable file (permissions, not open and locked "
                         "in another program)")
                self.failed.add(table)
                continue
            if f is not None:
                files[table] = f
        if check_strays:
            self.strays()
        for table in ("buildings", "enrollment"):
            if table in wanted and table not in files and table not in self.failed:
                self.add(f"{table}.csv", f"{table}.csv is missing; it is required (every other "
                         f"table refers to its {'buildings' if table == 'buildings' else 'students'})",
                         f"put {table}.csv in {self.data_dir} (columns: "
                         f"{', '.join(contract.TABLES[table]['columns'])})")
                self.failed.add(table)
        for table, f in files.items():
            self.check_table(f)
        self.cross_checks(files)
        for table, f in files.items():
            if table not in self.failed and self.typed:
                self.frames[table] = self.typed_frame(f, self.years)
            f.raw = None                      # free each raw table as soon as it is typed
            self.cols.pop(table, None)
            pa.default_memory_pool().release_unused()

    # -- output ------------------------------------------------------------------------------------
    def typed_frame(self, f: _File, years: list[str] | None = None) -> pd.DataFrame:
        """The table with contract dtypes: text columns as categoricals with their values sorted,
        except the identifiers of people and events (``PER_PERSON``), which are pandas str;
        empty cells are NaN.

        years: keep only the rows of these school years (rows are dropped before the text is
        decoded, so a one-year load of a six-year file costs about a sixth).
        """
        cols = self.cols[f.table]
        names = list(contract.TABLES[f.table]["columns"])
        year_col = contract.YEAR_COLUMN[f.table]
        take = None
        if years is not None and year_col and f.table != "graduation_cohort":
            yc = cols[year_col]
            take = np.flatnonzero(np.isin(yc.uniques, years)[yc.codes])
        ids = [c for c in names if cols[c].typed is None and c in PER_PERSON]
        decoded = pa.table({c: _decode(f.raw[c], cols[c].missing, take) for c in ids}) \
            .to_pandas() if ids else None
        out = {}
        for col in names:
            c = cols[col]
            if col in ids:
                out[col] = decoded[col]
            elif c.typed is None:
                out[col] = _categorical(f.raw[col], c.missing, take)
            else:
                typed = c.typed if take is None else c.typed.iloc[take]
                out[col] = typed.reset_index(drop=True)
        return pd.DataFrame(out)


#: text columns with about one value per person or event: a dictionary of their values would be
#: as large as the column, and they are what the kinds join tables on, so they stay pandas str.
#: Every other text column (years, codes, buildings, items...) holds few distinct values and is a
#: categorical: at 50,000 students the survey answers take 0.3 GB instead of 0.8 GB, and the
#: kinds' group-bys run on the codes.
PER_PERSON = frozenset({"student_id", "respondent_id", "staff_id", "incident_id"})


def _categorical(s: pd.Series, missing: np.ndarray, take: np.ndarray | None = None) -> pd.Series:
    """A text column read as a dictionary -> a categorical of the values it holds, sorted (so that
    sorting by it orders the rows as the text would), empty cells as NaN; only the rows ``take``
    when given."""
    if take is not None:
        s, missing = s.iloc[take], missing[take]
    if not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype("category")
    codes = s.cat.codes.to_numpy().astype(np.int64)
    codes[missing] = -1
    values = np.asarray(s.cat.categories, dtype=object)
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(values)))
    order = used[np.argsort(values[used].astype(str), kind="stable")]
    remap = np.full(len(values) + 1, -1, dtype=np.int64)   # (the last entry: missing stays -1)
    remap[order] = np.arange(len(order))
    categories = pd.Index(values[order].astype(str), dtype="str")
    return pd.Series(pd.Categorical.from_codes(remap[codes], categories), name=s.name)


def _decode(s: pd.Series, missing: np.ndarray, take: np.ndarray | None = None) -> pa.Array:
    """A categorical text column -> an arrow large_string array, empty cells as nulls (NaN);
    only the rows ``take`` when given."""
    if take is not None:
        s, missing = s.iloc[take], missing[take]
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return pa.array(s.to_numpy(dtype=object), type=pa.large_string(), mask=missing)
    indices = pa.array(s.cat.codes.to_numpy(), mask=missing if missing.any() else None)
    dictionary = pa.array(np.asarray(s.cat.categories, dtype=object), type=pa.large_string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.large_string())
