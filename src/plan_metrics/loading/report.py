"""What validation reports: ``Problem`` (one finding), ``Tables`` (the validated tables), and
the texts ``validate`` prints (``format_problems``, ``summary``) or raises (``_summary_error``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import contract
from ..errors import PlanMetricsError

#: At most this many example lines per (file, column, fault); the rest are counted.
MAX_EXAMPLES = 5


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
