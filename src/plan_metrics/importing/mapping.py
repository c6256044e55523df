"""The import mapping (DESIGN.md section 5.1, contract): a typed model read from YAML.

``load_mapping(path)`` reads the YAML file and checks it against the data contract before any
source file is opened: table and column names, the keys each entry may have, the types of their
values, and every constant and recode target against the contract column's type and code list.
A mistake raises one ``PlanMetricsError`` naming the mapping file, the YAML path (with its line)
and the fix.

Every scalar of the YAML is read as text (``KG``, ``01``, ``Y``, ``yes`` and ``2024`` stay what the
export writes), except ``null``/``~``/an empty value: the mapping's values end up as CSV text.
"""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import contract
from ..errors import PlanMetricsError
from . import values

DROP = "drop"
TABLE_KEYS = ("from", "sheet", "join", "columns", "where", "encoding")
JOIN_KEYS = ("from", "sheet", "on", "encoding")
COLUMN_KEYS = ("from", "value", "recode", "others", "sum_of", "from_date", "from_year", "year",
               "format")
#: exactly one of these says where a column's values come from
ORIGIN_KEYS = ("from", "value", "sum_of", "from_date", "from_year")
YEAR_WRITTEN = ("ending", "starting")


@dataclass(frozen=True)
class ColumnRule:
    """How one contract column is filled. ``path`` is its YAML path (for messages)."""
    table: str
    column: str
    path: str
    source: str | None = None            # from: a source column
    value: str | None = None             # value: a constant
    recode: dict[str, str] | None = None  # source text -> contract text or 'drop'
    others: str | None = None            # codes the recode does not list: 'drop' or a default
    sum_of: tuple[str, ...] | None = None
    from_date: str | None = None         # a date column -> the school year it falls in
    from_year: str | None = None         # a year number (2024) or span (2023-2024) -> 2023-24
    year: str = "ending"                 # from_year: 2024 is the year the school year ends
    date_format: str | None = None       # format: strptime format of a source date

    @property
    def kind(self) -> str:
        return contract.TABLES[self.table]["columns"][self.column][0]

    @property
    def codes(self):
        return contract.TABLES[self.table]["columns"][self.column][1]

    def source_columns(self) -> list[str]:
        """The source columns this rule reads."""
        if self.sum_of:
            return list(self.sum_of)
        return [c for c in (self.source, self.from_date, self.from_year) if c is not None]


@dataclass(frozen=True)
class JoinSpec:
    """A second file joined on ``on``: one row per key, its columns added to every row."""
    pattern: str
    on: tuple[str, ...]
    path: str
    sheet: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class TableMapping:
    """One contract table: its source files, optional join, column rules and row filter."""
    table: str
    path: str
    pattern: str
    columns: dict[str, ColumnRule]
    sheet: str | None = None
    join: JoinSpec | None = None
    where: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Mapping:
    """A whole mapping file. ``lines`` maps YAML paths to their 1-based line in the file."""
    file: Path
    tables: dict[str, TableMapping]
    district: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def where(self, path: str) -> str:
        """'M.yaml, tables.enrollment.columns.grade (line 12)' for messages."""
        return where(self.file, path, self.lines)


def where(file: Path, path: str, lines: dict[str, int]) -> str:
    """The location text of a YAML path: the file, the path and its line when known."""
    probe = path
    while probe and probe not in lines:
        probe = probe.rsplit(".", 1)[0] if "." in probe else ""
    line = lines.get(probe)
    return f"{file}, {path or '(top level)'}" + (f" (line {line})" if line else "")


def suggest(name: str, options) -> str | None:
    """The option a misspelt ``name`` most likely meant: one it starts or is part of, else the
    closest spelling; None when nothing is close."""
    options = list(options)
    low = str(name).lower()
    for test in (lambda o: o.lower().startswith(low), lambda o: low in o.lower()):
        hits = [o for o in options if test(o)]
        if len(hits) == 1:
            return hits[0]
    near = difflib.get_close_matches(str(name), options, n=1, cutoff=0.6)
    return near[0] if near else None


class MappingError(PlanMetricsError):
    """A mistake in the mapping file."""


# ------------------------------------------------------------------------------------------------
# YAML: every scalar as text, with the line of every path

