"""``plan-metrics import``: a district's raw exports -> the contract's data directory (DESIGN.md 5.1).

``import_exports(mapping, source, out)`` reads the mapping (``mapping``), builds every table it
names from the files under ``source`` (``transform``), writes them as contract CSV files into a
temporary folder beside ``out``, validates that folder exactly as ``plan-metrics validate`` does
(``loading.check_data``: validate_data's checks, without building its typed tables), and only then
moves it to ``out``. On any problem nothing is written to ``out`` (an earlier import there is left
as it was) and one ``PlanMetricsError`` says what, where and how to fix it.

Memory: one table is built at a time, as Categoricals (CSV files streamed block by block into
their codes, ``sources.read_all``), written a slice of rows at a time, and freed before the next;
the validation reads the written folder afresh.

``out`` also gets ``IMPORT.yaml``: the mapping and source files read, and per table the rows read,
left out by the ``where`` filter, dropped by a recode's ``drop`` and written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

from .. import contract
from ..errors import PlanMetricsError
from .mapping import Mapping, MappingError, load_mapping
from .transform import TableResult, Uncovered, build_table

__all__ = ["import_exports", "load_mapping", "main", "Mapping", "MappingError", "REPORT_FILE"]

REPORT_FILE = "IMPORT.yaml"
#: files an earlier import (or the demo generator) leaves in a data directory; any other file in
#: --out means it is not a data directory and is not replaced
_REPLACEABLE = {f"{t}.csv" for t in contract.TABLES} | {REPORT_FILE, "PLANTED.yaml", "README.md"}


@dataclass
class ImportSummary:
    """What an import did: the output folder, per-table results and the seconds it took."""
    out: Path
    tables: dict[str, dict]
    seconds: float
    warnings: list


def import_exports(mapping: str | Path, source: str | Path, out: str | Path,
                   verbose: bool = False) -> ImportSummary:
    """Import the raw exports under ``source`` with the mapping file into the data folder ``out``.

    Raises PlanMetricsError (nothing written to ``out``) on a mapping mistake, a source that
    cannot be read, values the mapping does not cover, or output that fails validation.
    """
    t0 = time.perf_counter()
    m = load_mapping(mapping)
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise PlanMetricsError(f"The source folder {str(source)!r} does not exist"
                               if not source.exists() else f"{str(source)!r} is a file, not a "
                               f"folder", "--source", "give the folder that holds the raw "
                               "exports the mapping's 'from' globs name")
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.importing-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        results: dict[str, dict] = {}
        uncovered: list[Uncovered] = []
        for name in contract.TABLES:          # contract order, whatever the mapping's order
            tm = m.tables.get(name)
            if tm is None:
                continue
            if verbose:
                print(f"  {name} <- {tm.pattern}" + (f" + {tm.join.pattern}" if tm.join else ""),
                      flush=True)
            res = build_table(tm, m, source)
            uncovered += res.uncovered
            if not res.uncovered:
                _write(res, tmp / f"{name}.csv")
            results[name] = _describe(res, source)
            del res                                 # one table in memory at a time
            pa.default_memory_pool().release_unused()
        if uncovered:
            raise _uncovered_error(m, uncovered)
        from ..loading import check_data, format_problems
        pa.default_memory_pool().release_unused()
        problems = check_data(tmp)      # validate_data's checks, without its typed tables
        if any(p.severity == "error" for p in problems):
            raise _invalid_error(m, out, tmp, problems, format_problems)
        warnings = [p.text() for p in problems if p.severity == "warning"]
        seconds = time.perf_counter() - t0
        report = {"district": m.district, "mapping": str(Path(mapping).resolve()),
                  "mapping_sha256": hashlib.sha256(Path(mapping).read_bytes()).hexdigest(),
                  "source": str(source.resolve()), "tables": results,
                  "validation_warnings": len(warnings)}
        (tmp / REPORT_FILE).write_text(yaml.safe_dump(report, sort_keys=False, width=100),
                                       encoding="utf-8")
        _replace(tmp, out)
        return ImportSummary(out, results, seconds, warnings)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise PlanMetricsError(f"--out {str(out)!r} is a file", "--out",
                               "give a folder for the imported data (it is created if missing)")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _REPLACEABLE)
        if foreign:
            raise PlanMetricsError(
                f"--out {str(out)!r} holds files that are not a data directory's "
                f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}), so it is not "
                f"replaced", "--out", "give a new or empty folder, or one an earlier import "
                "wrote")


def _replace(tmp: Path, out: Path) -> None:
    """Move the validated folder to ``out``; an earlier import there is replaced as a whole."""
    if out.exists():
        old = out.parent / f".{out.name}.previous-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


#: rows written at a time: the text of a slice is made, written and freed before the next
_WRITE_ROWS = 1 << 20


def _write(res: TableResult, path: Path) -> None:
    """The table as a contract CSV: header, contract column order, empty cell = missing.

    Written a slice of rows at a time from the Categoricals' codes (the whole table is never
    decoded to text); the bytes are those of writing the table in one go.
    """
    names = list(res.columns)
    dictionaries, quote = [], False
    for cat in res.columns.values():
        dictionaries.append(pa.array(list(cat.categories), type=pa.large_string()))
        quote = quote or any(any(ch in c for ch in ',"\r\n') for c in cat.categories)
    n = res.rows
    with open(path, "wb") as fh:
        if quote:     # a free text with a comma or quote: quote the texts (pandas' CSV rules)
            import csv
            import io
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerow(names)
            fh.write(text.getvalue().encode("utf-8"))
        else:
            fh.write((",".join(names) + "\n").encode("utf-8"))
        for start in range(0, max(n, 1), _WRITE_ROWS):
            arrays = []
            for cat, dictionary in zip(res.columns.values(), dictionaries):
                codes = cat.codes[start:start + _WRITE_ROWS]
                mask = codes < 0
                indices = pa.array(codes.astype("int32"), mask=mask if mask.any() else None)
                arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
            table = pa.table(dict(zip(names, arrays)))
            del arrays
            if quote:
                table.to_pandas().to_csv(fh, index=False, header=False, lineterminator="\n")
            else:
                pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                              quoting_style="none"))
            del table


def _describe(res: TableResult, source: Path) -> dict:
    return {"files": [str(p.relative_to(source)) for p in res.files],
            "rows_read": res.rows_read, "left_out_by_where": res.dropped_where,
            "dropped_by_recode": res.dropped_recode, "rows_written": res.rows}


def _uncovered_error(m: Mapping, found: list[Uncovered]) -> PlanMetricsError:
    n_values = sum(len(u.found) for u in found)
    n_rows = sum(n for u in found for _, n, _ in u.found)
    listing = " | ".join(u.text() for u in found)
    return MappingError(
        f"The mapping does not cover {n_values:,} value{'s' * (n_values != 1)} of the exports "
        f"({n_rows:,} row{'s' * (n_rows != 1)}); no row is dropped silently, so nothing was "
        f"imported. {listing}", f"{m.file}",
        "for a code, add it to the column's recode (or say others: drop, or others: <code>, "
        "for every code not listed); for a year or date, check the column (or give format:); "
        "an empty required value needs the export fixed or the row filtered out with where:",
        problems=found)


def _invalid_error(m: Mapping, out: Path, tmp: Path, problems, format_problems):
    errors = [p for p in problems if p.severity == "error"]
    n = sum(p.count for p in errors)
    first = "; ".join(p.text().rstrip(".") for p in errors[:4])
    more = f" (and {n - sum(p.count for p in errors[:4]):,} more)" if len(errors) > 4 else ""
    return PlanMetricsError(
        f"The tables the mapping produces do not pass validation ({n:,} "
        f"problem{'s' * (n != 1)}), so nothing was written to {out}: {first}{more}",
        f"{m.file} (line numbers are those of the imported file, header = line 1)",
        "correct the mapping (or the exports) for the columns named; the checks are those of "
        "plan-metrics validate (DESIGN.md section 5)", problems=problems)


def main(args) -> int:
    """``plan-metrics import --mapping FILE --source DIR --out DIR``."""
    print(f"Importing {args.source} with {args.mapping}:", flush=True)
    s = import_exports(args.mapping, args.source, args.out, verbose=True)
    width = max(len(t) for t in s.tables) if s.tables else 10
    for name, r in s.tables.items():
        left = []
        if r["left_out_by_where"]:
            left.append(f"{r['left_out_by_where']:,} left out by where")
        if r["dropped_by_recode"]:
            left.append(f"{r['dropped_by_recode']:,} dropped by recode")
        print(f"  {name:<{width}} {r['rows_written']:>10,} rows from {len(r['files'])} "
              f"file{'s' * (len(r['files']) != 1)}" + (f" ({', '.join(left)})" if left else ""))
    for w in s.warnings[:10]:
        print(f"  {w}")
    print(f"{s.out}: valid; written in {s.seconds:.1f} s (details in {s.out / REPORT_FILE}). "
          f"Next: plan-metrics validate --data {s.out} --plan PLAN")
    sys.stdout.flush()
    return 0
