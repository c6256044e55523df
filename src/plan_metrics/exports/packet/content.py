"""What the board packet says: one JSON-ready dict built from an edition (``packet_data``).

Everything comes from the published edition through the export context: the scorecard rows
(``ExportContext.score_rows``, the board's and the HTML report's own), the narrative
(``narrative.goal_narrative``), the decorated charts (``images.measure_exports``, rendered to SVG
by vl-convert) and the manifest's provenance. A hidden cell carries its display text ("not
shown") and no number; counts (n, numerator, denominator) are not written at all.

The dict is handed to Typst as data (``sys.inputs``), never spliced into Typst source, so a plan
title or note holding ``#``, ``$``, ``*`` or ``]`` prints as it is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ... import texts
from ...plan import Goal, Measure
from ...results import DISTRICT, is_missing
from ...scorecard import Change, ScoreRow, benchmark_for, card_anchor
from ..context import (ExportContext, format_change, format_value, group_by_label, group_label,
                       status_colors, status_text_color, unit_of)
from ..images import ChartExport, chart_bytes, measure_exports

PAPER = "us-letter"


def _p(key: str) -> str:
    return texts.text(f"packet.{key}")


def _pf(key: str, **fields) -> str:
    return texts.fill(f"packet.{key}", **fields)


def scope_text(ctx: ExportContext, building: str) -> str:
    """'Whole plan', 'Goal G1: ...', or a building's name (with the goal when both)."""
    parts = []
    if ctx.goal is not None:
        parts.append(_pf("scope_goal", goal=ctx.goal_label(ctx.goal)))
    if building != DISTRICT:
        parts.append(_pf("scope_building", building=ctx.building_name(building)))
    return ", ".join(parts) or _p("scope_plan")


def _status_colors(word: str) -> dict:
    return {"status": word, "color": status_colors().get(word, "#BBBBBB"),
            "text_color": status_text_color(word)}


def _score_row(r: ScoreRow) -> dict:
    return {"anchor": card_anchor(r.measure_id), "title": r.title, "whose": r.whose,
            "value": r.display, "last": r.since_last_year.text,
            "last_verdict": r.since_last_year.verdict, "base": r.since_baseline.text,
            "base_verdict": r.since_baseline.verdict, "target": r.target,
            "benchmark": r.benchmark, **_status_colors(r.status)}


# ---- provenance --------------------------------------------------------------------------------

def provenance(ctx: ExportContext, building: str) -> list[list[str]]:
    """The cover's facts: scope, edition date, version, commit, plan hash, parameters."""
    m = ctx.edition.manifest
    commit = m.get("git_commit") or _p("no_commit")
    if m.get("git_dirty"):
        commit += _p("dirty")
    params = m.get("parameters") or {}
    shown = ", ".join(f"{k} = {v}" for k, v in sorted(params.items())
                      if isinstance(v, (int, float, str, bool)) and k not in ("data_dir",
                                                                              "output_dir"))
    rows = [[_p("scope"), scope_text(ctx, building)],
            [_p("edition_date"), str(m.get("ended") or ctx.edition_date)]]
    if m.get("started"):
        rows.append([_p("edition_started"), str(m["started"])])
    rows += [[_p("version"), str(m.get("package_version") or _p("no_commit"))],
             [_p("commit"), commit]]
    if m.get("plan_hash"):
        rows.append([_p("plan_hash"), str(m["plan_hash"])])
    if shown:
        rows.append([_p("parameters"), shown])
    return rows


def input_hashes(ctx: ExportContext) -> list[list[str]]:
    """[table, rows, hash] of every input file of the edition (its manifest)."""
    m = ctx.edition.manifest
    counts = m.get("row_counts") or {}
    return [[str(t), f"{counts[t]:,}" if isinstance(counts.get(t), int) else "", str(h)]
            for t, h in sorted((m.get("input_hashes") or {}).items())]


# ---- a measure's page --------------------------------------------------------------------------

def _interval(row: dict | None, unit: str) -> str:
    if row is None or row.get("suppressed") or is_missing(row.get("value")) \
            or is_missing(row.get("ci_low")) or is_missing(row.get("ci_high")):
        return _p("none")
    return _pf("interval_value", low=format_value(row["ci_low"], unit),
               high=format_value(row["ci_high"], unit))


def _change_fact(c: Change, unit: str) -> str:
    if c.real is None:
        return c.text
    return _pf("change_with_interval", change=c.text, verdict=c.verdict,
               low=format_change(c.low, unit), high=format_change(c.high, unit))


