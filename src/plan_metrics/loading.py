"""Load and validate a district's data directory (DESIGN.md section 5; ``plan-metrics validate``).

``load_data(data_dir)`` reads the CSV files ``<table>.csv`` of the data contract
(``contract.TABLES``), checks every file, column and row against it, and returns a typed
``Tables`` mapping. Invalid data never comes back: every problem found (not just the first) is
collected as a ``Problem`` (file, CSV line, column, value, message, hint) and ``load_data`` raises
one ``PlanMetricsError`` whose ``problems`` holds them all. A systematic fault in a large file is
reported once per (file, column, fault) with a few example lines and a count.

Checks are vectorized: pyarrow reads every column dictionary-encoded, only the distinct values
are parsed in Python, keys and joins compare integer codes; a few million rows validate in
seconds. Text columns are decoded to pandas ``str`` at the very end, for the kept rows only.

Severity: a survey response (or a discipline, assessment, program... row) of a student who is not
in ``enrollment.csv`` for that school year is a *warning*, not an error: the row still counts for
the district and the building, but it cannot be broken down by student group. Survey vendors'
rosters often lag the SIS by a few students, and rejecting the whole file for that would block a
board report. Warnings are printed by ``validate`` and kept in ``Tables.warnings``.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from . import contract
from .errors import PlanMetricsError

#: At most this many example lines per (file, column, fault); the rest are counted.
MAX_EXAMPLES = 5
CODE_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
#: Tables whose rows carry a student_id of an enrolled student in the same school year.
_ENROLLED_STUDENT_TABLES = ("survey_responses", "discipline", "assessments", "programs",
                            "progression_rubrics", "service_hours")
#: Every column is read dictionary-encoded: the parser builds each column's distinct values in
#: its threads, so the checks parse distinct values only and never hash millions of strings.
_DICT = pa.dictionary(pa.int32(), pa.large_string())
#: Tables a loaded table needs for its cross-table checks.
_NEEDS = {"survey_responses": ("survey_items",)}


@dataclass(frozen=True)
class Problem:
    """One finding. ``row`` is the 1-based line in the CSV file (the header is line 1).

    ``count`` is 1 for a single finding; a summary line standing for more findings of the same
    kind has ``row`` None and ``count`` the number of lines it stands for.
    """
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    hint: str = ""
    severity: str = "error"          # "error" or "warning"
    count: int = 1

    def __str__(self) -> str:
        return self.text()

    def text(self, hint: bool = True) -> str:
        """"file:line: column 'x' value 'y': message. hint" (hint left out when asked)."""
        where = self.file + (f":{self.row}" if self.row is not None else "")
        what = []
        if self.column is not None:
            plural = "s" if ", " in self.column else ""     # a key of several columns
            what.append(f"column{plural} '{self.column}'")
        if self.value is not None:
            what.append(f"value '{_show(self.value)}'")
        head = f"{where}: " + (" ".join(what) + ": " if what else "")
        tag = "warning: " if self.severity == "warning" else ""
        text = f"{head}{tag}{self.message.rstrip('.')}."
        if not (self.hint and hint):
            return text
        return f"{text} {self.hint[0].upper()}{self.hint[1:].rstrip('.')}."


class Tables(Mapping):
    """The validated tables of a data directory: table name -> typed pandas DataFrame.

    ``get(name)`` is None for a table the district does not provide (or that was not asked for);
    ``years`` the sorted school years present; ``hashes`` (sha256) and ``row_counts`` per file
    name for the edition manifest; ``absent`` the contract tables with no file; ``warnings`` the
    Problems of severity warning.
    """

    def __init__(self, frames: dict[str, pd.DataFrame], data_dir: Path, hashes: dict[str, str],
                 row_counts: dict[str, int], absent: list[str], warnings: list[Problem]):
        self._frames = frames
        self.data_dir = Path(data_dir)
        self.hashes = hashes
        self.row_counts = row_counts
        self.absent = absent
        self.warnings = warnings
        years: set[str] = set()
        for name, df in frames.items():
            col = contract.YEAR_COLUMN[name]
            if col and name != "graduation_cohort":
                years.update(df[col].unique().tolist())
        self.years = sorted(years)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={len(v)}" for k, v in self._frames.items())
        return f"Tables({self.data_dir}, years={self.years}, {rows})"


# ------------------------------------------------------------------------------------------------
# Public entry points

def load_data(data_dir: str | Path, tables: Iterable[str] | None = None,
              years: Iterable[str] | None = None, plan=None) -> Tables:
    """Read, validate and type the data directory's CSV files.

    tables: only these tables (plus enrollment and buildings whenever a table joins them, and
        survey_items for survey_responses); default all 14.
    years: keep only rows of these school years (the whole file is validated first).
    plan: a ``plan.Plan``; when given, progression_rubrics attributes and action_steps step ids
        are checked against it.
    Raises PlanMetricsError (with ``.problems``) when any error is found.
    """
    keep = None if years is None else [years] if isinstance(years, str) else list(years)
    for y in keep or ():
        try:
            contract.parse_school_year(y)
        except ValueError as e:
            raise PlanMetricsError(str(e), "load_data(years=...)",
                                   "give school years as YYYY-YY, e.g. 2023-24") from None
    result, problems = validate_data(data_dir, tables=tables, plan=plan, years=keep)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise _summary_error(Path(data_dir), errors, problems)
    assert result is not None
    return result


def validate_data(data_dir: str | Path, tables: Iterable[str] | None = None, plan=None,
                  years: list[str] | None = None) -> tuple[Tables | None, list[Problem]]:
    """Every problem of a data directory, and the typed tables when there is no error.

    Arguments as for ``load_data``. A missing data directory raises PlanMetricsError (it is one
    problem, not a list).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise PlanMetricsError(f"The data directory {str(data_dir)!r} does not exist"
                               if not data_dir.exists() else
                               f"{str(data_dir)!r} is a file, not a data directory", str(data_dir),
                               "give the folder that holds enrollment.csv, buildings.csv, ... "
                               "(e.g. --data data/demo; `plan-metrics demo-data` creates it)")
    wanted = _tables_to_read(tables)
    v = _Validator(data_dir, plan, years)
    v.run(wanted, check_strays=tables is None)
    if any(p.severity == "error" for p in v.problems):
        return None, v.problems
    absent = [t for t in contract.TABLES if t not in v.frames]
    warnings = [p for p in v.problems if p.severity == "warning"]
    frames = {t: v.frames[t] for t in contract.TABLES if t in v.frames}
    return Tables(frames, data_dir, v.hashes, v.row_counts, absent, warnings), v.problems


