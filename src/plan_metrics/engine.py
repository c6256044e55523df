"""The measure engine's entry points: every measure of a plan for a school year.

compute_measures(plan, tables, school_year, options, measure_ids=None) -> results (validated,
    suppressed, with display text; a 'no data' row for a measure whose data is absent)
compute_status(plan, tables, school_year, options, results=None) -> status rows (section 6)
compute_plan(plan, data_dir | tables, school_year, options) -> (results, status)
domain_of(measure) -> the compute notebook (data domain) that computes it

Per measure: the kind function (kinds.KINDS) computes the unsuppressed rows, privacy.apply
suppresses small cells and privacy.display writes the text shown; status.compute compares the
district all-students value with the baseline and target. The baseline's district rows of earlier
years are computed as needed (without student groups) and cached per table set, or taken from
rows computed ahead (status_rows_ahead: a run's compute notebooks compute them in parallel).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from . import contract, privacy, texts
from . import status as status_mod
from .errors import PlanMetricsError
from .options import Options
from .plan import Measure, Plan, load_plan
from .results import (ALL, DISTRICT, empty_results, empty_status, validate_results,
                      validate_status)

DOMAINS = ("surveys", "discipline", "staffing", "achievement", "attendance", "graduation",
           "programs", "rubrics_and_audits", "action_steps")


def domain_of(measure: Measure) -> str:
    """The data domain (compute notebook) a measure belongs to, from its kind and source."""
    if measure.kind == "percent_favorable":
        return "surveys"
    if measure.source == "discipline":
        return "discipline"
    if measure.source == "staff":
        return "staffing"
    if measure.source == "assessments":
        return "achievement"
    if measure.source == "enrollment":
        return "attendance"
    if measure.source == "graduation_cohort":
        return "graduation"
    if measure.source in ("programs", "service_hours"):
        return "programs"
    if measure.source in ("progression_rubrics", "educator_evaluations", "curriculum_audit"):
        return "rubrics_and_audits"
    return "action_steps"


# ---- entry points -------------------------------------------------------------------------------

_STATUS_CACHE: dict[int, tuple] = {}  # id(tables) -> (reference to tables, {key: rows})
_CACHE_TABLE_SETS = 2  # distinct table sets whose district rows are kept


def _plan(plan: Plan | str | Path) -> Plan:
    return plan if isinstance(plan, Plan) else load_plan(plan)


def data_years(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The school years present in the data (every table with a school_year column)."""
    years = getattr(tables, "years", None)
    if years is not None:
        return list(years)
    found: set[str] = set()
    for name, df in tables.items():
        col = contract.YEAR_COLUMN.get(name)
        if df is not None and col and name != "graduation_cohort" and col in df.columns:
            found.update(df[col].dropna().astype(str).unique().tolist())
    return sorted(found)


def check_year(tables: Mapping[str, pd.DataFrame], school_year: str) -> None:
    """Raise PlanMetricsError unless ``school_year`` is written YYYY-YY and present in the data."""
    try:
        contract.parse_school_year(school_year)
    except ValueError as e:
        raise PlanMetricsError(str(e), "parameter school_year",
                               "write the school year as YYYY-YY, e.g. 2023-24") from None
    years = data_years(tables)
    if school_year not in years:
        present = ", ".join(years) if years else "none"
        raise PlanMetricsError(f"The data has no school year {school_year}",
                               f"the data holds the years {present}",
                               "choose one of those years, or add that year's exports to the "
                               "data directory")


def _measures(plan: Plan, measure_ids) -> list[Measure]:
    measures = plan.measures()
    if measure_ids is None:
        return measures
    wanted = [measure_ids] if isinstance(measure_ids, str) else list(measure_ids)
    known = {m.id for m in measures}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise PlanMetricsError(f"Plan {plan.id} has no measure {', '.join(unknown)}",
                               f"plan {plan.id}", f"use measure ids of the plan, e.g. "
                               f"{', '.join(sorted(known)[:3])}")
    return [m for m in measures if m.id in wanted]


