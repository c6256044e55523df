"""Reading a data directory's CSV files: the file-level checks (encoding, delimiter, header,
row lengths, empty files, stray files) and the raw, dictionary-encoded columns.

``_File`` is one file being validated (with the exact CSV line of each row, for messages);
``ReadingChecks`` is the part of the validator that opens the files.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import contract
from .report import MAX_EXAMPLES, Problem, _show

#: Every column is read dictionary-encoded: the parser builds each column's distinct values in
#: its threads, so the checks parse distinct values only and never hash millions of strings.
_DICT = pa.dictionary(pa.int32(), pa.large_string())


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


class ReadingChecks:
    """File reading and file-level checks (a part of the validator)."""

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