def main(args) -> int:
    """``plan-metrics validate --data DIR [--plan P]``: print every problem, or a summary."""
    plan = None
    if getattr(args, "plan", None):
        from .plan import load_plan
        plan = load_plan(args.plan)
    data_dir = Path(args.data)
    tables, problems = validate_data(data_dir, plan=plan)
    text = format_problems(problems, data_dir)
    if tables is None:
        errors = [p for p in problems if p.severity == "error"]
        n = sum(p.count for p in errors)
        files = len({p.file for p in errors})
        text += (f"\n{n:,} problem{'s' * (n != 1)} in {files} file{'s' * (files != 1)} of "
                 f"{data_dir}: nothing can be computed from this data until they are fixed.\n")
    else:
        text += summary(tables) + "\n"
        if plan is not None:
            from .coverage import format_coverage, plan_coverage
            text += format_coverage(plan, plan_coverage(plan, tables))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:         # `plan-metrics validate ... | head`: the reader left early
        sys.stdout = open(os.devnull, "w")
    return 1 if tables is None else 0


def format_problems(problems: list[Problem], data_dir: Path | None = None) -> str:
    """Problems grouped per file, one per line ("file:line: column 'x' value 'y': message. hint")."""
    out = []
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    order = {f"{t}.csv": i for i, t in enumerate(contract.TABLES)}
    for name, ps in sorted(by_file.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        path = (data_dir / name) if data_dir is not None and name.endswith(".csv") else name
        n_err = sum(p.count for p in ps if p.severity == "error")
        n_warn = sum(p.count for p in ps if p.severity == "warning")
        counts = ", ".join(x for x in (f"{n_err:,} error{'s' * (n_err != 1)}" if n_err else "",
                                       f"{n_warn:,} warning{'s' * (n_warn != 1)}" if n_warn else "")
                           if x)
        out.append(f"{path} ({counts})")
        prev = None
        for p in ps:
            # a hint shared by consecutive findings (examples of one fault) is printed once
            same = prev is not None and (p.column, p.hint) == (prev.column, prev.hint)
            out.append(f"  {p.text(hint=not same)}")
            prev = p
    return "\n".join(out) + ("\n" if out else "")


def summary(tables: Tables) -> str:
    """A short description of valid data: tables, rows, years, buildings and students per year."""
    n_warn = sum(p.count for p in tables.warnings)
    warned = f", {n_warn:,} warning{'s' * (n_warn != 1)} above" if n_warn else ""
    lines = [f"{tables.data_dir}: valid ({len(tables)} tables{warned})."]
    width = max((len(t) for t in contract.TABLES), default=10)
    for name in tables:
        lines.append(f"  {name:<{width}}  {len(tables[name]):>10,} rows")
    if tables.absent:
        lines.append(f"  absent (measures reading them report 'no data'): "
                     f"{', '.join(tables.absent)}")
    lines.append(f"  school years: {', '.join(tables.years) or '(none)'}")
    if "buildings" in tables:
        lines.append(f"  buildings: {len(tables['buildings'])}")
    enr = tables.get("enrollment")
    if enr is not None:
        per_year = enr.groupby("school_year")["student_id"].nunique()
        lines.append("  students: " + ", ".join(f"{y}: {n:,}" for y, n in per_year.items()))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Internals

def _tables_to_read(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(contract.TABLES)
    asked = list(tables)
    unknown = [t for t in asked if t not in contract.TABLES]
    if unknown:
        raise PlanMetricsError(f"Unknown table(s) {', '.join(map(repr, unknown))}",
                               "load_data(tables=...)",
                               f"use names from the data contract: {', '.join(contract.TABLES)}")
    want = set(asked)
    for t in asked:
        cols = contract.TABLES[t]["columns"]
        if "building_id" in cols or "student_id" in cols:
            want.update(("buildings", "enrollment"))
        want.update(_NEEDS.get(t, ()))
    return [t for t in contract.TABLES if t in want]


def _show(value: str, limit: int = 60) -> str:
    v = str(value).replace("\n", "\\n").replace("\r", "\\r")
    return v if len(v) <= limit else v[:limit] + "..."


def _summary_error(data_dir: Path, errors: list[Problem], problems: list[Problem]):
    n = sum(p.count for p in errors)
    files = sorted({p.file for p in errors})
    first = "; ".join(p.text(hint=False).rstrip(".") for p in errors[:3])
    more = f" (and {n - sum(p.count for p in errors[:3])} more)" if len(errors) > 3 else ""
    return PlanMetricsError(
        f"The data has {n} problem{'s' * (n != 1)} in {len(files)} file{'s' * (len(files) != 1)} "
        f"({', '.join(files)}): {first}{more}", str(data_dir),
        f"run `plan-metrics validate --data {data_dir}` for the full list, correct the files and "
        f"run again", problems=problems)


class _Column:
    """One parsed column: typed values (None for text, decoded at the end), missing mask, codes
    and distinct values (for keys and joins)."""

    def __init__(self, typed: pd.Series | np.ndarray, missing: np.ndarray,
                 codes: np.ndarray | None = None, uniques: np.ndarray | None = None):
        self.typed, self.missing, self.codes, self.uniques = typed, missing, codes, uniques


@dataclass
class _File:
    """A CSV file being validated: its name, raw string columns and the row -> line mapping."""
    table: str
    name: str
    path: Path
    header: list[str]
    raw: pd.DataFrame | None = None          # every column categorical (dictionary-encoded)
    quoted: bool = False                     # has double quotes (a value may span lines)
    irregular: bool | None = None            # blank lines, quotes, bad rows: lines need a scan
    bad_lines: list[tuple[int, int]] = field(default_factory=list)  # (line, n values)
    bad_count: int = 0                       # rows pyarrow skipped (wrong number of values)
    _line_map: np.ndarray | None = None

    def lines(self, idx) -> np.ndarray:
        """CSV line numbers (header = 1) of 0-based data row indices."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.irregular is None:                # first problem in this file: look at it once
            self.irregular = self.quoted or self._has_blank_lines()
        if not self.irregular:
            return idx + 2
        if self._line_map is None:
            self._scan()
        return self._line_map[idx]

    def _has_blank_lines(self) -> bool:
        tail = b""
        with open(self.path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                edge = tail + chunk[:2]               # a blank line across the chunk boundary
                if any(x in chunk or x in edge for x in (b"\n\n", b"\n\r\n")):
                    return True
                tail = chunk[-2:]
        return False

    def _scan(self) -> None:
        # The slow, exact path (only when a problem must be located in an irregular file):
        # the start line of every record, as Python's csv module reads it.
        starts, bad = [], []
        ncol = len(self.header)
        with open(self.path, encoding="utf-8-sig", errors="replace", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            prev = reader.line_num
            for rec in reader:
                start = prev + 1
                prev = reader.line_num
                if not rec or (len(rec) == 1 and rec[0] == "" and ncol > 1):
                    continue
                if len(rec) != ncol:
                    bad.append((start, len(rec)))
                    continue
                starts.append(start)
        self._line_map = np.asarray(starts, dtype=np.int64)
        self.bad_lines = bad


class _Validator:
    def __init__(self, data_dir: Path, plan=None, years: list[str] | None = None):
        self.data_dir = data_dir
        self.plan = plan
        self.years = years
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
            if table not in self.failed:
                self.frames[table] = self.typed_frame(f, self.years)
            f.raw = None                      # free each raw table as soon as it is typed
            self.cols.pop(table, None)
            pa.default_memory_pool().release_unused()

    def strays(self) -> None:
        known = {f"{t}.csv" for t in contract.TABLES}
        for p in sorted(self.data_dir.iterdir()):
            if p.name in known or p.name.startswith(".") or p.is_dir():
                continue
            stem = p.name.rsplit(".", 1)[0].lower().strip()
            if p.suffix.lower() in (".csv", ".txt", ".tsv", ".xlsx", ".xls"):
                guess = difflib.get_close_matches(stem.replace("-", "_").replace(" ", "_"),
                                                  list(contract.TABLES), n=1, cutoff=0.75)
                hint = (f"rename it {guess[0]}.csv if it is that table" if guess else
                        "the tables are " + ", ".join(f"{t}.csv" for t in contract.TABLES))
                if p.suffix.lower() in (".xlsx", ".xls"):
                    hint = "save it as CSV UTF-8 (comma delimited); " + hint
                self.add(p.name, "this file is not a table of the data contract and is ignored",
                         hint, severity="warning")

    def read(self, table: str) -> _File | None:
        """Read one CSV as strings; file-level problems (encoding, delimiter, header) reported."""
        name = f"{table}.csv"
        path = self.data_dir / name
        if not path.is_file():
            return None
        spec = contract.TABLES[table]["columns"]
        digest = hashlib.sha256()
        quoted = False
        first = b""
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
                if not first:
                    first = chunk
                quoted = quoted or b'"' in chunk
        self.hashes[name] = digest.hexdigest()
        text_start = first.decode("utf-8-sig", errors="replace")
        if not text_start.strip():
            self.add(name, "the file is empty", f"export the table with its header line "
                     f"({', '.join(spec)}) and its rows, or remove the file if the district "
                     f"does not collect this data")
            self.failed.add(table)
            return None
        header_line = text_start.splitlines()[0]
        header = [h.strip() for h in next(csv.reader([header_line]))]
        f = _File(table, name, path, header, quoted=quoted)
        if not self.check_header(f, spec):
            self.failed.add(table)
            return None
        # Decode check: pyarrow refuses invalid UTF-8 in string columns.
        encoding_ok = True
        source: object = path
        try:
            raw = self._parse(f, path)
        except pa.ArrowInvalid as e:
            if "UTF8" not in str(e) and "utf8" not in str(e).lower():
                self.add(name, f"the file could not be read as CSV ({e})",
                         "check that it is a comma-separated text file with one header line")
                self.failed.add(table)
                return None
            encoding_ok = False
            data = path.read_bytes()
            self.report_encoding(f, data)
            text = data.decode("utf-8-sig", errors="replace")
            source = io.BytesIO(text.encode("utf-8"))
            f.irregular = True
            raw = self._parse(f, source)
        if not encoding_ok:
            self.failed.add(table)
        f.raw = raw
        self.row_counts[name] = len(raw)
        if f.bad_count:
            f.irregular = True
            f._scan()
            for line, nvals in f.bad_lines[:MAX_EXAMPLES]:
                self.add(name, f"this line has {nvals} value{'s' * (nvals != 1)} but the header "
                         f"has {len(header)} columns",
                         "check for a missing or extra comma, or a text with a comma that is not "
                         "inside double quotes", row=line)
            if len(f.bad_lines) > MAX_EXAMPLES:
                rest = len(f.bad_lines) - MAX_EXAMPLES
                self.problems.append(Problem(name, None, None, None,
                                             f"{rest:,} more lines with the wrong number of values",
                                             "", "error", rest))
            self.failed.add(table)
        if len(raw) == 0 and not f.bad_lines:
            self.add(name, "the file has a header line but no data rows",
                     "export the rows too, or remove the file if the district does not collect "
                     "this data", row=1)
            self.failed.add(table)
        return f

    def _parse(self, f: _File, source) -> pd.DataFrame:
        bad = []

        def handler(row):
            bad.append(row.actual_columns)
            return "skip"

        table = pacsv.read_csv(
            source,
            parse_options=pacsv.ParseOptions(newlines_in_values=f.quoted,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types={c: _DICT for c in f.header},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
            read_options=pacsv.ReadOptions(column_names=f.header, skip_rows=1,
                                           block_size=1 << 24))
        f.bad_count = len(bad)
        frame = table.to_pandas()
        del table
        pa.default_memory_pool().release_unused()   # hand the parser's buffers back to the OS
        return frame

    def report_encoding(self, f: _File, data: bytes) -> None:
        bad_lines = []
        for lineno, line in enumerate(data.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                bad_lines.append((lineno, line[max(0, e.start - 10):e.end + 10], e.start))
                if len(bad_lines) > 1000:
                    break
        hint = ("save the file as UTF-8 (in Excel: Save As 'CSV UTF-8 (Comma delimited)'); it "
                "looks like it was saved in a Windows or Latin-1 encoding")
        for lineno, snippet, pos in bad_lines[:MAX_EXAMPLES]:
            shown = snippet.decode("utf-8", errors="backslashreplace")
            self.add(f.name, f"bytes that are not UTF-8 text (near '{_show(shown)}', "
                     f"byte {pos + 1} of the line)", hint, row=lineno)
        if len(bad_lines) > MAX_EXAMPLES:
            rest = len(bad_lines) - MAX_EXAMPLES
            self.problems.append(Problem(f.name, None, None, None,
                                         f"{rest:,}{'+' if rest > 995 else ''} more lines with "
                                         f"bytes that are not UTF-8", "", "error", rest))

    def check_header(self, f: _File, spec: dict) -> bool:
        """Header problems; False when the file's rows cannot be checked at all."""
        header, name = f.header, f.name
        expected = list(spec)
        if len(header) == 1 and header[0] not in spec:
            for sep, word in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
                if sep in header[0]:
                    self.add(name, f"the file seems to use {word} as delimiter, not commas",
                             "save it as comma-separated (CSV UTF-8, comma delimited)", row=1,
                             value=header[0])
                    return False
        seen: set[str] = set()
        ok = True
        for col in header:
            if col in seen:
                self.add(name, "this column appears twice in the header",
                         "keep one of the two columns", row=1, column=col)
                ok = False
            seen.add(col)
        for col in header:
            if col == "":
                self.add(name, "a column of the header has no name",
                         "remove the empty column (often a trailing comma at the end of the "
                         "lines)", row=1)
                self.failed.add(f.table)
            elif col not in spec:
                near = difflib.get_close_matches(col.lower().replace(" ", "_"), expected, n=1,
                                                 cutoff=0.7)
                hint = (f"did you mean '{near[0]}'?" if near else
                        "remove the column; the columns of this table are " + ", ".join(expected))
                self.add(name, "unknown column", hint, row=1, column=col)
                self.failed.add(f.table)
        for col, (_, _, required) in spec.items():
            if col not in header:
                self.add(name, "required column is missing" if required else
                         "column is missing (it may be empty, but the column must be there)",
                         f"add a '{col}' column; the header must be: {','.join(expected)}",
                         row=1, column=col)
                self.failed.add(f.table)
        return ok

    # -- per-table checks ------------------------------------------------------------------------
    def check_table(self, f: _File) -> None:
        spec = contract.TABLES[f.table]["columns"]
        cols: dict[str, _Column] = {}
        for col, (kind, codes, required) in spec.items():
            if col not in f.raw:
                continue
            cols[col] = self.check_column(f, col, kind, codes, required)
        self.cols[f.table] = cols
        self.check_keys(f, cols)
        check = getattr(self, f"check_{f.table}", None)
        if check is not None:
            check(f, cols)

    def check_column(self, f: _File, col: str, kind: str, codes, required: bool) -> _Column:
        s = f.raw[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            fcodes, uniques = s.cat.codes.to_numpy(), s.cat.categories
        else:
            fcodes, uniques = pd.factorize(s)
        uniques = np.asarray(uniques, dtype=object)
        u_missing = np.asarray(uniques == "", dtype=bool).reshape(len(uniques))
        missing = u_missing[fcodes] if len(fcodes) else np.zeros(0, dtype=bool)
        if required and missing.any():
            self.rows(f, col, missing, "required value is missing",
                      f"fill in '{col}' on every row", values=s)

        def per_unique(parse):
            """Parse distinct values; returns (values per unique, bad flags, messages)."""
            vals, bad, msgs = [], np.zeros(len(uniques), dtype=bool), {}
            for i, u in enumerate(uniques):
                if u == "":
                    vals.append(None)
                    continue
                try:
                    vals.append(parse(u))
                except ValueError as e:
                    vals.append(None)
                    bad[i] = True
                    msgs[u] = str(e)
            return vals, bad, msgs

        def report(bad_u, msgs, hint, message=None):
            if bad_u.any():
                mask = bad_u[fcodes]
                self.rows(f, col, mask, message or (lambda v: msgs.get(v, _generic(kind, col))),
                          hint, values=s)

        # text columns: typed=None, decoded to str by typed_frame
        if kind in ("id", "str"):
            return _Column(None, missing, fcodes, uniques)
        if kind == "code":
            vals, bad, msgs = per_unique(lambda u: _parse_code(u, codes))
            report(bad, msgs, f"allowed codes for {col}: {', '.join(codes)}" if codes else
                   "codes are lower-case letters, digits and underscores (snake_case)")
            return _Column(None, missing, fcodes, uniques)
        if kind == "year":
            vals, bad, msgs = per_unique(_parse_year)
            report(bad, msgs, "write school years as YYYY-YY of two consecutive years, e.g. "
                   "2023-24")
            return _Column(None, missing, fcodes, uniques)
        if kind == "bool":
            vals, bad, msgs = per_unique(_parse_bool)
            report(bad, msgs, "write true or false (1/0 and yes/no are accepted too)")
            arr = np.array([bool(v) if v is not None else False for v in vals], dtype=bool)
            na = np.array([v is None for v in vals], dtype=bool)
            typed_np = arr[fcodes]
            if required:
                typed = pd.Series(typed_np, index=s.index, dtype=bool)
            else:
                typed = pd.Series(pd.array(typed_np, dtype="boolean"), index=s.index)
                typed[na[fcodes]] = pd.NA
            return _Column(typed, missing, fcodes, uniques)
        if kind in ("grade", "count", "level"):
            parse = {"grade": _parse_grade, "count": _parse_count, "level": _parse_level}[kind]
            vals, bad, msgs = per_unique(parse)
            hint = {"grade": "write K (or 0) for kindergarten, 1 to 12 for the others",
                    "count": "write a whole number, 0 or more, with no decimals or units",
                    "level": "write a whole number from 1 to 4"}[kind]
            report(bad, msgs, hint)
            arr = np.array([v if v is not None else 0 for v in vals], dtype=np.int64)
            na = np.array([v is None for v in vals], dtype=bool)
            typed_np = arr[fcodes] if len(fcodes) else np.zeros(0, dtype=np.int64)
            if required and not (missing.any() or bad.any()):
                typed = pd.Series(typed_np, index=s.index, dtype="int64")
            else:
                typed = pd.Series(pd.array(typed_np, dtype="Int64"), index=s.index)
                typed[na[fcodes]] = pd.NA
                if required:  # only reached on invalid data; never returned to a caller
                    typed = typed.fillna(0).astype("int64")
            return _Column(typed, missing | bad[fcodes], fcodes, uniques)
        if kind == "number":
            # vectorized over the distinct values (a score column may have very many)
            u = pd.Series(uniques, dtype=object)
            given = (u != "").to_numpy()
            arr = pd.to_numeric(u.where(given), errors="coerce").to_numpy(dtype=float)
            bad = given & (~np.isfinite(arr) | (arr < 0))
            report(bad, {}, "write a number, 0 or more (a decimal point, no units)",
                   message=_number_msg)
            arr = np.where(bad, np.nan, arr)
            typed = pd.Series(arr[fcodes] if len(fcodes) else np.zeros(0), index=s.index)
            return _Column(typed, missing | bad[fcodes], fcodes, uniques)
        if kind == "date":
            vals, bad, msgs = per_unique(_parse_date)
            report(bad, msgs, "write dates as YYYY-MM-DD, e.g. 2024-03-15")
            arr = np.array([v if v is not None else np.datetime64("NaT") for v in vals],
                           dtype="datetime64[ns]")
            typed = pd.Series(arr[fcodes] if len(fcodes) else arr[:0], index=s.index)
            return _Column(typed, missing | bad[fcodes], fcodes, uniques)
        raise AssertionError(f"unknown column type {kind}")

    def check_keys(self, f: _File, cols: dict[str, _Column]) -> None:
        key = contract.TABLES[f.table]["key"]
        if not all(k in cols for k in key) or len(f.raw) == 0:
            return
        combined = _combine([cols[k].codes for k in key])
        ordered = np.sort(combined)       # (np.unique hashes, and is far slower on millions)
        if not (ordered[1:] == ordered[:-1]).any():
            return
        del ordered
        dup = pd.Series(combined).duplicated(keep="first").to_numpy()
        first_of = pd.Series(np.arange(len(combined))).groupby(combined).transform("first")
        first_lines = f.lines(first_of.to_numpy())
        names = ", ".join(key)
        idx = np.flatnonzero(dup)
        ex = idx[:MAX_EXAMPLES]
        for i, line in zip(ex, f.lines(ex)):
            value = " / ".join(str(f.raw[k].iloc[i]) for k in key)
            self.problems.append(Problem(
                f.name, int(line), names, value,
                f"duplicate key: line {int(first_lines[i])} has the same ({names})",
                "each row must have a different combination of these columns; remove the "
                "repeated row or correct one of its values"))
        self.failed.add(f.table)
        rest = len(idx) - len(ex)
        if rest:
            self.problems.append(Problem(f.name, None, names, None,
                                         f"{rest:,} more duplicate key rows ({names})", "",
                                         "error", rest))

    # table-specific rules
    def check_buildings(self, f: _File, cols) -> None:
        if "grade_low" in cols and "grade_high" in cols:
            lo, hi = cols["grade_low"], cols["grade_high"]
            ok = ~(lo.missing | hi.missing)
            bad = ok & (lo.typed.to_numpy() > hi.typed.to_numpy())
            self.rows(f, "grade_high", bad, "grade_high is below grade_low",
                      "give the lowest and highest grades the building serves")

    def check_enrollment(self, f: _File, cols) -> None:
        if "days_enrolled" in cols and "days_absent" in cols:
            en, ab = cols["days_enrolled"], cols["days_absent"]
            ok = ~(en.missing | ab.missing)
            bad = ok & (ab.typed.to_numpy() > en.typed.to_numpy())
            self.rows(f, "days_absent", bad,
                      "days_absent is more than days_enrolled",
                      "a student cannot be absent more days than enrolled; check both columns")

    def check_survey_items(self, f: _File, cols) -> None:
        if "scale_points" in cols:
            sp = cols["scale_points"]
            bad = ~sp.missing & (sp.typed.to_numpy() < 2)
            self.rows(f, "scale_points", bad, "a scale needs at least 2 points",
                      "write the number of answer choices (e.g. 5)")
        if "scale_points" in cols and "favorable_min" in cols:
            sp, fm = cols["scale_points"], cols["favorable_min"]
            ok = ~(sp.missing | fm.missing)
            fmv, spv = fm.typed.to_numpy(), sp.typed.to_numpy()
            bad = ok & ((fmv < 1) | (fmv > spv))
            self.rows(f, "favorable_min", bad,
                      "favorable_min is not between 1 and the item's scale_points",
                      "write the lowest response that counts as favorable, e.g. 4 on a 5-point "
                      "scale")

    # -- cross-table checks ----------------------------------------------------------------------
    def cross_checks(self, files: dict[str, _File]) -> None:
        bcols = self.cols.get("buildings", {})
        if "buildings" in files and "building_id" in bcols:
            known = set(files["buildings"].raw["building_id"].unique().tolist()) - {""}
            for table, f in files.items():
                if table == "buildings" or "building_id" not in self.cols.get(table, {}):
                    continue
                uniq = pd.unique(f.raw["building_id"])
                bad_u = [u for u in uniq if u != "" and u not in known]
                if bad_u:
                    mask = f.raw["building_id"].isin(bad_u).to_numpy()
                    self.rows(f, "building_id", mask, "unknown building_id: it is not in "
                              "buildings.csv",
                              "add the building to buildings.csv or correct the id (known: "
                              + ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12
                                                                 else "") + ")")
        if "survey_responses" in files and "survey_items" in files:
            self.check_responses_scale(files["survey_responses"], files["survey_items"])
        if "enrollment" in files and "enrollment" not in self.failed:
            for table in _ENROLLED_STUDENT_TABLES:
                if table in files:
                    self.check_enrolled(files[table], files["enrollment"])
        if self.plan is not None:
            if "progression_rubrics" in files:
                self.check_attributes(files["progression_rubrics"])
            if "action_steps" in files:
                self.check_steps(files["action_steps"])

    def check_responses_scale(self, f: _File, items: _File) -> None:
        rc = self.cols.get("survey_responses", {})
        ic = self.cols.get("survey_items", {})
        if not all(c in rc for c in ("survey", "item_id", "response")) or \
                not all(c in ic for c in ("survey", "item_id", "scale_points")):
            return
        scale = {}
        sp = ic["scale_points"]
        for s, i, p, m in zip(items.raw["survey"], items.raw["item_id"], sp.typed, sp.missing):
            scale[(s, i)] = None if m else int(p)
        pair_codes, pair_uniques = pd.factorize(
            _combine([rc["survey"].codes, rc["item_id"].codes]))
        # the first row of each distinct pair gives its (survey, item_id) texts
        first_row = pd.Series(np.arange(len(pair_codes))).groupby(pair_codes).first().to_numpy()
        surveys = f.raw["survey"].iloc[first_row].tolist()
        item_ids = f.raw["item_id"].iloc[first_row].tolist()
        n_pairs = len(first_row)
        pair_scale = np.full(n_pairs, 10**9, dtype=np.int64)
        unknown = np.zeros(n_pairs, dtype=bool)
        for k in range(n_pairs):
            key = (surveys[k], item_ids[k])
            if key[0] == "" or key[1] == "":
                continue
            if key not in scale:
                unknown[k] = True
            elif scale[key] is not None:
                pair_scale[k] = scale[key]
        if unknown.any():
            self.rows(f, "item_id", unknown[pair_codes],
                      "this (survey, item_id) is not in survey_items.csv",
                      "add the item to survey_items.csv (with its topic, scale_points and "
                      "favorable_min) or correct the survey or item_id",
                      values=f.raw["survey"].astype(str) + " / " + f.raw["item_id"].astype(str))
        resp = rc["response"]
        rv = resp.typed.to_numpy(dtype=np.int64, na_value=0) if hasattr(resp.typed, "to_numpy") \
            else resp.typed
        limit = pair_scale[pair_codes]
        bad = ~resp.missing & ((rv < 1) | (rv > limit))
        self.rows(f, "response", bad, "response out of the item's scale",
                  "a response is 1 to the item's scale_points (survey_items.csv), or empty for a "
                  "skipped item")

    def check_enrolled(self, f: _File, enr: _File) -> None:
        ec = self.cols.get("enrollment", {})
        tc = self.cols.get(f.table, {})
        if not all(c in ec for c in ("school_year", "student_id")) or \
                not all(c in tc for c in ("school_year", "student_id")):
            return
        rows = np.ones(len(f.raw), dtype=bool) & ~tc["student_id"].missing
        if f.table == "survey_responses":
            if "respondent_type" not in tc:
                return
            rows &= (f.raw["respondent_type"] == "student").to_numpy()
        if not rows.any():
            return
        # Translate this table's codes into enrollment's (via the few distinct values), then
        # compare (year, student) pairs as int64 keys: no string work per row.
        keys = []
        for col in ("school_year", "student_id"):
            e, t = ec[col], tc[col]
            pos = pd.Index(e.uniques).get_indexer(t.uniques)   # -1: value not in enrollment
            keys.append((e.codes.astype(np.int64), pos[t.codes].astype(np.int64),
                         len(e.uniques) + 1))
        (ey, ty, _), (es, ts, width) = keys
        found = np.isin(ty * width + ts, ey * width + es) & (ty >= 0) & (ts >= 0)
        bad = rows & ~found
        what = "survey response" if f.table == "survey_responses" else "row"
        self.rows(f, "student_id", bad,
                  f"this student is not in enrollment.csv for that school_year; the {what} "
                  f"counts for the district and building but not in any student group",
                  "check the student_id against the SIS export", severity="warning")

    def check_attributes(self, f: _File) -> None:
        attrs = list(getattr(self.plan, "profile_of_graduate", {}) or {})
        if not attrs or "attribute" not in f.raw:
            return
        s = f.raw["attribute"]
        uniq = [u for u in pd.unique(s) if u != "" and u not in attrs]
        if uniq:
            lower = {a.lower(): a for a in attrs}

            msg = f"not a Profile of a Graduate attribute of plan {self.plan.id}"
            hint = "write it exactly as the plan does: " + ", ".join(attrs)
            near = [lower[u.lower()] for u in uniq if u.lower() in lower]
            if near:
                hint = f"mind the capitals (e.g. '{near[0]}'); " + hint
            self.rows(f, "attribute", s.isin(uniq).to_numpy(), msg, hint)

    def check_steps(self, f: _File) -> None:
        from .plan import ActionStep
        steps = [t for t in self.plan.walk() if isinstance(t, ActionStep)]
        if "step_id" not in f.raw or "plan_id" not in f.raw:
            return
        ids = {st.id for st in steps}
        rows = (f.raw["plan_id"] == self.plan.id).to_numpy()
        if not rows.any():
            return
        bad = rows & ~f.raw["step_id"].isin(ids).to_numpy()
        known = sorted(ids)
        self.rows(f, "step_id", bad, lambda v: f"step_id is not an action step of plan "
                  f"{self.plan.id}",
                  "use the step ids of the plan YAML (e.g. " + ", ".join(known[:5]) +
                  (", ..." if len(known) > 5 else "") + ")" if known else
                  f"plan {self.plan.id} has no action steps")

    # -- output ------------------------------------------------------------------------------------
    def typed_frame(self, f: _File, years: list[str] | None = None) -> pd.DataFrame:
        """The table with contract dtypes; text columns decoded to pandas str (empty -> NaN).

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
        text = [c for c in names if cols[c].typed is None]
        decoded = pa.table({c: _decode(f.raw[c], cols[c].missing, take) for c in text}) \
            .to_pandas() if text else None
        out = {}
        for col in names:
            c = cols[col]
            if c.typed is None:
                out[col] = decoded[col]
            else:
                typed = c.typed if take is None else c.typed.iloc[take]
                out[col] = typed.reset_index(drop=True)
        return pd.DataFrame(out)


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


def _combine(code_arrays: list[np.ndarray]) -> np.ndarray:
    """Several factorized code arrays -> one int64 code per distinct combination."""
    combined = np.asarray(code_arrays[0], dtype=np.int64)
    span = int(combined.max()) + 2 if len(combined) else 1
    for codes in code_arrays[1:]:
        codes = np.asarray(codes, dtype=np.int64)
        width = int(codes.max()) + 2 if len(codes) else 1
        if span * width > 2**62:   # would overflow: renumber the combinations so far
            combined = pd.factorize(combined)[0].astype(np.int64)
            span = int(combined.max()) + 2 if len(combined) else 1
        combined = combined * width + (codes + 1)
        span *= width
    return combined


# ---- value parsers (called once per distinct value) -------------------------------------------

def _generic(kind: str, col: str) -> str:
    return {"code": "unknown code", "year": "not a school year YYYY-YY",
            "bool": "not true or false", "grade": "not a grade K or 0..12",
            "count": "not a whole number 0 or more", "level": "not a level 1..4",
            "number": "not a number 0 or more", "date": "not a date YYYY-MM-DD"}.get(kind, "bad")


def _parse_code(u: str, codes) -> str:
    if codes:
        if u in codes:
            return u
        near = u.strip().lower().replace(" ", "_").replace("-", "_")
        extra = f" (did you mean '{near}'?)" if near in codes else ""
        raise ValueError(f"unknown code{extra}")
    if not CODE_RE.match(u):
        near = re.sub(r"[^a-z0-9]+", "_", u.strip().lower()).strip("_")
        raise ValueError(f"not a lower-case snake_case code (write it like '{near}')")
    return u


def _parse_year(u: str) -> str:
    m = contract.SCHOOL_YEAR_RE.match(u)
    if not m:
        raise ValueError("not a school year written YYYY-YY")
    if (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"not two consecutive years (did you mean "
                         f"{contract.format_school_year(int(m.group(1)))}?)")
    return u


def _parse_bool(u: str) -> bool:
    try:
        return TRUE_WORDS[u.strip().lower()]
    except KeyError:
        raise ValueError("not a boolean (true or false)") from None


def _int(u: str) -> int:
    t = u.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    if re.fullmatch(r"[+-]?\d+\.0*", t):   # "3.0" as written by spreadsheets
        return int(float(t))
    raise ValueError("not a whole number")


def _parse_grade(u: str) -> int:
    if u.strip().upper() == "K":
        return 0
    try:
        g = _int(u)
    except ValueError:
        raise ValueError("not a grade (K, 0 or 1..12)") from None
    if not 0 <= g <= 12:
        raise ValueError("grade out of range (K, 0 or 1..12)")
    return g


def _parse_count(u: str) -> int:
    n = _int(u)
    if n < 0:
        raise ValueError("negative count")
    return n


def _parse_level(u: str) -> int:
    try:
        n = _int(u)
    except ValueError:
        raise ValueError("not a level (a whole number 1 to 4)") from None
    if not 1 <= n <= 4:
        raise ValueError("level out of range 1..4")
    return n


def _number_msg(v) -> str:
    if v is None:
        return "not a number 0 or more"
    try:
        return "negative number" if float(v) < 0 else "not a finite number"
    except ValueError:
        return "not a number"


def _parse_date(u: str):
    if not DATE_RE.match(u.strip()):
        raise ValueError("not a date written YYYY-MM-DD")
    try:
        day = pd.Timestamp(u.strip())
    except ValueError:
        raise ValueError("not a real date (check day and month)") from None
    if not 1900 <= day.year <= 2100:
        raise ValueError("date out of range (years 1900 to 2100)")
    return np.datetime64(day.date(), "ns")
