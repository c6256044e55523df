"""Contract values as text: check a value against a column's type, and write it the canonical way.

The importer writes every cell as the contract's text (DESIGN.md section 5): ``K`` and ``05`` as
``0`` and ``5``, ``Yes`` as ``true``, ``1.50`` as ``1.5``, a date as ``YYYY-MM-DD``. The rules are
the validator's own parsers (``loading``), so what passes here passes ``validate``.
"""

from __future__ import annotations

import math

from ..loading.values import (_parse_bool, _parse_code, _parse_count, _parse_date, _parse_grade,
                       _parse_level, _parse_year)


def normalize(kind: str, codes, text: str) -> str:
    """The canonical contract text of ``text`` for a column of ``kind``; ValueError (with the
    reason) when it is not a valid value. Empty text stays empty (missing)."""
    if text == "":
        return ""
    if kind == "code":
        return _parse_code(text, codes)
    if kind == "year":
        return _parse_year(text)
    if kind == "bool":
        return "true" if _parse_bool(text) else "false"
    if kind in ("grade", "count", "level"):
        parse = {"grade": _parse_grade, "count": _parse_count, "level": _parse_level}[kind]
        return str(parse(text))
    if kind == "number":
        return format_number(text)
    if kind == "date":
        return str(_parse_date(text))[:10]
    if kind == "id" and not text.strip():
        raise ValueError("an id cannot be blank")
    return text


def format_number(text: str) -> str:
    """'1.50' -> '1.5', '20.0' -> '20'; ValueError when not a finite number >= 0."""
    try:
        x = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError("not a finite number 0 or more")
    return number_text(x)


def number_text(x: float) -> str:
    """A float as the shortest text: 20.0 -> '20', 0.5 -> '0.5'."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def check(kind: str, codes, text: str) -> str | None:
    """None when ``text`` is a valid value of the column, else the reason."""
    try:
        normalize(kind, codes, text)
    except ValueError as e:
        return str(e)
    return None


def hint(kind: str, codes, column: str) -> str:
    """What a valid value of the column looks like."""
    if codes:
        return f"the codes of {column} are {', '.join(codes)}"
    return {"code": f"{column} is a lower-case snake_case code, e.g. student_sel",
            "year": "a school year is written YYYY-YY, e.g. 2023-24",
            "bool": "write true or false",
            "grade": "a grade is K (or 0) or 1 to 12",
            "count": "write a whole number, 0 or more",
            "level": "write a level from 1 to 4",
            "number": "write a number, 0 or more",
            "date": "write a date YYYY-MM-DD (or give format: for the source's dates)",
            }.get(kind, f"write a value for {column}")
