"""Reading a district's raw exports: CSV and XLSX files found by a glob, stacked into one frame.

Every value is read as text, the way the export writes it; every column comes back as a pandas
Categorical, so recodes and checks work on the distinct values only and a file of millions of rows
costs a few bytes per cell. CSV files are streamed block by block (pyarrow reads each block
dictionary-encoded) into the stack's codes: the whole file is never held as text or as an arrow
table. XLSX workbooks are read with calamine (python-calamine); their cells are turned into the
text a CSV export would hold (whole numbers without '.0', dates as YYYY-MM-DD).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import PlanMetricsError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_DICT = pa.dictionary(pa.int32(), pa.large_string())


@dataclass
class Source:
    """One file of a stack: its path, the YAML path that names it, its sheet and header."""
    path: Path
    yaml_where: str            # 'M.yaml, tables.enrollment.from (line 4)'
    sheet: str | None
    encoding: str
    header: list[str]
    delimiter: str = ","
    quoted: bool = True        # has a double quote: a value may span lines (slower parse)


def find_files(source_dir: Path, pattern: str, yaml_where: str) -> list[Path]:
    """The files under ``source_dir`` matching ``pattern``, sorted; an error when there is none."""
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise PlanMetricsError(f"The file pattern {pattern!r} leaves the source folder",
                               yaml_where, f"write a name or glob relative to --source "
                               f"{source_dir}, e.g. \"enrollments_*.csv\"")
    try:
        found = sorted(p for p in source_dir.glob(pattern) if p.is_file())
    except (ValueError, NotImplementedError) as e:
        raise PlanMetricsError(f"The file pattern {pattern!r} is not a valid glob ({e})",
                               yaml_where, "write a name or glob such as \"enrollments_*.csv\"") \
            from None
    if not found:
        present = sorted(str(p.relative_to(source_dir)) for p in source_dir.rglob("*")
                         if p.is_file() and not p.name.startswith("."))
        near = difflib.get_close_matches(pattern, present, n=2, cutoff=0.5)
        shown = ", ".join(present[:12]) + (f" and {len(present) - 12} more"
                                           if len(present) > 12 else "")
        raise PlanMetricsError(
            f"No file under {source_dir} matches {pattern!r}", yaml_where,
            (f"did you mean {' or '.join(map(repr, near))}? " if near else "") +
            (f"the files there are: {shown}" if present else "the folder is empty; give "
             "--source the folder holding the exports"))
    return found


def open_source(path: Path, yaml_where: str, sheet: str | None, encoding: str) -> Source:
    """Check the file can be read and read its header (first line or first row of the sheet)."""
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        header = _xlsx_header(path, yaml_where, sheet)
        return Source(path, yaml_where, _sheet_name(path, yaml_where, sheet), encoding, header)
    if suffix == ".xls":
        raise PlanMetricsError(f"{path.name} is an old Excel 97-2003 workbook", yaml_where,
                               "save it as .xlsx (Excel workbook) or as CSV UTF-8")
    if suffix not in CSV_SUFFIXES:
        raise PlanMetricsError(f"{path.name} is neither a CSV nor an XLSX file", yaml_where,
                               "give files ending in .csv or .xlsx (or narrow the glob)")
    if sheet is not None:
        raise PlanMetricsError(f"sheet {sheet!r} is set but {path.name} is a CSV file, which has "
                               f"no sheets", yaml_where, "remove sheet: (or set it to null)")
    try:
        with open(path, encoding=encoding, newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise _encoding_error(path, yaml_where, encoding) from None
    except OSError as e:
        raise PlanMetricsError(f"{path.name} cannot be read ({e.strerror or e})", yaml_where,
                               "check that it is a readable file") from None
    first = first.lstrip("\ufeff").rstrip("\r\n")
    if not first.strip():
        raise PlanMetricsError(f"{path.name} is empty (no header line)", yaml_where,
                               "export the file again with its header line")
    delimiter = max((",", ";", "\t", "|"), key=first.count)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    _check_header(path, yaml_where, header)
    return Source(path, yaml_where, None, encoding, header, delimiter, _has_quotes(path))


def _has_quotes(path: Path) -> bool:
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            if b'"' in chunk:
                return True
    return False


def _encoding_error(path: Path, yaml_where: str, encoding: str) -> PlanMetricsError:
    return PlanMetricsError(
        f"{path.name} is not {encoding} text", yaml_where,
        "add encoding: cp1252 to the table's entry if the file comes from a Windows program "
        "(or save it as CSV UTF-8)" if encoding.lower().replace("-", "") in ("utf8", "utf8sig")
        else "give the encoding the file was saved in (encoding: utf-8, cp1252 or latin-1)")


def _check_header(path: Path, yaml_where: str, header: list[str]) -> None:
    seen = set()
    for i, col in enumerate(header):
        if col == "" and any(header[i + 1:]):
            raise PlanMetricsError(f"Column {i + 1} of {path.name} has no name", yaml_where,
                                   "give every column of the header a name")
        if col in seen and col:
            raise PlanMetricsError(f"{path.name} has two columns named {col!r}", yaml_where,
                                   "rename one of them in the export")
        seen.add(col)


def read_all(srcs: list[Source], columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of the files ``srcs`` (all in each header), one file under the other, as a
    frame of text Categoricals.

    A CSV file is streamed in blocks (pyarrow's streaming reader, each block dictionary-encoded)
    and every block's codes are translated at once into the stack's codes, so neither the whole
    file as an arrow table nor a frame per file is ever held: a column costs its final codes
    (1 to 4 bytes a row) and its distinct values. Categories are in order of first appearance,
    file after file (a workbook's in its sorted order), as stacking the files' frames gave them.
    """
    stacked = {c: _Stacked() for c in columns}
    for src in srcs:
        if src.sheet is not None or src.path.suffix.lower() in XLSX_SUFFIXES:
            frame = _read_xlsx(src, columns)
            for c in columns:
                s = frame[c]
                stacked[c].add([str(v) for v in s.cat.categories], s.cat.codes.to_numpy())
            del frame
        else:
            _stream_csv(src, columns, stacked)
    return pd.DataFrame({c: stacked.pop(c).categorical() for c in columns}, copy=False)


