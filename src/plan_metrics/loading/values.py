"""Value parsers of the data contract's column types, called once per distinct value.

Each ``_parse_<type>(text)`` returns the typed value or raises ValueError with the reason the
validator reports (``_generic`` is the short reason for a summary line).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import contract

CODE_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


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