def no_data_row(reason: str) -> pd.DataFrame:
    """The one explicit row of a measure whose data is absent (district, all students)."""
    row = {"building_id": DISTRICT, "group_by": ALL, "group": ALL, "n": pd.NA}
    row.update({c: float("nan") for c in privacy.NUMBER_COLUMNS[1:]})
    row.update(suppressed=False, display=texts.text("display.no_data"),
               note=texts.fill("notes.no_data", reason=reason))
    return pd.DataFrame([row])


def measure_rows(measure: Measure, tables: Mapping[str, pd.DataFrame], school_year: str,
                 options: Options, display: bool = True, keep_truth: bool = False
                 ) -> pd.DataFrame:
    """One measure's rows for a year: the kind's rows after the first privacy pass
    (privacy.apply: the measure's own table), with display text (unless ``display`` is false:
    the status needs only the numbers).

    ``keep_truth`` keeps the true counts in ``n_true``, ``numerator_true`` and
    ``denominator_true`` (and the band side in ``band``) for the run's protection of the whole
    reports folder (privacy.protect); they never reach an edition.
    A kind raising ``kinds.NoData`` (or returning no rows) gives the single 'no data' row.
    """
    from . import kinds  # the kind modules import the engine's neighbours; import late

    try:
        compute = kinds.KINDS[measure.kind]
    except KeyError:
        raise PlanMetricsError(f"Measure kind {measure.kind} is not implemented",
                               f"measure {measure.id}", "this is a defect in plan-metrics") from None
    try:
        rows = compute(tables, measure, school_year, options)
    except kinds.NoData as e:
        return no_data_row(str(e))
    if rows is None or len(rows) == 0:
        return no_data_row(f"no rows for {school_year}")
    relation = privacy.relation_of(measure)
    truth = {f"{q}_true": rows[q].to_numpy() for q in privacy.COUNT_COLUMNS} if keep_truth else {}
    rows = privacy.apply(rows, options.min_n, relation, privacy.compares(measure))
    if display:
        rows["display"] = privacy.display(rows, privacy.unit_of(measure), options.min_n, relation)
    for col, values in truth.items():
        rows[col] = values
    return rows


def compute_measures(plan: Plan | str, tables: Mapping[str, pd.DataFrame], school_year: str,
                     options: Options | None = None, measure_ids=None,
                     keep_truth: bool = False) -> pd.DataFrame:
    """Every measure of ``plan`` (or those of ``measure_ids``) for ``school_year``: the validated,
    suppressed results rows (results.RESULTS_COLUMNS) with plan_id, measure_id and school_year.

    Raises PlanMetricsError for a school year that is not in the data or an unknown measure id.
    """
    plan = _plan(plan)
    options = options or Options()
    check_year(tables, school_year)
    frames = []
    for m in _measures(plan, measure_ids):
        rows = measure_rows(m, tables, school_year, options, keep_truth=keep_truth)
        frames.append(rows.assign(plan_id=plan.id, measure_id=m.id, school_year=school_year))
    if not frames:
        return empty_results()
    rows = pd.concat(frames, ignore_index=True)
    out = validate_results(rows, options.min_n)
    if keep_truth:
        for col in privacy.PRIVATE_COLUMNS:
            out[col] = rows[col].to_numpy() if col in rows.columns else None
    return out


