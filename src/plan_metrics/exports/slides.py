"""PowerPoint decks (python-pptx): one per goal, or one for the whole plan. 16:9.

A title slide (plan title, year, goal statement, synthetic-data note) then, per goal section, one
slide per measure: its title and outcome, the status word on its colour and the rule behind it, the
value and change, the trend chart and the breakdown by student group (PNG, with the chart's text
alternative as the picture's alt text), a source + suppression note, and speaker notes with the
numbers (district value, interval, n, baseline, target and the published breakdown rows).
"""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from .. import scorecard, texts
from ..plan import Goal, Measure
from ..results import DISTRICT
from .context import (SYNTHETIC_NOTE, ExportContext, format_change, format_value,
                      group_by_label, is_missing, status_colors, status_text_color, unit_of)
from .images import ChartExport, breakdown_export, chart_bytes, decorate, trend_export

SLIDE_W, SLIDE_H = Emu(12192000), Emu(6858000)  # 13.333 x 7.5 in, 16:9
MARGIN = Inches(0.5)
DARK = RGBColor(0x22, 0x22, 0x22)
GREY = RGBColor(0x55, 0x55, 0x55)
NAVY = RGBColor(0x1F, 0x3B, 0x57)


def build_deck(ctx: ExportContext, building: str = DISTRICT,
               group_by: str | None = None) -> Presentation:
    """The deck of ctx's goal (or of every goal of the plan, each with a section slide)."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    _title_slide(prs, ctx, building)
    goals = ctx.goals()
    place = "District" if building == DISTRICT else ctx.building_name(building)
    bench = scorecard.read_benchmarks(ctx.edition.path)
    for goal in goals:
        if len(goals) > 1:
            _goal_slide(prs, ctx, goal, building)
        # the scorecard's rows: the same value, group and sentence as the board and HTML report
        rows = {r.measure_id: r for r in scorecard.scorecard(
            ctx.plan, goal.id, ctx.history, ctx.status, ctx.year, building, place,
            group_by=group_by, benchmarks=bench)}
        for m in ctx.measures(goal.id):
            _measure_slide(prs, ctx, m, building, group_by, rows.get(m.id))
    if ctx.goal is None:  # plan-level measures (no goal) close the whole-plan deck
        for m in [m for m in ctx.plan.measures() if ctx.plan.goal_of(m.id) is None]:
            _measure_slide(prs, ctx, m, building, group_by)
    return prs


def deck_bytes(ctx: ExportContext, building: str = DISTRICT, group_by: str | None = None) -> bytes:
    buf = io.BytesIO()
    build_deck(ctx, building, group_by).save(buf)
    return buf.getvalue()


# ---- slides ---------------------------------------------------------------------------------

def _blank(prs):
    return prs.slides.add_slide(prs.slide_layouts[6])


def _text(slide, left, top, width, height, text, size=14, bold=False, color=DARK,
          align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP):
    box = slide.shapes.add_textbox(left, top, width, height)
    tf = box.text_frame
    tf.word_wrap = True
    tf.vertical_anchor = anchor
    tf.margin_left = tf.margin_right = Inches(0.05)
    lines = text if isinstance(text, list) else [text]
    for i, line in enumerate(lines):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.alignment = align
        run = p.add_run()
        run.text = line
        run.font.size, run.font.bold = Pt(size), bold
        run.font.color.rgb = color
    return box


def _title_slide(prs, ctx: ExportContext, building: str) -> None:
    s = _blank(prs)
    band = s.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, SLIDE_W, Inches(0.35))
    band.fill.solid()
    band.fill.fore_color.rgb = NAVY
    band.line.fill.background()
    _text(s, MARGIN, Inches(1.3), SLIDE_W - 2 * MARGIN, Inches(1.2), ctx.plan.title, 36, True,
          NAVY)
    sub = f"Measures of success, {ctx.year}"
    if building != DISTRICT:
        sub += f": {ctx.building_name(building)}"
    _text(s, MARGIN, Inches(2.6), SLIDE_W - 2 * MARGIN, Inches(0.6), sub, 22, False, DARK)
    if ctx.goal is not None:
        _text(s, MARGIN, Inches(3.4), SLIDE_W - 2 * MARGIN, Inches(0.5),
              ctx.goal_label(ctx.goal), 20, True, DARK)
        _text(s, MARGIN, Inches(4.0), SLIDE_W - 2 * MARGIN, Inches(1.3), ctx.goal.statement, 18,
              False, GREY)
    elif ctx.plan.mission:
        _text(s, MARGIN, Inches(3.4), SLIDE_W - 2 * MARGIN, Inches(1.6),
              f"Mission: {ctx.plan.mission}", 16, False, GREY)
    foot = [ctx.source_line()]
    summary = ctx.narrative(ctx.goal.id, building).summary if ctx.goal is not None else ""
    if ctx.synthetic:
        foot.insert(0, f"{SYNTHETIC_NOTE}: these numbers describe an invented district, "
                       f"not real students.")
    _text(s, MARGIN, Inches(6.2), SLIDE_W - 2 * MARGIN, Inches(0.9), foot, 12, False, GREY)
    s.notes_slide.notes_text_frame.text = (
        f"{ctx.plan.title}, {ctx.year}. " + (f"{ctx.goal_label(ctx.goal)}: {ctx.goal.statement} "
                                             if ctx.goal else "")
        + (f"{summary} " if summary else "") + ctx.source_line() + " " + ctx.suppression_note())


def _goal_slide(prs, ctx: ExportContext, goal: Goal, building: str = DISTRICT) -> None:
    s = _blank(prs)
    _text(s, MARGIN, Inches(2.2), SLIDE_W - 2 * MARGIN, Inches(0.9), ctx.goal_label(goal), 32,
          True, NAVY)
    _text(s, MARGIN, Inches(3.2), SLIDE_W - 2 * MARGIN, Inches(1.8), goal.statement, 20, False,
          GREY)
    outcomes = [f"{o.id} {o.statement}" for o in goal.outcomes]
    s.notes_slide.notes_text_frame.text = f"{ctx.goal_label(goal)}. {goal.statement} " + \
        (("Outcomes: " + " ".join(outcomes)) if outcomes else "") + \
        "\n" + ctx.narrative(goal.id, building).summary


def _slide_chart(ctx: ExportContext, ce: ChartExport, title: str) -> ChartExport:
    """The same chart re-decorated for a slide: short title, hidden-groups line only (the slide
    carries the outcome, source and suppression note as text)."""
    note = [f"Not shown: {', '.join(ce.hidden)}."] if ce.hidden else []
    inner = dict(ce.spec["vconcat"][0])
    inner.pop("title", None)
    base = {k: v for k, v in ce.spec.items() if k not in ("vconcat", "title", "padding")}
    if "params" in inner and "params" in base:
        base["params"] = base["params"] + inner.pop("params")
    spec = decorate({**base, **inner}, title=title, subtitle=None, footer=note)
    return ChartExport(ce.measure, ce.view, spec, ce.alt_text, ce.building, ce.group_by,
                       ce.hidden, ce.subject)


def value_line(ctx: ExportContext, m: Measure, building: str,
               score: scorecard.ScoreRow | None) -> tuple[str, str]:
    """(the slide's value line, its headline sentence or ''): 'District, all staff, 2024-25: 82%';
    for a disparity measure 'District, White students, 2024-25: 1.80' and the scorecard's
    sentence ('White students are 1.80 times as likely as other students to be suspended'),
    the words of the board and the HTML report (scorecard.measure_row, texts.yaml)."""
    where = "District" if building == DISTRICT else ctx.building_name(building)
    if score is not None and score.focus:
        return f"{where}, {score.whose}, {ctx.year}: {score.display}", score.headline
    if score is not None and scorecard.compares_groups(m):
        # no group's disparity is published: say so, in the board's words
        return f"{where}, {ctx.year}: {score.display}", score.headline
    value_text, _ = ctx.headline(m, building)
    return f"{where}, {scorecard.whose(m)}, {ctx.year}: {value_text}", ""


def _measure_slide(prs, ctx: ExportContext, m: Measure, building: str,
                   group_by: str | None, score: scorecard.ScoreRow | None = None) -> None:
    s = _blank(prs)
    unit = unit_of(m)
    width = SLIDE_W - 2 * MARGIN
    _text(s, MARGIN, Inches(0.25), width, Inches(0.6), m.title, 26, True, NAVY)
    _text(s, MARGIN, Inches(0.85), width, Inches(0.45), ctx.outcome_text(m), 13, False, GREY)

    st = ctx.status_row(m.id) if building == DISTRICT else None
    word = (st or {}).get("status") or ("not enough data" if building == DISTRICT else "")
    row = ctx.row(m.id, building)
    top = Inches(1.4)
    left = MARGIN
    if word:
        pill = s.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, Inches(2.6),
                                  Inches(0.55))
        pill.fill.solid()
        pill.fill.fore_color.rgb = RGBColor.from_string(
            status_colors().get(word, "#767676").lstrip("#").upper())
        pill.line.fill.background()
        tf = pill.text_frame
        tf.text = word.upper() if word else ""
        para = tf.paragraphs[0]
        para.alignment = PP_ALIGN.CENTER
        para.runs[0].font.size, para.runs[0].font.bold = Pt(15), True
        para.runs[0].font.color.rgb = RGBColor.from_string(
            status_text_color(word).lstrip("#").upper())
        pill.name = f"Status: {word}"
        if score is not None and score.focus:
            # the group the status follows, named under the pill
            _text(s, left, top + Inches(0.55), Inches(2.6), Inches(0.35),
                  "Status " + texts.fill("status_follows", group=score.whose), 10, False, GREY)
        left = MARGIN + Inches(2.8)
    line, sentence = value_line(ctx, m, building, score)
    delta, prev = ctx.change_from_last_year(m.id, building)
    if ctx.per_group(m):
        change = "reported per student group"
    elif delta is not None:
        change = f"{format_change(delta, unit)} since {prev}"
    else:
        change = "change since last year not available" if prev else "first published year"
    if sentence:
        _text(s, left, top - Inches(0.12), Inches(6.5), Inches(0.45), [line], 20, True, DARK,
              anchor=MSO_ANCHOR.MIDDLE)
        _text(s, left, top + Inches(0.3), Inches(6.5), Inches(0.35), [sentence], 13, False,
              DARK, anchor=MSO_ANCHOR.MIDDLE)
    else:
        _text(s, left, top - Inches(0.08), Inches(6.5), Inches(0.7), [line], 22, True, DARK,
              anchor=MSO_ANCHOR.MIDDLE)
    _text(s, left + Inches(6.6), top - Inches(0.02), SLIDE_W - left - Inches(6.6) - MARGIN,
          Inches(0.6), change, 14, False, GREY, anchor=MSO_ANCHOR.MIDDLE)
    rule = (st or {}).get("rule_text")
    if not is_missing(rule) and rule:
        _text(s, MARGIN, Inches(2.0), width, Inches(0.55), f"Why: {rule}",
              12 if len(rule) < 200 else 10, False, DARK)

    trend = None if ctx.per_group(m) else \
        _slide_chart(ctx, trend_export(ctx, m, building), "Trend, all students")
    bd = breakdown_export(ctx, m, building, group_by)
    chart_top, chart_h = Inches(2.62), Inches(4.05)
    if trend is None and bd is not None:   # per-group measure: the breakdown is the picture
        bd = _slide_chart(ctx, bd, f"By {group_by_label(bd.group_by).lower()}, {ctx.year}")
        _picture(s, bd, MARGIN, chart_top, width, chart_h)
    elif trend is None:
        _text(s, MARGIN, chart_top, width, Inches(0.6), "No chart: this measure is reported "
              "for each student group and has no published group this year.", 14, False, GREY)
    elif bd is not None:
        bd = _slide_chart(ctx, bd, f"By {group_by_label(bd.group_by).lower()}, {ctx.year}")
        half = (width - Inches(0.3)) // 2
        _picture(s, trend, MARGIN, chart_top, half, chart_h)
        _picture(s, bd, MARGIN + half + Inches(0.3), chart_top, half, chart_h)
    else:
        _picture(s, trend, MARGIN, chart_top, width, chart_h)

    _text(s, MARGIN, Inches(6.75), width, Inches(0.6),
          [ctx.source_line(), ctx.suppression_note()], 10, False, GREY)
    s.notes_slide.notes_text_frame.text = speaker_notes(ctx, m, building, st, row, bd, score)


def _picture(slide, ce: ChartExport, left, top, max_w, max_h):
    """Add the chart PNG fitted into the box (aspect kept, centred), with its alt text."""
    png = chart_bytes(ce.spec, "png")
    w_px, h_px = _png_size(png)
    scale = min(max_w / w_px, max_h / h_px)
    w, h = Emu(int(w_px * scale)), Emu(int(h_px * scale))
    pic = slide.shapes.add_picture(io.BytesIO(png), left + (max_w - w) // 2, top, w, h)
    pic.name = f"{ce.measure.id} {ce.view} chart"
    pic._element.nvPicPr.cNvPr.set("descr", ce.alt_text or f"{ce.measure.title} chart")
    return pic


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def speaker_notes(ctx: ExportContext, m: Measure, building: str, st: dict | None,
                  row: dict | None, bd: ChartExport | None,
                  score: scorecard.ScoreRow | None = None) -> str:
    """The numbers behind the slide, for the presenter (published cells only)."""
    unit = unit_of(m)
    where = "District" if building == DISTRICT else ctx.building_name(building)
    who = scorecard.whose(m)
    lines = [f"{m.title} ({m.id}), {ctx.year}."]
    said = ctx.measure_narrative(m, building)
    if said:
        lines.append(said)
    if m.description:
        lines.append(m.description)
    if score is not None and score.headline:
        lines.append(score.headline + ".")
    if score is not None and scorecard.compares_groups(m):
        # no all-students value: the group the slide shows, as the board and HTML report name it
        lines.append(f"{where}, {score.whose}: {score.display}.")
    elif row is None:
        lines.append(f"{where}: no result this year.")
    elif row.get("suppressed"):
        lines.append(f"{where}, {who}: {row.get('display')} (suppressed).")
    else:
        line = f"{where}, {who}: {row.get('display')}"
        if not is_missing(row.get("ci_low")) and not is_missing(row.get("ci_high")):
            line += (f", 95% interval {format_value(row['ci_low'], unit)} to "
                     f"{format_value(row['ci_high'], unit)}")
        if not is_missing(row.get("n")):
            line += f", n = {int(row['n'])}"
        lines.append(line + ".")
        if not is_missing(row.get("note")) and row.get("note"):
            lines.append(f"Note: {row['note']}.")
    if st:
        if not is_missing(st.get("baseline_value")):
            lines.append(f"Baseline {st.get('baseline_year')}: "
                         f"{format_value(st['baseline_value'], unit)}.")
        elif not is_missing(st.get("baseline_year")):
            lines.append(f"Baseline year {st['baseline_year']}.")
        if not is_missing(st.get("target_value")):
            t = f"Target: {format_value(st['target_value'], unit)}"
            if not is_missing(st.get("target_year")):
                t += f" by {st['target_year']}"
            if not is_missing(st.get("expected_value")):
                t += f"; expected this year on the straight line: " \
                     f"{format_value(st['expected_value'], unit)}"
            lines.append(t + ".")
        lines.append(f"Status: {st.get('status')}. {st.get('rule_text') or ''}".strip())
    if bd is not None:
        rows = ctx.breakdown_rows(m.id, building, bd.group_by)
        pub = rows[~rows["suppressed"].astype(bool) & rows["value"].notna()]
        parts = [f"{_group(bd.group_by, r['group'])} {r['display']}"
                 + (f" (n = {int(r['n'])})" if not is_missing(r["n"]) else "")
                 for _, r in pub.iterrows()]
        lines.append(f"By {group_by_label(bd.group_by).lower()}: " + "; ".join(parts) + "."
                     if parts else f"By {group_by_label(bd.group_by).lower()}: no group "
                                   f"published.")
        if bd.hidden:
            lines.append(texts.fill("legend.hidden_list", items=", ".join(bd.hidden)))
    lines.append(ctx.source_line())
    return "\n".join(lines)


def _group(group_by: str, group: str) -> str:
    from ..charts import group_label
    return group_label(group_by, group)