def facts(ctx: ExportContext, m: Measure, r: ScoreRow, building: str) -> list[list[str]]:
    """The measure's numbers: value and interval, changes, target, status rule, benchmark, note."""
    unit = unit_of(m)
    gb, g = r.focus or ("all", "all")
    row = ctx.row(m.id, building, gb, g)
    out = [[_pf("value", place=r.place, whose=r.whose, year=ctx.year), r.display],
           [_p("interval"), _interval(row, unit)]]
    if r.since_last_year.from_year:
        out.append([_pf("since_last_year", year=r.since_last_year.from_year),
                    _change_fact(r.since_last_year, unit)])
    if r.since_baseline.from_year:
        out.append([_pf("since_baseline", year=r.since_baseline.from_year),
                    _change_fact(r.since_baseline, unit)])
    out.append([_p("target"), r.target])
    bench = benchmark_for(ctx.benchmarks(), m, ctx.year)
    out.append([_p("benchmark"), _pf("benchmark_source", display=bench["display"],
                                     source=bench["source"])
                if bench and bench.get("source") else r.benchmark])
    out.append([_p("status"), r.status_of])
    if r.rule_text:
        out.append([_p("rule"), r.rule_text])
    note = None if row is None else row.get("note")
    if not is_missing(note) and note:
        out.append([_p("note"), str(note)])
    return out


def breakdown(ctx: ExportContext, m: Measure, building: str, group_by: str | None) -> dict | None:
    """The breakdown table by one student group column: display texts, published intervals."""
    gb = group_by or ctx.default_group_by(m)
    if not gb:
        return None
    rows = ctx.breakdown_rows(m.id, building, gb)
    if rows.empty:
        return None
    unit = unit_of(m)
    out = []
    for rec in rows.to_dict("records"):
        note = rec.get("note")
        out.append([group_label(gb, rec["group"]),
                    texts.text("display.no_data") if is_missing(rec.get("display"))
                    else str(rec["display"]), _interval(rec, unit),
                    # a hidden row's note is the suppression note printed under the table
                    "" if is_missing(note) or not note or rec.get("suppressed") else str(note)])
    return {"caption": _pf("breakdown_heading", group_by=group_by_label(gb).lower(),
                           year=ctx.year),
            "columns": texts.all_texts()["packet"]["breakdown_columns"], "rows": out}


def _chart_caption(ctx: ExportContext, ce: ChartExport, place: str) -> str:
    if ce.view == "trend":
        return _pf("trend_caption", title=ce.measure.title, place=place)
    return _pf("breakdown_caption", title=ce.measure.title,
               group_by=group_by_label(ce.group_by or "").lower(), place=place, year=ctx.year)


def measure_page(ctx: ExportContext, m: Measure, r: ScoreRow, said: str, building: str,
                 group_by: str | None, svgs: dict) -> dict:
    """One measure's page (its charts' SVG taken from ``svgs``, keyed by ChartExport id)."""
    ces = svgs[m.id]
    notes = []
    hidden = sorted({h for ce, _ in ces for h in ce.hidden if ce.view == "breakdown"})
    if hidden:
        notes.append(_pf("hidden_here", items=", ".join(hidden)))
    if ctx.per_group(m):
        notes.append(_p("per_group"))
    notes.append(ctx.suppression_note())
    notes.append(ctx.source_line())
    return {"anchor": card_anchor(m.id), "title": m.title, "outcome": ctx.outcome_text(m),
            "status_of": r.status_of, "narrative": said, "facts": facts(ctx, m, r, building),
            "charts": [{"svg": svg, "alt": ce.alt_text or m.title,
                        "caption": _chart_caption(ctx, ce, r.place)} for ce, svg in ces],
            "breakdown": breakdown(ctx, m, building, group_by), "notes": notes,
            **_status_colors(r.status)}


def render_charts(ctx: ExportContext, measures: list[Measure], building: str,
                  group_by: str | None, jobs: int = 2) -> dict[str, list[tuple]]:
    """measure_id -> [(ChartExport, SVG text)], rendered by vl-convert (``jobs`` at a time)."""
    exports = {m.id: measure_exports(ctx, m, building, group_by) for m in measures}
    flat = [ce for ces in exports.values() for ce in ces]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        svgs = list(pool.map(lambda ce: chart_bytes(ce.spec, "svg").decode("utf-8"), flat))
    rendered = dict(zip(map(id, flat), svgs))
    return {mid: [(ce, rendered[id(ce)]) for ce in ces] for mid, ces in exports.items()}


