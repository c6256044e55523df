"""Run parameters (DESIGN.md sections 2 and 9): params/defaults.yaml, params/<year>.yaml, --params.

The parameters of a school year are read in layers, the last one winning:
``params/defaults.yaml`` < ``params/<school_year>.yaml`` < the ``--params`` file < ``--min-n``.
Every key is checked against ``PARAMETERS`` (its type and range); an unknown key, a wrong type or a
file that is not YAML is one ``PlanMetricsError`` naming the file, the key and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from . import contract
from .errors import PlanMetricsError
from .options import Options
from .paths import PARAMS_DIR

DEFAULTS_FILE = "defaults.yaml"


def _whole(lo: int):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo
    return check, f"a whole number of at least {lo}"


def _number(lo: float, hi: float | None = None, open_lo: bool = True):
    def check(v):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return False
        return (v > lo if open_lo else v >= lo) and (hi is None or v < hi)
    return check, (f"a number between {lo} and {hi} (exclusive)" if hi is not None
                   else f"a number above {lo}")


def _text_or_null(v):
    return v is None or isinstance(v, str)


#: Every parameter a run accepts: name -> (check, description of the accepted values).
PARAMETERS: dict[str, tuple] = {
    "min_n": _whole(1),
    "protection": _whole(1),
    "cell_size": _whole(1),
    "n_size": _whole(1),
    "chronic_threshold": _number(0, 1),
    "rr_flag_high": _number(0),
    "rr_flag_low": _number(0),
    "gap_flag_points": _number(0),
    "cell_timeout": _whole(1),
    "data_note": (_text_or_null, "a text or null"),
}
#: Parameters that are run options (they change numbers); the others steer the run.
OPTION_KEYS = tuple(k for k in PARAMETERS if k in Options.__dataclass_fields__)


def read_params_file(path: Path | str, *, allow_school_year: bool = True) -> dict[str, Any]:
    """Read and check one parameter file; {} for an empty file. Raises PlanMetricsError."""
    path = Path(path)
    if not path.is_file():
        raise PlanMetricsError(f"The parameter file {str(path)!r} does not exist", str(path),
                               "give the path of a YAML file such as params/defaults.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        raise PlanMetricsError(f"The parameter file is not valid YAML "
                               f"({getattr(e, 'problem', None) or e})", where,
                               "fix the YAML at that line: one 'key: value' per line") from None
    except UnicodeDecodeError:
        raise PlanMetricsError("The parameter file is not UTF-8 text", str(path),
                               "save it as UTF-8") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PlanMetricsError("The parameter file does not hold 'key: value' lines", str(path),
                               "write one parameter per line, e.g. 'min_n: 10'")
    for key, value in data.items():
        if key == "school_year" and allow_school_year:
            try:
                contract.parse_school_year(value)
            except ValueError:
                raise PlanMetricsError(f"school_year {value!r} is not a school year", f"{path}, "
                                       f"key school_year", "write it as YYYY-YY in quotes, e.g. "
                                       "school_year: \"2024-25\"") from None
            continue
        if key not in PARAMETERS:
            raise PlanMetricsError(f"Unknown parameter {key!r}", f"{path}, key {key}",
                                   f"use only {', '.join(PARAMETERS)}"
                                   + (" (set the years with --years)" if key == "school_year" else ""))
        check, accepted = PARAMETERS[key]
        if not check(value):
            raise PlanMetricsError(f"Parameter {key} must be {accepted}, not {value!r}",
                                   f"{path}, key {key}", f"set {key} to {accepted}")
    return dict(data)


def year_params(school_year: str, params_file: Path | str | None = None,
                overrides: dict[str, Any] | None = None,
                params_dir: Path | str = PARAMS_DIR) -> tuple[dict[str, Any], list[str]]:
    """The parameters of one school year and the files they came from.

    Returns ``(params, sources)``: params has every key of ``PARAMETERS`` plus ``school_year``;
    sources lists the files read, in order. ``overrides`` (e.g. ``{"min_n": 20}`` from --min-n)
    are checked like file values; None values are ignored.
    """
    params_dir = Path(params_dir)
    defaults_path = params_dir / DEFAULTS_FILE
    merged: dict[str, Any] = {}
    sources: list[str] = []
    if defaults_path.is_file():
        merged.update(read_params_file(defaults_path, allow_school_year=False))
        sources.append(str(defaults_path))
    missing = [k for k in PARAMETERS if k not in merged]
    if missing:
        raise PlanMetricsError(f"The default parameters lack {', '.join(missing)}",
                               str(defaults_path), "restore params/defaults.yaml from the "
                               "repository (every parameter needs a default)")
    year_path = params_dir / f"{school_year}.yaml"
    if year_path.is_file():
        year = read_params_file(year_path)
        if year.get("school_year", school_year) != school_year:
            raise PlanMetricsError(f"The parameter file of {school_year} says school_year "
                                   f"{year['school_year']!r}", f"{year_path}, key school_year",
                                   f"set school_year: \"{school_year}\" (it must match the file name)")
        merged.update(year)
        sources.append(str(year_path))
    if params_file is not None:
        extra = read_params_file(params_file)
        if "school_year" in extra and extra["school_year"] != school_year:
            raise PlanMetricsError(f"The parameter file is for school year "
                                   f"{extra['school_year']!r}, but the run computes {school_year}",
                                   f"{params_file}, key school_year",
                                   "remove school_year from the file (the years come from --years) "
                                   "or run only that year")
        merged.update(extra)
        sources.append(str(Path(params_file).resolve()))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        check, accepted = PARAMETERS[key]
        if not check(value):
            flag = "--" + key.replace("_", "-")
            raise PlanMetricsError(f"{flag} must be {accepted}, not {value!r}",
                                   "the command line", f"give {flag} {accepted}")
        merged[key] = value
    merged["school_year"] = school_year
    return merged, sources


def options_of(params: dict[str, Any]) -> Options:
    """The run Options (numbers-changing parameters) of a parameter dict."""
    return Options.from_params({k: params[k] for k in OPTION_KEYS if k in params})