#: CSV blocks of 1 MB (thousands of rows each): the streaming reader reads blocks ahead, and 16 MB
#: blocks held some 400 MB more of a 400 MB file in flight; a file with a record longer than a
#: block (a text of megabytes) is read again with the 16 MB blocks the reader had before
_BLOCK_SIZE = 1 << 20
_LARGE_BLOCK_SIZE = 1 << 24


def _stream_csv(src: Source, columns: list[str], stacked: dict[str, _Stacked]) -> None:
    at = {c: s.mark() for c, s in stacked.items()}
    try:
        try:
            _stream_blocks(src, columns, stacked, _BLOCK_SIZE)
        except pa.ArrowInvalid as e:
            if "straddl" not in str(e):
                raise
            for c, s in stacked.items():
                s.rollback(at[c])
            _stream_blocks(src, columns, stacked, _LARGE_BLOCK_SIZE)
    except pa.ArrowInvalid as e:
        text = str(e)
        if "utf8" in text.lower() or "utf-8" in text.lower():
            raise _encoding_error(src.path, src.yaml_where, src.encoding) from None
        raise PlanMetricsError(f"{src.path.name} cannot be read as CSV ({text.splitlines()[0]})",
                               src.yaml_where, "check that every line has as many values as the "
                               "header, and that texts with a comma are in double quotes") \
            from None
    except UnicodeDecodeError:
        raise _encoding_error(src.path, src.yaml_where, src.encoding) from None
    finally:
        pa.default_memory_pool().release_unused()


def _stream_blocks(src: Source, columns: list[str], stacked: dict[str, _Stacked],
                   block_size: int) -> None:
    reader = pacsv.open_csv(
        src.path,
        read_options=pacsv.ReadOptions(column_names=src.header, skip_rows=1,
                                       encoding=src.encoding, block_size=block_size),
        parse_options=pacsv.ParseOptions(delimiter=src.delimiter, newlines_in_values=src.quoted),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns, column_types={c: _DICT for c in columns},
            strings_can_be_null=False, quoted_strings_can_be_null=False))
    for batch in reader:
        for c in columns:
            arr = batch.column(c)
            stacked[c].add(arr.dictionary.to_pylist(), arr.indices.to_numpy(zero_copy_only=False))


def code_dtype(n: int) -> np.dtype:
    """The integer type pandas gives the codes of a Categorical of ``n`` categories (also holds
    the few negative codes the importer uses)."""
    for t in (np.int8, np.int16, np.int32):
        if n < np.iinfo(t).max:
            return np.dtype(t)
    return np.dtype(np.int64)