class _TextLoader(yaml.SafeLoader):
    """A SafeLoader that resolves null only: KG, 01, Y, yes, 2024 and 1.0 stay text."""


_TextLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag == "tag:yaml.org,2002:null"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_yaml(file: Path) -> tuple[object, dict[str, int]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError(f"The mapping file {str(file)!r} does not exist", str(file),
                           "give the path of the mapping YAML (e.g. --mapping "
                           "data/examples/mapping.yaml)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError(f"The mapping file cannot be read ({e})", str(file),
                           "save it as a UTF-8 text file") from None
    loader = _TextLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise MappingError(f"The mapping file is not valid YAML: {problem}{line}", str(file),
                           "check the indentation (spaces, not tabs) and that a value holding "
                           "': ' or '#' is in quotes") from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if node is not None:
        _index_lines(node, "", lines)
    return data, lines


def _index_lines(node, prefix: str, lines: dict[str, int]) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}.{k.value}" if prefix else str(k.value)
            lines[key] = k.start_mark.line + 1
            _index_lines(v, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _index_lines(v, f"{prefix}[{i}]", lines)


# ------------------------------------------------------------------------------------------------
# The model

def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; raises MappingError (one message) at its first mistake."""
    file = Path(path)
    data, lines = _read_yaml(file)
    p = _Parser(file, lines)
    if not isinstance(data, dict):
        p.fail("", "The mapping must be a YAML mapping with a 'tables' key",
               "start the file with 'district: <name>' and 'tables:', one entry per contract "
               "table (DESIGN.md section 5.1)")
    p.keys(data, "", ("district", "tables"))
    district = data.get("district")
    if district is not None and not isinstance(district, str):
        p.fail("district", "district must be a name (text)", "write e.g. district: Example "
               "County Schools")
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        p.fail("tables", "The mapping has no tables" if tables is None or tables == {} else
               "tables must map contract table names to their entries",
               "add e.g. 'tables:' then 'enrollment:' with its 'from' and 'columns'")
    out = {}
    for name, entry in tables.items():
        out[name] = p.table(name, entry)
    return Mapping(file, out, district, lines)


class _Parser:
    def __init__(self, file: Path, lines: dict[str, int]):
        self.file, self.lines = file, lines

    def fail(self, path: str, what: str, fix: str):
        raise MappingError(what[0].upper() + what[1:], where(self.file, path, self.lines), fix)

    def keys(self, entry: dict, path: str, allowed: tuple[str, ...]) -> None:
        for key in entry:
            if key not in allowed:
                near = suggest(key, allowed)
                self.fail(f"{path}.{key}" if path else str(key), f"unknown key {key!r}",
                          (f"did you mean {near!r}? " if near else "") +
                          f"the keys allowed here are {', '.join(allowed)}")

    def text(self, value, path: str, what: str, fix: str) -> str:
        if not isinstance(value, str) or not value.strip():
            got = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) \
                else "empty" if value in (None, "") else repr(value)
            self.fail(path, f"{what} must be text, not {got}", fix)
        return value

    def table(self, name, entry) -> TableMapping:
        path = f"tables.{name}"
        if name not in contract.TABLES:
            near = suggest(name, contract.TABLES)
            self.fail(path, f"{name!r} is not a table of the data contract",
                      (f"did you mean {near!r}? " if near else "") + "the tables are " +
                      ", ".join(contract.TABLES))
        if not isinstance(entry, dict):
            self.fail(path, f"the entry of table {name} must be a mapping with 'from' and "
                      f"'columns'", f"write e.g. {name}: {{from: \"{name}_*.csv\", columns: ...}}")
        self.keys(entry, path, TABLE_KEYS)
        if "from" not in entry:
            self.fail(path, f"table {name} has no 'from'",
                      "add from: with the file name or glob of its export under --source, e.g. "
                      f"from: \"{name}_*.csv\"")
        pattern = self.text(entry["from"], f"{path}.from", "from",
                            "give a file name or glob under --source, e.g. \"enrollments_*.csv\"")
        sheet = self.optional_text(entry.get("sheet"), f"{path}.sheet", "sheet",
                                   "give the sheet's name as the workbook shows it, or null")
        encoding = self.encoding(entry.get("encoding"), f"{path}.encoding")
        where_ = entry.get("where")
        if where_ is not None:
            where_ = self.text(where_, f"{path}.where", "where",
                               "write a row filter in pandas query syntax, e.g. "
                               "\"Status != 'Withdrawn'\"")
        join = self.join(entry["join"], f"{path}.join") if entry.get("join") is not None else None
        cols = entry.get("columns")
        if not isinstance(cols, dict) or not cols:
            self.fail(f"{path}.columns", f"table {name} needs 'columns': contract column -> "
                      f"source column, one per line" if cols is None or cols == {} else
                      "columns must be a mapping (contract column: source column), not "
                      + ("a list" if isinstance(cols, list) else repr(cols)),
                      "write e.g. columns: {student_id: StudentNumber, ...}; the columns of "
                      f"{name} are {', '.join(contract.TABLES[name]['columns'])}")
        spec = contract.TABLES[name]["columns"]
        rules = {}
        for col, rule in cols.items():
            cpath = f"{path}.columns.{col}"
            if col not in spec:
                near = suggest(col, spec)
                self.fail(cpath, f"{col!r} is not a column of contract table {name}",
                          (f"did you mean {near!r}? " if near else "") +
                          f"the columns of {name} are {', '.join(spec)}")
            rules[col] = self.column(name, col, rule, cpath)
        missing = [c for c, (_, _, required) in spec.items() if required and c not in rules]
        if missing:
            self.fail(f"{path}.columns", f"table {name} does not say where its required "
                      f"column{'s' * (len(missing) > 1)} {', '.join(missing)} come"
                      f"{'s' * (len(missing) == 1)} from",
                      "map each to a source column, or give a constant with {value: ...}")
        return TableMapping(name, path, pattern, rules, sheet, join, where_, encoding)

    def optional_text(self, value, path, what, fix) -> str | None:
        return None if value is None else self.text(value, path, what, fix)

    def encoding(self, value, path) -> str:
        if value is None:
            return "utf-8"
        enc = self.text(value, path, "encoding", "write e.g. encoding: cp1252")
        try:
            codecs.lookup(enc)
        except LookupError:
            self.fail(path, f"unknown text encoding {enc!r}",
                      "use utf-8 (the default), cp1252 (Windows) or latin-1")
        return enc

    def join(self, entry, path) -> JoinSpec:
        if not isinstance(entry, dict):
            self.fail(path, "join must be a mapping with 'from' and 'on'",
                      "write e.g. join: {from: students.csv, on: StudentNumber}")
        self.keys(entry, path, JOIN_KEYS)
        for key in ("from", "on"):
            if key not in entry:
                self.fail(path, f"join has no {key!r}",
                          "write e.g. join: {from: students.csv, on: StudentNumber}")
        pattern = self.text(entry["from"], f"{path}.from", "join.from",
                            "give the file (or glob) of the second export, e.g. students.csv")
        on = entry["on"]
        on = [on] if isinstance(on, str) else on
        if not isinstance(on, list) or not on or not all(isinstance(x, str) and x for x in on):
            self.fail(f"{path}.on", "on must be a column name or a list of column names",
                      "write e.g. on: StudentNumber")
        sheet = self.optional_text(entry.get("sheet"), f"{path}.sheet", "sheet",
                                   "give the sheet's name as the workbook shows it, or null")
        return JoinSpec(pattern, tuple(on), path, sheet, self.encoding(entry.get("encoding"),
                                                                         f"{path}.encoding"))

    def column(self, table: str, col: str, rule, path: str) -> ColumnRule:
        kind, codes, required = contract.TABLES[table]["columns"][col]
        if isinstance(rule, str):
            return ColumnRule(table, col, path, source=self.text(rule, path, "a source column",
                                                                 "write the source column's name"))
        if rule is None:
            self.fail(path, f"column {col} is empty", "write the source column's name, or "
                      "{value: ...} for a constant")
        if not isinstance(rule, dict):
            self.fail(path, f"column {col} must be a source column name or a mapping, not a list",
                      "write e.g. " + col + ": {from: SourceColumn, recode: {...}}")
        self.keys(rule, path, COLUMN_KEYS)
        origins = [k for k in ORIGIN_KEYS if k in rule]
        if len(origins) != 1:
            self.fail(path, f"column {col} needs exactly one of from, value, sum_of, from_date, "
                      f"from_year" + (f" (it has {', '.join(origins)})" if origins else ""),
                      "keep the one that says where its values come from")
        origin = origins[0]
        args: dict = {}
        if origin == "value":
            value = rule["value"]
            if isinstance(value, (list, dict)):
                self.fail(f"{path}.value", "value must be a single constant",
                          f"write e.g. {{value: ...}} with one value for {col}")
            value = "" if value is None else value
            self.target(table, col, value, f"{path}.value", allow_drop=False)
            args["value"] = value
        elif origin == "sum_of":
            cols = rule["sum_of"]
            if not isinstance(cols, list) or not cols or \
                    not all(isinstance(c, str) and c for c in cols):
                self.fail(f"{path}.sum_of", "sum_of must be a list of source columns",
                          "write e.g. sum_of: [ExcusedAbsences, UnexcusedAbsences]")
            if kind not in ("count", "number"):
                self.fail(f"{path}.sum_of", f"sum_of adds numbers, and {col} is not a number "
                          f"column", "use from: with one source column")
            args["sum_of"] = tuple(cols)
        else:
            args[{"from": "source"}.get(origin, origin)] = self.text(
                rule[origin], f"{path}.{origin}", origin, "write the source column's name")
        if origin in ("from_date", "from_year") and kind != "year":
            self.fail(f"{path}.{origin}", f"{origin} gives a school year, and {col} is not a "
                      f"school-year column", "use from: for this column")
        if "year" in rule:
            if origin != "from_year":
                self.fail(f"{path}.year", "year goes with from_year only",
                          "remove it, or read the column with from_year")
            if rule["year"] not in YEAR_WRITTEN:
                self.fail(f"{path}.year", f"year must be 'ending' (2024 = 2023-24) or "
                          f"'starting' (2023 = 2023-24), not {rule['year']!r}",
                          "write year: ending or year: starting")
            args["year"] = rule["year"]
        if "format" in rule:
            if not (origin == "from_date" or (origin == "from" and kind == "date")):
                self.fail(f"{path}.format", "format (of a date) goes with from_date, or with "
                          "from on a date column", "remove it")
            fmt = self.text(rule["format"], f"{path}.format", "format",
                            "write a date format such as \"%m/%d/%Y\"")
            if "%" not in fmt:
                self.fail(f"{path}.format", f"{fmt!r} is not a date format",
                          "write it with strptime codes, e.g. \"%m/%d/%Y\" for 08/19/2019")
            args["date_format"] = fmt
        for key in ("recode", "others"):
            if key in rule and origin != "from":
                self.fail(f"{path}.{key}", f"{key} goes with from (a source column's codes)",
                          "remove it, or read the column with from")
        if "recode" in rule:
            recode = rule["recode"]
            if not isinstance(recode, dict) or not recode:
                self.fail(f"{path}.recode", "recode must map source codes to contract codes",
                          "write e.g. recode: {F: female, M: male}")
            out = {}
            for src, dst in recode.items():
                dst = "" if dst is None else dst
                self.target(table, col, dst, f"{path}.recode.{src}", allow_drop=True)
                out["" if src is None else str(src)] = dst
            args["recode"] = out
        if "others" in rule:
            others = "" if rule["others"] is None else rule["others"]
            self.target(table, col, others, f"{path}.others", allow_drop=True)
            args["others"] = others
        return ColumnRule(table, col, path, **args)

    def target(self, table: str, col: str, value, path: str, allow_drop: bool) -> None:
        """A constant or recode target must be a valid value of the contract column."""
        kind, codes, required = contract.TABLES[table]["columns"][col]
        if isinstance(value, (list, dict)):
            self.fail(path, f"the value for {col} must be a single value, not a "
                      f"{'list' if isinstance(value, list) else 'mapping'}",
                      "write one contract value (or drop)")
        if allow_drop and value == DROP:
            return
        if value == "":
            if required:
                self.fail(path, f"an empty value for the required column {col}",
                          "give a value" + (", or drop to remove the row" if allow_drop else ""))
            return
        problem = values.check(kind, codes, value)
        if problem:
            self.fail(path, f"{value!r} is not a valid {col}: {problem}",
                      values.hint(kind, codes, col) + (" (or drop to remove the row)"
                                                       if allow_drop else ""))

