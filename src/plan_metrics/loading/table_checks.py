"""Per-table checks: every column against its contract type, the table's key, and the rules of
one table (grade_low <= grade_high, days_absent <= days_enrolled, a survey item's scale).

``_Column`` is one parsed column (typed values, missing mask, codes of its distinct values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract
from .reading import _File
from .report import MAX_EXAMPLES, Problem
from .values import (_generic, _number_msg, _parse_bool, _parse_code, _parse_count, _parse_date,
                     _parse_grade, _parse_level, _parse_year)


class _Column:
    """One parsed column: typed values (None for text, decoded at the end), missing mask, codes
    and distinct values (for keys and joins)."""

    def __init__(self, typed: pd.Series | np.ndarray, missing: np.ndarray,
                 codes: np.ndarray | None = None, uniques: np.ndarray | None = None):
        self.typed, self.missing, self.codes, self.uniques = typed, missing, codes, uniques


class TableChecks:
    """Column, key and one-table rules (a part of the validator)."""

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
