"""The edition's tables (DESIGN.md section 8, contract): results and status columns, and checks.

Units of ``value``: proportions as fractions 0..1, gaps in percentage points, risk ratios as ratios,
the MPI as its index, per_100 per 100 students, means in their own unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import PlanMetricsError

ALL = "all"            # group_by and group of the all-students row
DISTRICT = "ALL"       # building_id of the district row

#: results.parquet columns and their pandas dtypes, in order.
RESULTS_COLUMNS: dict[str, str] = {
    "plan_id": "string", "measure_id": "string", "school_year": "string",
    "building_id": "string", "group_by": "string", "group": "string",
    "n": "Int64", "numerator": "Float64", "denominator": "Float64", "value": "Float64",
    "ci_low": "Float64", "ci_high": "Float64", "comparison_value": "Float64",
    "suppressed": "bool", "display": "string", "note": "string",
}
#: status.parquet columns and their pandas dtypes, in order.
STATUS_COLUMNS: dict[str, str] = {
    "plan_id": "string", "measure_id": "string", "school_year": "string",
    "value": "Float64", "baseline_year": "string", "baseline_value": "Float64",
    "target_year": "string", "target_value": "Float64", "expected_value": "Float64",
    "status": "string", "rule_text": "string",
}
STATUSES = ("met", "on track", "progressing", "off track", "improving", "no clear change",
            "declining", "not enough data")
RESULTS_KEY = ["plan_id", "measure_id", "school_year", "building_id", "group_by", "group"]
_SUPPRESSED_EMPTY = ["n", "numerator", "denominator", "value", "ci_low", "ci_high",
                     "comparison_value"]


def empty_results() -> pd.DataFrame:
    """A results table with no rows and the contract's columns and dtypes."""
    return conform(pd.DataFrame(columns=list(RESULTS_COLUMNS)), RESULTS_COLUMNS)


def empty_status() -> pd.DataFrame:
    return conform(pd.DataFrame(columns=list(STATUS_COLUMNS)), STATUS_COLUMNS)


def conform(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Order and type the columns as the contract says; missing optional columns become empty."""
    out = pd.DataFrame(index=df.index)
    for col, dtype in columns.items():
        s = df[col] if col in df.columns else pd.Series(pd.NA, index=df.index)
        if dtype == "bool":
            s = s.fillna(False).astype(bool)
        elif dtype in ("Float64", "Int64"):
            s = pd.to_numeric(s, errors="raise")
            if dtype == "Int64":
                s = s.round()
            s = s.astype("Float64").astype(dtype) if dtype == "Int64" else s.astype(dtype)
        else:
            s = s.astype(dtype)
        out[col] = s
    return out.reset_index(drop=True)


def validate_results(results: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Conform and check a results table; raise PlanMetricsError naming the first broken rule.

    Checks: columns and types, unique key, suppressed rows carry no number, no published n under
    min_n, proportions within 0..1 and intervals around their value.
    """
    df = conform(results, RESULTS_COLUMNS)
    dup = df.duplicated(RESULTS_KEY, keep=False)
    if dup.any():
        raise _bad("duplicate result rows", df[dup].head(3))
    sup = df["suppressed"]
    leaked = sup & df[_SUPPRESSED_EMPTY].notna().any(axis=1)
    if leaked.any():
        raise _bad("suppressed rows that still carry numbers", df[leaked].head(3))
    small = (~sup) & df["n"].notna() & (df["n"] < min_n)
    if small.any():
        raise _bad(f"published rows with n under min_n={min_n}", df[small].head(3))
    lo, hi, v = df["ci_low"], df["ci_high"], df["value"]
    bad_ci = (lo.notna() & v.notna() & (lo > v + 1e-9)) | (hi.notna() & v.notna() & (hi < v - 1e-9))
    if bad_ci.any():
        raise _bad("intervals that do not contain their value", df[bad_ci].head(3))
    if df["display"].isna().any():
        raise _bad("rows without display text", df[df["display"].isna()].head(3))
    return df


def validate_status(status: pd.DataFrame) -> pd.DataFrame:
    """Conform and check a status table (one row per measure and year, known status words)."""
    df = conform(status, STATUS_COLUMNS)
    unknown = ~df["status"].isin(STATUSES)
    if unknown.any():
        raise _bad("unknown status words", df[unknown].head(3))
    if df.duplicated(["plan_id", "measure_id", "school_year"]).any():
        raise _bad("duplicate status rows", df[df.duplicated(["plan_id", "measure_id", "school_year"])])
    return df


def _bad(what: str, rows: pd.DataFrame) -> PlanMetricsError:
    sample = rows[[c for c in RESULTS_KEY if c in rows.columns]].to_dict("records")
    return PlanMetricsError(f"The computed results have {what}", f"e.g. {sample}",
                            "this is a defect in plan-metrics, not in your data: report it with "
                            "the executed notebooks of the run")


def is_missing(x) -> bool:
    """True for None, NaN and pd.NA."""
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))