class _Stacked:
    """One column being read: its distinct values in order of first appearance, and the codes of
    its rows, block by block."""

    def __init__(self) -> None:
        self.memo: dict[str, int] = {}
        self.chunks: list[np.ndarray] = []

    def add(self, values: list[str], indices: np.ndarray) -> None:
        """A block: its own distinct ``values`` and its rows as ``indices`` into them."""
        memo = self.memo
        lut = np.fromiter((memo.setdefault(v, len(memo)) for v in values), dtype=np.int64,
                          count=len(values))
        self.chunks.append(lut.astype(code_dtype(len(memo)))[indices])

    def mark(self) -> tuple[int, int]:
        """Where the column is, for ``rollback``."""
        return len(self.memo), len(self.chunks)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget the values and rows added since ``mark``."""
        n_values, n_chunks = mark
        while len(self.memo) > n_values:
            self.memo.popitem()                  # the last inserted first
        del self.chunks[n_chunks:]

    def categorical(self) -> pd.Categorical:
        """The column as a Categorical (the chunks are freed as they are copied)."""
        categories = list(self.memo)
        self.memo = {}
        codes = np.empty(sum(len(c) for c in self.chunks), dtype=code_dtype(len(categories)))
        at = 0
        self.chunks.reverse()
        while self.chunks:
            chunk = self.chunks.pop()
            codes[at:at + len(chunk)] = chunk
            at += len(chunk)
        # categories typed as pyarrow's to_pandas types them (pandas str; object when none)
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(categories)))


# ---- XLSX (read with calamine: a Rust reader, some 50 times faster than openpyxl) -------------

def _workbook(path: Path, yaml_where: str):
    from python_calamine import CalamineWorkbook
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as e:   # calamine raises its own errors on files that are not workbooks
        raise PlanMetricsError(f"{path.name} cannot be opened as an XLSX workbook "
                               f"({type(e).__name__}: {e})", yaml_where,
                               "check that it is an Excel .xlsx file that opens in Excel") \
            from None


def _sheet_name(path: Path, yaml_where: str, sheet: str | None) -> str:
    names = list(_workbook(path, yaml_where).sheet_names)
    if sheet is None:
        if len(names) > 1:
            raise PlanMetricsError(f"{path.name} has {len(names)} sheets and the mapping does "
                                   f"not say which to read", yaml_where,
                                   f"add sheet: with one of {', '.join(map(repr, names))}")
        return names[0]
    if sheet not in names:
        near = difflib.get_close_matches(sheet, names, n=1, cutoff=0.5)
        raise PlanMetricsError(f"{path.name} has no sheet {sheet!r}", yaml_where,
                               (f"did you mean {near[0]!r}? " if near else "") +
                               f"its sheets are {', '.join(map(repr, names))}")
    return sheet


def _rows(path: Path, yaml_where: str, sheet: str | None) -> list[list]:
    name = _sheet_name(path, yaml_where, sheet)
    try:
        return _sheet_rows(str(path), name, path.stat().st_mtime_ns)
    except PlanMetricsError:
        raise
    except Exception as e:
        raise PlanMetricsError(f"Sheet {name!r} of {path.name} cannot be read "
                               f"({type(e).__name__}: {e})", yaml_where,
                               "check that the workbook opens in Excel; save it again as .xlsx") \
            from None


@functools.lru_cache(maxsize=2)
def _sheet_rows(path: str, name: str, mtime_ns: int) -> list[list]:
    """The sheet's rows (cached: the header and the rows are read from one parse)."""
    return _workbook(Path(path), path).get_sheet_by_name(name).to_python(skip_empty_area=True)


def forget_sheets() -> None:
    """Free the cached rows of the workbooks read so far (once a table is built)."""
    _sheet_rows.cache_clear()


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _xlsx_header(path: Path, yaml_where: str, sheet: str | None) -> list[str]:
    for row in _rows(path, yaml_where, sheet):
        if not all(_blank(v) for v in row):
            header = [cell_text(v).strip() for v in row]
            while header and header[-1] == "":
                header.pop()
            _check_header(path, yaml_where, header)
            return header
    raise PlanMetricsError(f"The sheet of {path.name} is empty", yaml_where,
                           "give the sheet that holds the table (a header row, then the rows)")


def _read_xlsx(src: Source, columns: list[str]) -> pd.DataFrame:
    pos = [src.header.index(c) for c in columns]
    rows = _rows(src.path, src.yaml_where, src.sheet)
    start = next(i for i, row in enumerate(rows) if not all(_blank(v) for v in row)) + 1
    body = [row for row in rows[start:] if not all(_blank(v) for v in row)]  # blank rows left out
    data = {}
    for c, i in zip(columns, pos):
        data[c] = pd.Categorical(np.asarray([cell_text(r[i]) if i < len(r) else "" for r in body],
                                            dtype=object))
    return pd.DataFrame(data) if body else pd.DataFrame(
        {c: pd.Categorical(np.asarray([], dtype=object)) for c in columns})


def cell_text(v) -> str:
    """A spreadsheet cell as the text a CSV export writes."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)

