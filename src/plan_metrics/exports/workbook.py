"""The Excel workbook of an edition (openpyxl): README, Status and Results sheets.

Human column headers, goal / outcome / measure titles joined from the plan, building names where the
edition knows them, percentages formatted as %, frozen header rows and filters. A suppressed cell is
never a number: its value cell holds the edition's display text ("not shown") and its counts and
interval are empty.
"""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..results import ALL
from .context import ExportContext, group_by_label, group_label, is_missing, unit_of

_HEADER_FILL = PatternFill("solid", fgColor="1F3B57")
_HEADER_FONT = Font(bold=True, color="FFFFFF")

#: Results sheet: (header, width, explanation for the README).
RESULT_COLUMNS = [
    ("Goal", 8, "The plan's goal id."),
    ("Goal title", 24, "The goal's short title in the plan."),
    ("Outcome", 44, "The outcome (\"We will know we have achieved this goal when ...\") the "
                    "measure operationalizes."),
    ("Measure ID", 26, "The measure's id in the plan (stable; used in file names and links)."),
    ("Measure", 36, "The measure's title in the plan."),
    ("School year", 11, "The school year (YYYY-YY)."),
    ("Building ID", 11, "ALL = the whole district."),
    ("Building", 24, "The building's name where the edition records it, else its id."),
    ("Student group type", 24, "Which student characteristic the row breaks down by "
                               "(All students = no breakdown)."),
    ("Student group", 20, "The group within that characteristic."),
    ("Value", 11, "The measure's value. Percentages are shown as %; gaps in percentage points; "
                  "risk ratios as ratios (1 = equal risk); indexes, rates per 100 students and "
                  "means in their own unit. Suppressed or rounded cells show the published text "
                  "instead of a number."),
    ("Shown as", 12, "The text the dashboards show for this cell."),
    ("Unit", 9, "percent, points, ratio, index, per_100, hours or number."),
    ("Numerator", 11, "People (or events) counted in the value's numerator; empty when hidden."),
    ("Denominator", 12, "The value's denominator; empty when hidden."),
    ("Number of people", 10, "People behind the cell (students, respondents, staff); empty when "
                             "hidden."),
    ("95% interval low", 11, "Lower end of the 95% confidence interval (Wilson for proportions, "
                             "log scale for risk ratios)."),
    ("95% interval high", 11, "Upper end of the 95% confidence interval."),
    ("Comparison value", 12, "All other students' risk or share, where the kind has one."),
    ("Suppressed", 11, "Yes when the cell is hidden to protect small groups."),
    ("Note", 36, "Notes from the computation (e.g. no data this year)."),
]
STATUS_COLUMNS = [
    ("Goal", 8, ""), ("Goal title", 24, ""), ("Outcome", 44, ""), ("Measure ID", 26, ""),
    ("Measure", 36, ""), ("School year", 11, ""),
    ("Status", 16, "The measure's status this year (district, all students)."),
    ("Rule", 60, "The rule that produced the status, in words."),
    ("Value", 11, "This year's district value."),
    ("Baseline year", 11, "The year the plan measures progress from."),
    ("Baseline value", 11, "The value in the baseline year."),
    ("Target year", 11, "The year of the plan's target, when it has one."),
    ("Target value", 11, "The target value."),
    ("Expected value", 11, "Where the straight line from baseline to target is this year."),
    ("Unit", 9, ""),
]


def build_workbook(ctx: ExportContext, building: str | None = None,
                   group_by: str | None = None) -> Workbook:
    """The workbook of ``ctx`` (its goal, or the whole plan); optionally only one building /
    student-group column (the dashboard's current filters; the all-students rows stay)."""
    measures = ctx.measures()
    ids = [m.id for m in measures]
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    _readme(readme, ctx, building, group_by)

    st = wb.create_sheet("Status")
    _header(st, STATUS_COLUMNS)
    status = ctx.status[ctx.status["measure_id"].isin(ids)]
    order = {m: i for i, m in enumerate(ids)}
    status = status.assign(_o=status["measure_id"].map(order)).sort_values("_o")
    measure_of = {m.id: m for m in ctx.plan.measures()}
    for row_no, (_, s) in enumerate(status.iterrows(), start=2):
        m = measure_of[s["measure_id"]]
        unit = unit_of(m)
        g = ctx.plan.goal_of(m.id)
        row = [g.id if g else "", (g.title or "") if g else "", ctx.outcome_text(m), m.id, m.title,
               s["school_year"], s["status"], s["rule_text"]]
        st.append(row + [_num(s["value"]), _txt(s["baseline_year"]), _num(s["baseline_value"]),
                         _txt(s["target_year"]), _num(s["target_value"]),
                         _num(s["expected_value"]), unit])
        _format_numbers(st, row_no, [9, 11, 13, 14], unit)
    _finish(st, STATUS_COLUMNS)

    rs = wb.create_sheet("Results")
    _header(rs, RESULT_COLUMNS)
    res = ctx.results[ctx.results["measure_id"].isin(ids)]
    if building:
        res = res[res["building_id"] == building]
    if group_by:
        res = res[res["group_by"].isin([ALL, group_by])]
    res = res.assign(_o=res["measure_id"].map(order)).sort_values(
        ["_o", "building_id", "group_by", "group"], key=_district_first)
    words = {m.id: (unit_of(m), ctx.plan.goal_of(m.id), ctx.outcome_text(m)) for m in measures}
    for row_no, r in enumerate(res.to_dict("records"), start=2):
        m = measure_of[r["measure_id"]]
        unit, g, outcome = words[m.id]
        head = [g.id if g else "", (g.title or "") if g else "", outcome, m.id,
                m.title, r["school_year"], r["building_id"], ctx.building_name(r["building_id"]),
                group_by_label(r["group_by"]), group_label(r["group_by"], r["group"])]
        display = _txt(r["display"])
        if bool(r["suppressed"]):
            # Hidden cell: the published words only, no number of any kind.
            nums = [display, display, unit, None, None, None, None, None, None, "Yes"]
        elif display.startswith(("<", ">")):
            # A small-group 0% / 100% published as "< x%": the exact value stays unpublished.
            nums = [display, display, unit, None, _num(r["denominator"]), _int(r["n"]), None,
                    None, _num(r["comparison_value"]), "No"]
        else:
            nums = [_num(r["value"]), display, unit, _num(r["numerator"]),
                    _num(r["denominator"]), _int(r["n"]), _num(r["ci_low"]), _num(r["ci_high"]),
                    _num(r["comparison_value"]), "No"]
        rs.append(head + nums + [_txt(r["note"])])
        _format_numbers(rs, row_no, [11, 17, 18, 19], unit)
    _finish(rs, RESULT_COLUMNS)
    return wb