# ---- goals and the appendix --------------------------------------------------------------------

def goal_section(ctx: ExportContext, goal: Goal, building: str, group_by: str | None,
                 svgs: dict) -> dict:
    """A goal: its scorecard page, its narrative, then a page per measure."""
    rows = ctx.score_rows(goal.id, building)
    n = ctx.narrative(goal.id, building)
    said = dict(n.measures)
    place = ctx.building_name(building)
    cols = [c.format(year=ctx.year) for c in texts.all_texts()["scorecard"]["columns"]][:-1]
    ms = {m.id: m for m in ctx.measures(goal.id)}
    return {"anchor": f"pm-goal-{goal.id}", "label": ctx.goal_label(goal),
            "statement": goal.statement,
            "scorecard_caption": texts.fill("scorecard.caption", goal=ctx.goal_label(goal),
                                            place=place, year=ctx.year),
            "columns": cols, "rows": [_score_row(r) for r in rows],
            "scorecard_note": _p("scorecard_note"), "narrative_heading": _p("narrative_heading"),
            "narrative": {"summary": n.summary, "measures": [t for _, t in n.measures]},
            "measures": [measure_page(ctx, ms[r.measure_id], r, said.get(r.measure_id, ""),
                                      building, group_by, svgs)
                         for r in rows if r.measure_id in ms]}


def methods(ctx: ExportContext, measures: list[Measure]) -> list[dict]:
    """The appendix: statuses, intervals and real changes, privacy, formulas, sources."""
    words = texts.all_texts()
    meanings = words["status_meaning"]
    status_rows = [[words["status"][k], meanings[k]] for k in words["status"]]
    kinds: dict[str, list[str]] = {}
    for m in measures:
        kinds.setdefault(m.kind, []).append(m.title)
    kind_rows = [[k.replace("_", " "), words["packet"]["kinds"].get(k, ""), "; ".join(titles)]
                 for k, titles in kinds.items()]
    return [
        {"heading": _p("methods_status"), "paragraphs": [_p("methods_status_intro")],
         "table": {"columns": words["packet"]["methods_status_columns"], "rows": status_rows}},
        {"heading": _p("methods_change"), "paragraphs": list(words["packet"]
                                                            ["methods_change_text"]),
         "table": None},
        {"heading": _p("methods_privacy"),
         "paragraphs": [ctx.suppression_note(), *[p.format(protection=ctx.protection) for p in
                                                  words["packet"]["methods_privacy_text"]]],
         "table": None},
        {"heading": _p("methods_kinds"), "paragraphs": [],
         "table": {"columns": words["packet"]["methods_kinds_columns"], "rows": kind_rows}},
        {"heading": _p("methods_sources"), "paragraphs": [_p("methods_sources_text")],
         "table": {"columns": words["packet"]["inputs_header"], "rows": input_hashes(ctx)}
         if input_hashes(ctx) else None},
    ]


def packet_data(ctx: ExportContext, building: str = DISTRICT, group_by: str | None = None,
                jobs: int = 2) -> dict:
    """The whole packet as one dict for the Typst template (``packet.typ``)."""
    goals = [g for g in ctx.goals() if ctx.measures(g.id)]
    measures = [m for g in goals for m in ctx.measures(g.id)]
    svgs = render_charts(ctx, measures, building, group_by, jobs)
    scope = scope_text(ctx, building)
    words = texts.all_texts()["packet"]
    return {
        "title": _pf("title", plan=ctx.plan.title, year=ctx.year)
        + ("" if scope == _p("scope_plan") else f" ({scope})"),
        "plan_title": ctx.plan.title, "organization": ctx.plan.organization or ctx.plan.title,
        "subtitle": _pf("subtitle", year=ctx.year) + (
            "" if scope == _p("scope_plan") else f": {scope}"),
        "mission": ctx.plan.mission or "", "lang": "en", "paper": PAPER,
        "keywords": [ctx.plan.id, ctx.year, "board packet"],
        "synthetic": _p("synthetic") if ctx.synthetic else "",
        "footer": _pf("footer", plan=ctx.plan.title, year=ctx.year, scope=scope),
        "provenance": provenance(ctx, building), "hashes": input_hashes(ctx),
        "privacy_note": _pf("privacy_note", min_n=ctx.min_n),
        "words": {k: words[k] for k in ("page", "of", "contents", "chart", "provenance",
                                        "inputs", "inputs_header", "facts_header", "methods")},
        "goals": [goal_section(ctx, g, building, group_by, svgs) for g in goals],
        "methods": methods(ctx, measures),
    }