def status_key(measure: Measure, school_year: str, options: Options, with_groups: bool) -> str:
    """The name of one measure-year's district rows for the status: everything they depend on
    (with the tables), as a short digest, the same in every process."""
    text = json.dumps([measure.model_dump_json(), school_year, options.to_dict(), with_groups],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _district_rows(measure: Measure, tables, school_year: str, options: Options,
                   with_groups: bool, ahead: Mapping[str, pd.DataFrame] | None = None
                   ) -> list[dict]:
    """The measure's suppressed district rows for a year, as dicts (cached per table set).

    Without ``with_groups`` only the all-students row is needed, so the kind runs without the
    student groups (its buildings still take part in the suppression). ``ahead``: such rows
    computed beforehand (``status_rows_ahead``), by ``status_key``.
    """
    cache = _status_cache(tables)
    key = status_key(measure, school_year, options, with_groups)
    if key not in cache:
        if ahead is not None and key in ahead:
            cache[key] = ahead[key]
        else:
            m = measure if with_groups else measure.model_copy(update={"groups": []})
            rows = measure_rows(m, tables, school_year, options, display=False)
            cache[key] = rows[rows["building_id"] == DISTRICT]
    return _district_of(cache[key], school_year)


def _status_cache(tables) -> dict[str, pd.DataFrame]:
    """{status_key: district rows} of one table set."""
    entry = _STATUS_CACHE.get(id(tables))
    if entry is None or entry[0]() is not tables:
        if len(_STATUS_CACHE) >= _CACHE_TABLE_SETS:
            _STATUS_CACHE.pop(next(iter(_STATUS_CACHE)))
        try:  # a weak reference where possible: the cache must not keep a large district alive
            ref = weakref.ref(tables)
        except TypeError:  # a plain dict of tables
            ref = lambda: tables  # noqa: E731
        entry = (ref, {})
        _STATUS_CACHE[id(tables)] = entry
    return entry[1]


def _district_of(rows: pd.DataFrame, school_year: str) -> list[dict]:
    out = rows[rows["building_id"] == DISTRICT]
    if out.empty:
        out = no_data_row("no district row")
    recs = out.to_dict("records")
    for r in recs:
        r["school_year"] = school_year
    return recs


def _published_in(rows: list[dict], focus: tuple[str, str] | None) -> bool:
    gb, g = focus or (ALL, ALL)
    hit = next((r for r in rows if r["group_by"] == gb and r["group"] == g), None)
    return hit is not None and not hit["suppressed"] and not pd.isna(hit["value"])


def _baseline_years(measure: Measure, tables, school_year: str) -> list[str]:
    """The years that may hold the status's baseline, in the order they are tried: the measure's
    ``baseline_year``, else every year of the data before this one (the first whose row the
    status follows is published is the baseline)."""
    years = data_years(tables)
    if measure.baseline_year:
        return [measure.baseline_year] if (measure.baseline_year < school_year
                                           and measure.baseline_year in years) else []
    return [y for y in years if y < school_year]


def _history(measure: Measure, tables, school_year: str, options: Options,
             current: list[dict] | None = None,
             earlier: Mapping[str, pd.DataFrame] | None = None,
             ahead: Mapping[str, pd.DataFrame] | None = None) -> list[dict]:
    def rows_of(year: str, with_groups: bool) -> list[dict]:
        # a year already protected and published: its published district rows, so that a status
        # never shows a baseline the edition of that year hides
        if earlier is not None and year in earlier:
            pub = earlier[year]
            pub = pub[pub["measure_id"] == measure.id]
            if not with_groups:
                pub = pub[pub["group_by"] == ALL]
            if len(pub):
                return _district_of(pub, year)
        return _district_rows(measure, tables, year, options, with_groups, ahead)

    if current is None:
        current = rows_of(school_year, False)
        lead = current[0]  # the all-students row: people but no value -> a group comparison
        if measure.groups and measure.direction in ("toward_one", "toward_zero") and \
                not lead["suppressed"] and not pd.isna(lead["n"]) and pd.isna(lead["value"]):
            current = rows_of(school_year, True)
    focus = status_mod.focus_group(measure, current)
    out = list(current)
    for year in _baseline_years(measure, tables, school_year):
        rows = rows_of(year, focus is not None)
        out += rows
        if _published_in(rows, focus):
            break
    return out


def status_rows_ahead(plan: Plan | str, tables, school_year: str, options: Options,
                      results: pd.DataFrame, years) -> dict[str, pd.DataFrame]:
    """The district rows of earlier years that ``compute_status`` will need for the measures of
    ``results`` (this year's rows), by ``status_key``, for its argument ``ahead``.

    Only the rows of ``years`` (those no edition publishes: the status takes the others from the
    editions) are computed, in the status's own order of years, up to the first year not in
    ``years``. The run's compute notebooks call this on their rows before protection, in
    parallel, so that publishing finds each baseline instead of computing them one measure after
    another. Rows the status still lacks (the protection can change the row it follows) it
    computes itself.
    """
    plan = _plan(plan)
    cache = _status_cache(tables)
    current = _district_records(results, school_year)
    out: dict[str, pd.DataFrame] = {}
    for m in plan.measures():
        if m.id not in current:
            continue
        focus = status_mod.focus_group(m, current[m.id])
        for year in _baseline_years(m, tables, school_year):
            if year not in years:
                break
            rows = _district_rows(m, tables, year, options, focus is not None)
            key = status_key(m, year, options, focus is not None)
            out[key] = cache[key]
            if _published_in(rows, focus):
                break
    return out


def _district_records(results: pd.DataFrame | None, school_year: str) -> dict[str, list[dict]]:
    """{measure id: its district rows of ``school_year`` in ``results``, as dicts}."""
    out: dict[str, list[dict]] = {}
    if results is not None and len(results):
        mine = results[(results["school_year"] == school_year)
                       & (results["building_id"] == DISTRICT)]
        for rec in mine.to_dict("records"):
            out.setdefault(str(rec["measure_id"]), []).append(rec)
    return out


def measure_history(measure: Measure, tables, school_year: str, options: Options,
                    current: pd.DataFrame | None = None) -> pd.DataFrame:
    """The district rows the status needs: this year's and the baseline year's.

    Without ``measure.baseline_year`` the years of the data are computed in order until the first
    with a published value (the baseline) of the row the status follows: the all-students row, or
    for a measure that compares groups, the group farthest from parity this year
    (status.focus_group). ``current``: this year's district rows when already computed.
    """
    recs = None
    if current is not None:
        recs = current.assign(school_year=school_year).to_dict("records")
    return pd.DataFrame(_history(measure, tables, school_year, options, recs))


def compute_status(plan: Plan | str, tables: Mapping[str, pd.DataFrame], school_year: str,
                   options: Options | None = None, results: pd.DataFrame | None = None,
                   earlier: Mapping[str, pd.DataFrame] | None = None,
                   ahead: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The status row (results.STATUS_COLUMNS) of every measure of ``plan`` for ``school_year``.

    ``results``: this year's results (from compute_measures) to take the current values from.
    ``earlier``: {school_year: the plan's published, protected results of that year}; a baseline
    of such a year is taken from them (the run passes every edition it publishes and those
    already in the reports folder). ``ahead``: district rows of other years computed beforehand
    (``status_rows_ahead``).
    """
    plan = _plan(plan)
    options = options or Options()
    check_year(tables, school_year)
    current = _district_records(results, school_year)
    out = []
    for m in plan.measures():
        if results is not None and m.id not in current:
            continue  # a subset of measures was computed
        history = _history(m, tables, school_year, options, current.get(m.id), earlier, ahead)
        out.append(status_mod.compute(m, history, school_year, plan.id, options.min_n))
    if not out:
        return empty_status()
    return validate_status(pd.DataFrame(out))


def compute_plan(plan: Plan | str, data: str | Path | Mapping[str, pd.DataFrame],
                 school_year: str, options: Options | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, status) of every measure of ``plan`` for ``school_year``.

    ``data`` is a data directory (loaded and validated with loading.load_data) or loaded tables.
    """
    plan = _plan(plan)
    options = options or Options()
    if isinstance(data, (str, Path)):
        from .loading import load_data
        tables = load_data(data)
    else:
        tables = data
    results = compute_measures(plan, tables, school_year, options)
    status = compute_status(plan, tables, school_year, options, results=results)
    return results, status
