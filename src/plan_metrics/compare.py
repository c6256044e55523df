"""Comparing editions (DESIGN.md section 10; ``plan-metrics compare``, section 11).

Two comparisons, both returned as plain data (dicts, lists, strings and floats: JSON as is):

- **two years** of a plan (``compare_years``): the measures whose status changed, and the district
  values (all students and each student group) that moved beyond noise from the earlier year to
  the later one, by the status rules' own test (``status.change_between``: the change's 95% MOVER
  interval excludes zero);
- **a republished year** (``compare_revision``): the current edition against one kept in its
  ``history/``: every published number that was revised (any building, any group) with the
  amount, the statuses that changed, and from the two manifests the parameters, input file
  hashes and plan hash that differ.

``compare`` resolves ``--against`` (a school year, an edition folder, or the name of one in
``history/``); ``since_last_report`` is what the board's "since the last report" page shows (the
edition the current one replaced, else the previous year); ``revisions`` marks the dashboard's
revised numbers. Only published rows are read, and only their ``display`` text and, where not
hidden, their ``value``: a hidden number is never shown, nor the change of one.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from . import contract, editions, manifest as manifest_mod, status as status_rules, texts
from .editions import Edition
from .errors import PlanMetricsError
from .plan import Plan, load_plan
from .privacy import format_change, unit_of
from .results import ALL, DISTRICT

KEY = ["measure_id", "building_id", "group_by", "group"]
#: two published values closer than this (relative) are the same number recomputed
_SAME = 1e-9


# ---- reading the rows -----------------------------------------------------------------------------

def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _float(x) -> float | None:
    return None if _missing(x) else float(x)


def _rows(ed: Edition, year: str | None = None) -> dict[tuple, dict]:
    """{(measure, building, group_by, group): published row} of an edition's own year: display,
    and value / ci only where the row is not hidden (the hidden numbers are dropped here)."""
    r = ed.results
    r = r[r["school_year"].astype(str) == str(year or ed.school_year)]
    out = {}
    for rec in r.to_dict("records"):
        hidden = bool(rec.get("suppressed")) if not _missing(rec.get("suppressed")) else False
        value = None if hidden else _float(rec.get("value"))
        disp = rec.get("display")
        if _missing(disp) or disp == "":
            disp = texts.text("display.hidden" if hidden else "display.no_data")
        out[tuple(str(rec[k]) for k in KEY)] = {
            "display": str(disp), "value": value, "suppressed": hidden or value is None,
            "ci_low": None if value is None else _float(rec.get("ci_low")),
            "ci_high": None if value is None else _float(rec.get("ci_high"))}
    return out


def _statuses(ed: Edition) -> dict[str, str]:
    s = ed.status
    s = s[s["school_year"].astype(str) == str(ed.school_year)]
    return {str(r["measure_id"]): str(r["status"]) if not _missing(r["status"]) else
            texts.status_word("not_enough_data") for r in s.to_dict("records")}


def _order(plan: Plan, key: tuple) -> tuple:
    ids = [m.id for m in plan.measures()]
    mid, b, gb, g = key
    return (ids.index(mid) if mid in ids else len(ids), b != DISTRICT, b, gb != ALL, gb, g)


def _where(ed: Edition, building: str) -> str:
    if building == DISTRICT:
        return "District"
    return str((ed.manifest.get("buildings") or {}).get(building, building))


def _whose(group_by: str, group: str) -> str:
    return texts.text("compare.all_students") if group_by == ALL else \
        texts.group_label(group_by, group)


def _side(ed: Edition, label: str) -> dict:
    when = editions.published_time(ed.manifest, ed.path)
    return {"school_year": ed.school_year, "edition": label, "path": str(ed.path),
            "published": when.isoformat(timespec="seconds"), "date": when.strftime("%Y-%m-%d"),
            "when": when.strftime("%Y-%m-%d %H:%M UTC")}


def _status_changes(plan: Plan, old: Edition, new: Edition) -> list[dict]:
    a, b = _statuses(old), _statuses(new)
    nothing = texts.status_word("not_enough_data")
    return [{"measure_id": m.id, "title": m.title, "from": a.get(m.id, nothing),
             "to": b.get(m.id, nothing)}
            for m in plan.measures() if a.get(m.id, nothing) != b.get(m.id, nothing)]


# ---- the two comparisons --------------------------------------------------------------------------

def compare_years(plan: Plan, earlier: Edition, later: Edition) -> dict:
    """What changed from the edition of one year to the edition of a later year of the same plan:
    ``statuses`` (measures whose status word changed) and ``moved`` (district rows, all students
    and each group, whose published value changed beyond noise by status.change_between), as
    plain data (see the module docstring)."""
    if earlier.school_year > later.school_year:
        earlier, later = later, earlier
    old, new = _rows(earlier), _rows(later)
    measures = {m.id: m for m in plan.measures()}
    moved = []
    for key in sorted(set(old) & set(new), key=lambda k: _order(plan, k)):
        mid, b, gb, g = key
        m = measures.get(mid)
        if m is None or b != DISTRICT:
            continue
        ch = status_rules.change_between(new[key], old[key])
        if ch is None or not ch["real"]:
            continue
        d_now = status_rules.distance(new[key]["value"], m.direction)
        d_then = status_rules.distance(old[key]["value"], m.direction)
        better = None if math.isnan(d_now) or math.isnan(d_then) or d_now == d_then else \
            bool(d_now < d_then)
        moved.append({"measure_id": mid, "title": m.title, "building_id": b,
                      "where": _where(later, b), "group_by": gb, "group": g,
                      "whose": _whose(gb, g), "unit": unit_of(m),
                      "from_display": old[key]["display"],
                      "to_display": new[key]["display"],
                      "change": format_change(ch["diff"], unit_of(m)), "diff": ch["diff"],
                      "low": ch["low"], "high": ch["high"], "better": better})
    return {"kind": "years", "plan_id": plan.id, "plan_title": plan.title,
            "from": _side(earlier, earlier.school_year), "to": _side(later, later.school_year),
            "statuses": _status_changes(plan, earlier, later), "moved": moved}


def compare_revision(plan: Plan, current: Edition, earlier: Edition,
                     earlier_label: str | None = None) -> dict:
    """What the republished ``current`` edition revised of an ``earlier`` edition of the same
    plan and year: ``revised`` (every row, any building or group, whose published display or
    value differs, with the change where both values are published), ``statuses`` (changed status
    words), and from the manifests ``parameters`` ({key: {from, to}}), ``inputs`` (table, change,
    from and to hash) and ``plan_hash`` ({from, to} or None), as plain data."""
    old, new = _rows(earlier), _rows(current)
    measures = {m.id: m for m in plan.measures()}
    nothing = texts.text("display.no_data")
    revised = []
    for key in sorted(set(old) | set(new), key=lambda k: _order(plan, k)):
        a, b = old.get(key), new.get(key)
        va, vb = (a or {}).get("value"), (b or {}).get("value")
        same_value = (va is None and vb is None) or (
            va is not None and vb is not None and abs(va - vb) <= _SAME * max(1.0, abs(va)))
        if a is not None and b is not None and a["display"] == b["display"] and same_value:
            continue
        mid, bld, gb, g = key
        m = measures.get(mid)
        both = va is not None and vb is not None
        revised.append({
            "measure_id": mid, "title": m.title if m else mid, "building_id": bld,
            "where": _where(current, bld), "group_by": gb, "group": g, "whose": _whose(gb, g),
            "unit": unit_of(m) if m else "number",
            "from_display": a["display"] if a else nothing,
            "to_display": b["display"] if b else nothing,
            "change": format_change(vb - va, unit_of(m)) if both and m else "",
            "diff": (vb - va) if both else None})
    ma, mb = earlier.manifest, current.manifest
    diff = manifest_mod.changes(ma, mb)
    ha, hb = ma.get("input_hashes") or {}, mb.get("input_hashes") or {}
    inputs = [{"table": t, "change": c, "from": ha.get(t), "to": hb.get(t)}
              for t, c in (diff.get("inputs") or {}).items()]
    return {"kind": "revision", "plan_id": plan.id, "plan_title": plan.title,
            "school_year": current.school_year,
            "from": _side(earlier, earlier_label or str(earlier.path)),
            "to": _side(current, "current"),
            "revised": revised, "statuses": _status_changes(plan, earlier, current),
            "parameters": diff.get("parameters") or {}, "inputs": inputs,
            "plan_hash": diff.get("plan_hash")}


# ---- which editions ---------------------------------------------------------------------------------

def _label(reports: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(reports).resolve()))
    except ValueError:
        return str(path)


def compare(reports: Path | str, plan_id: str, year: str, against: str | None = None) -> dict | None:
    """The comparison ``plan-metrics compare`` prints: ``against`` a school year (two years), an
    edition folder or the name of one in ``<year>/history/`` (a revision), or None for
    ``since_last_report``. PlanMetricsError (one paragraph) for an unknown plan, year or edition;
    None when there is nothing to compare with."""
    plan = load_plan(plan_id)
    reports = Path(reports)
    current = editions.read_edition(reports, plan.id, year)
    if against is None or str(against).strip() == "":
        return since_last_report(reports, plan.id, year, plan=plan, current=current)
    against = str(against).strip()
    if contract.SCHOOL_YEAR_RE.match(against):
        if against == year:
            raise PlanMetricsError(
                f"--against {against} is the year being compared", "--against",
                f"give another published year, or an edition kept in {year}/history/ (or leave "
                f"--against out to compare with the last report)")
        return compare_years(plan, editions.read_edition(reports, plan.id, against), current)
    hist = editions.edition_dir(reports, plan.id, year) / editions.HISTORY_DIR
    folder = Path(against)
    if not folder.is_dir() and (hist / against).is_dir():
        folder = hist / against
    if not folder.is_dir():
        kept = [e.name for e in editions.history_editions(reports, plan.id, year)]
        raise PlanMetricsError(
            f"--against {against!r} is neither a school year nor an edition folder", "--against",
            f"give a published year (YYYY-YY), an edition folder, or one of the editions kept for "
            f"{plan.id} {year}: " + (", ".join(kept) if kept else "(none: this year was never "
                                     "republished)"))
    if folder.resolve() == current.path.resolve():
        raise PlanMetricsError(f"--against {against!r} is the current edition itself",
                               "--against", f"give an edition kept in {hist}")
    earlier = editions.read_edition_at(folder)
    if (earlier.plan_id, earlier.school_year) != (plan.id, year):
        raise PlanMetricsError(
            f"The edition in {str(folder)!r} is of {earlier.plan_id or '?'} "
            f"{earlier.school_year or '?'}, not of {plan.id} {year}", "--against",
            f"give an edition of {plan.id} {year} (kept in {hist}), or --against YEAR to compare "
            f"two years")
    return compare_revision(plan, current, earlier, _label(reports, folder))


def since_last_report(reports: Path | str, plan_id: str, year: str, *, plan: Plan | None = None,
                      current: Edition | None = None) -> dict | None:
    """"Since the last report", as plain data for the board packet and the dashboard: the current
    edition of ``plan_id`` ``year`` against the edition it replaced (the latest one kept in its
    ``history/``: ``compare_revision``), or, for a year never republished, against the previous
    published year of the plan (``compare_years``); None when there is neither.

    The result is a dict with ``kind`` 'revision' or 'years', ``from`` / ``to`` (school_year,
    edition, path, published (ISO, UTC), date 'YYYY-MM-DD', when 'YYYY-MM-DD HH:MM UTC') and the lists of ``compare_revision`` / ``compare_years``.
    """
    reports = Path(reports)
    plan = plan or load_plan(plan_id)
    current = current or editions.read_edition(reports, plan.id, year)
    kept = editions.history_editions(reports, plan.id, year)
    if kept:
        return compare_revision(plan, current, editions.read_edition_at(kept[-1].path),
                                _label(reports, kept[-1].path))
    eds = editions.list_editions(reports)
    earlier = sorted(y for y in eds.loc[eds.plan_id == plan.id, "school_year"] if y < year)
    if not earlier:
        return None
    return compare_years(plan, editions.read_edition(reports, plan.id, earlier[-1]), current)


def revisions(reports: Path | str, plan_id: str, year: str) -> dict[str, dict]:
    """The dashboard's marks: {measure_id: {"date": published date of the edition the current one
    replaced, "cells": {(building, group_by, group): its display then}}} for every measure with a
    revised published number; {} for a year never republished."""
    kept = editions.history_editions(reports, plan_id, year)
    if not kept:
        return {}
    plan = load_plan(plan_id)
    current = editions.read_edition(reports, plan_id, year)
    cmp = compare_revision(plan, current, editions.read_edition_at(kept[-1].path))
    out: dict[str, dict] = {}
    for r in cmp["revised"]:
        mark = out.setdefault(r["measure_id"], {"date": kept[-1].date, "cells": {}})
        mark["cells"][(r["building_id"], r["group_by"], r["group"])] = r["from_display"]
    return out


# ---- the command line -----------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _cut(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _short(h) -> str:
    return "-" if h is None else str(h)[:12]


def text_of(cmp: dict | None) -> str:
    """The comparison as ``plan-metrics compare`` prints it: a heading and readable tables."""
    T = lambda k, **f: texts.fill(f"compare.{k}", **f)
    if cmp is None:
        return T("nothing")
    out = []
    fr, to = cmp["from"], cmp["to"]
    if cmp["kind"] == "years":
        out.append(T("heading_years", plan=cmp["plan_title"], earlier=fr["school_year"],
                     later=to["school_year"]))
    else:
        out.append(T("heading_revision", plan=cmp["plan_title"], year=cmp["school_year"],
                     published=to["when"], earlier=fr["edition"], date=fr["when"]))
    cols = texts.text("compare.columns")
    sts = cmp["statuses"]
    out += ["", T("statuses", count=len(sts))]
    if sts:
        out.append(_table([cols["measure"], cols["id"], fr["school_year"] if cmp["kind"] == "years"
                           else cols["was"], to["school_year"] if cmp["kind"] == "years" else
                           cols["now"]],
                          [[_cut(s["title"]), s["measure_id"], s["from"], s["to"]] for s in sts]))
    if cmp["kind"] == "years":
        rows = cmp["moved"]
        out += ["", T("moved", count=len(rows), earlier=fr["school_year"], later=to["school_year"])]
        if rows:
            better = {True: cols["better"], False: cols["worse"], None: ""}
            out.append(_table(
                [cols["measure"], cols["id"], cols["group"], fr["school_year"], to["school_year"],
                 cols["change"], cols["interval"], cols["direction"]],
                [[_cut(r["title"]), r["measure_id"], r["whose"], r["from_display"], r["to_display"],
                  r["change"], f"{format_change(r['low'], r['unit'])} to "
                  f"{format_change(r['high'], r['unit'])}", better[r["better"]]]
                 for r in rows]))
        return "\n".join(out)
    rows = cmp["revised"]
    out += ["", T("revised", count=len(rows))]
    if rows:
        out.append(_table([cols["measure"], cols["id"], cols["where"], cols["group"], cols["was"],
                           cols["now"], cols["change"]],
                          [[_cut(r["title"]), r["measure_id"], r["where"], r["whose"],
                            r["from_display"], r["to_display"], r["change"]] for r in rows]))
    params = cmp["parameters"]
    out += ["", T("parameters", count=len(params))]
    if params:
        out.append(_table([cols["parameter"], cols["was"], cols["now"]],
                          [[k, str(v["from"]), str(v["to"])] for k, v in params.items()]))
    inputs = cmp["inputs"]
    out += ["", T("inputs", count=len(inputs))]
    if inputs:
        out.append(_table([cols["input"], cols["what"], cols["hash_was"], cols["hash_now"]],
                          [[i["table"], i["change"], _short(i["from"]), _short(i["to"])]
                           for i in inputs]))
    if cmp["plan_hash"]:
        out += ["", T("plan_hash", was=_short(cmp["plan_hash"]["from"]),
                      now=_short(cmp["plan_hash"]["to"]))]
    return "\n".join(out)


def main(args) -> int:
    """``plan-metrics compare --plan PLAN --year Y [--against YEAR|EDITION_DIR] [--reports]``."""
    from .paths import REPORTS_DIR

    reports = Path(args.reports) if args.reports else REPORTS_DIR
    if not reports.is_dir():
        raise PlanMetricsError(f"The reports folder {str(reports)!r} does not exist", "--reports",
                               "give the folder plan-metrics run published to (default reports/)")
    try:
        contract.parse_school_year(args.year)
    except ValueError:
        raise PlanMetricsError(f"--year {args.year!r} is not a school year", "--year",
                               "write it as YYYY-YY, e.g. --year 2024-25") from None
    print(text_of(compare(reports, args.plan, args.year, args.against)))
    return 0
