"""Load and validate a district's data directory (DESIGN.md section 5; ``plan-metrics validate``).

``load_data(data_dir)`` reads the CSV files ``<table>.csv`` of the data contract
(``contract.TABLES``), checks every file, column and row against it, and returns a typed
``Tables`` mapping. Invalid data never comes back: every problem found (not just the first) is
collected as a ``Problem`` (file, CSV line, column, value, message, hint) and ``load_data`` raises
one ``PlanMetricsError`` whose ``problems`` holds them all. A systematic fault in a large file is
reported once per (file, column, fault) with a few example lines and a count.

Checks are vectorized: pyarrow reads every column dictionary-encoded, only the distinct values
are parsed in Python, keys and joins compare integer codes; a few million rows validate in
seconds. At the very end, for the kept rows only, text columns become categoricals of the values
they hold, sorted (years, codes, buildings, items...), and the identifiers of people and events
(student_id, respondent_id, staff_id, incident_id) pandas ``str`` (``validator.PER_PERSON``).

Severity: a survey response (or a discipline, assessment, program... row) of a student who is not
in ``enrollment.csv`` for that school year is a *warning*, not an error: the row still counts for
the district and the building, but it cannot be broken down by student group. Survey vendors'
rosters often lag the SIS by a few students, and rejecting the whole file for that would block a
board report. Warnings are printed by ``validate`` and kept in ``Tables.warnings``.

The package is split by concern: ``reading`` (files, encoding, header), ``table_checks`` (column
types, keys, one-table rules), ``cross_checks`` (rules between tables), ``report`` (``Problem``,
``Tables`` and the printed texts), ``values`` (the value parsers) and ``validator`` (the run).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .. import contract
from ..errors import PlanMetricsError
from .report import MAX_EXAMPLES, Problem, Tables, _summary_error, format_problems, summary
from .validator import _Validator
from .values import (CODE_RE, DATE_RE, TRUE_WORDS, _parse_bool, _parse_code, _parse_count,  # noqa: F401 (the names the module had)
                     _parse_date, _parse_grade, _parse_level, _parse_year)

__all__ = ["load_data", "validate_data", "check_data", "main", "format_problems", "summary",
           "Problem", "Tables", "MAX_EXAMPLES"]

#: Tables a loaded table needs for its cross-table checks.
_NEEDS = {"survey_responses": ("survey_items",)}


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


def check_data(data_dir: str | Path) -> list[Problem]:
    """Every problem of a whole data directory, exactly as ``validate_data`` finds them, without
    typing the tables (for a caller that needs the verdict only, such as ``plan-metrics import``:
    the typed tables, text columns decoded, are most of a large district's validation memory).
    A missing data directory raises PlanMetricsError.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        validate_data(data_dir)               # raises its error
    v = _Validator(data_dir, typed=False)
    v.run(_tables_to_read(None), check_strays=True)
    return v.problems


def main(args) -> int:
    """``plan-metrics validate --data DIR [--plan P]``: print every problem, or a summary."""
    plan = None
    if getattr(args, "plan", None):
        from ..plan import load_plan
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
        # kept for the run that usually follows, which then need not validate the files again
        from ..runs.snapshot_cache import keep_validated
        keep_validated(tables, data_dir)
        if plan is not None:
            from ..coverage import format_coverage, plan_coverage
            text += format_coverage(plan, plan_coverage(plan, tables))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:         # `plan-metrics validate ... | head`: the reader left early
        sys.stdout = open(os.devnull, "w")
    return 1 if tables is None else 0


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