def workbook_bytes_from_context(ctx: ExportContext, building: str | None = None,
                                group_by: str | None = None) -> bytes:
    buf = io.BytesIO()
    build_workbook(ctx, building, group_by).save(buf)
    return buf.getvalue()


def _readme(ws, ctx: ExportContext, building, group_by) -> None:
    scope = ctx.goal_label(ctx.goal) if ctx.goal else "every goal of the plan"
    lines = [
        (f"{ctx.plan.title}: results for {ctx.year}", True),
        (f"Organization: {ctx.plan.organization}", False),
        (f"Scope: {scope}"
         + (f"; building {ctx.building_name(building)}" if building else "")
         + (f"; student groups by {group_by_label(group_by)}" if group_by else ""), False),
        (f"Source edition: {ctx.plan.id}/{ctx.year} (computed {ctx.edition_date}); "
         f"workbook written {date.today().isoformat()}.", False),
    ]
    if ctx.synthetic:
        lines.append(("Synthetic demo data: these numbers describe an invented district, "
                      "not real students.", True))
    lines += [
        ("", False),
        ("Privacy (suppression rule)", True),
        (f"A cell describing fewer than {ctx.min_n} people (min_n = {ctx.min_n}) is suppressed: "
         f"its value, counts and interval are not published and it reads \"not shown\". Where "
         f"a hidden cell could be worked out from the others (by subtraction, across buildings, "
         f"years or measures of the same students), further cells are hidden until no hidden "
         f"count can be narrowed to fewer than {ctx.protection} values. A percentage from fewer "
         f"than 100 students is never shown as exactly 0% or 100%: near the ends it reads "
         f"\"< x%\" or \"> y%\" with x = floor(100/n) + 1.", False),
        ("", False),
        ("Units of Value", True),
        ("Percentages are stored as fractions and shown as % (0.78 shows as 78%). Gaps are in "
         "percentage points. Risk ratios are ratios (1 = the same risk as all other students). "
         "The MAP Performance Index is an index (100 to 500). Per 100 = per 100 enrolled "
         "students. Means are in their own unit (e.g. hours).", False),
        ("", False),
        ("Sheets", True),
        ("Status: one row per measure: its status word and the rule behind it.", False),
        ("Results: every published cell: district (ALL) and each building, all students and each "
         "student group.", False),
        ("", False),
        ("Columns of Results", True),
    ]
    lines += [(f"{h}: {why}", False) for h, _, why in RESULT_COLUMNS]
    lines += [("", False), ("Columns of Status", True)]
    lines += [(f"{h}: {why}", False) for h, _, why in STATUS_COLUMNS if why]
    for text, bold in lines:
        ws.append([text])
        cell = ws.cell(row=ws.max_row, column=1)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True, size=12 if ws.max_row == 1 else 11)
    ws.column_dimensions["A"].width = 120


def _header(ws, columns) -> None:
    ws.append([h for h, _, _ in columns])
    for i, _ in enumerate(columns, start=1):
        c = ws.cell(row=1, column=i)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _finish(ws, columns) -> None:
    for i, (_, width, _) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{ws.max_row}"


def _format_numbers(ws, row: int, cols: list[int], unit: str) -> None:
    fmt = {"percent": "0.0%", "points": "+0.0;-0.0;0.0", "ratio": "0.00", "index": "0",
           "per_100": "0.0", "hours": "0.0"}.get(unit, "0.00")
    for c in cols:
        cell = ws.cell(row=row, column=c)
        if isinstance(cell.value, (int, float)):
            cell.number_format = fmt


def _district_first(s: pd.Series) -> pd.Series:
    if s.name == "building_id":
        return s.map(lambda b: "" if b == "ALL" else str(b))
    if s.name in ("group_by", "group"):
        return s.map(lambda g: "" if g == ALL else str(g))
    return s


def _num(x):
    return None if is_missing(x) else float(x)


def _int(x):
    return None if is_missing(x) else int(x)


def _txt(x) -> str:
    return "" if is_missing(x) else str(x)
