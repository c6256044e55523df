"""Exports for presentations (DESIGN.md section 10), always from editions (suppressed aggregates).

Command line (``plan-metrics export``, dispatched by cli.py to :func:`main`)::

    plan-metrics export --plan P --year Y [--goal G] --format png|svg|pdf|pptx|xlsx|html
                        [--reports reports] [--out DIR]

- png / svg / pdf: one file per chart (trend and breakdown of every measure of the goal, or of the
  plan without --goal), e.g. ``clayton_2024-25_G1.2-suspension-rr_trend.png`` (PNG at 2x);
- pptx: the goal's deck (``clayton_2024-25_G1.pptx``) or the whole plan's (``clayton_2024-25.pptx``);
- xlsx: the workbook (README, Status, Results sheets) of the goal or the plan;
- html: the self-contained static board report of the plan and year (``clayton_2024-25.html``).

Library functions for the dashboards' "download what I see" buttons. Every one returns bytes,
reads the edition under ``reports`` (None = paths.REPORTS_DIR) and raises one PlanMetricsError for
an unknown plan, year, goal or a missing edition. ``building`` is a building_id ('ALL' = district);
``group_by`` a student-group column ('race_ethnicity', ...) or None for each measure's first::

    chart_bytes(chart, fmt, scale=2) -> bytes
        an Altair chart (or Vega-Lite dict) as 'png' (2x), 'svg' or 'pdf', as it is
    measure_chart_bytes(reports, plan_id, year, measure_id, view, fmt,
                        building='ALL', group_by=None) -> bytes
        one chart as exported (view 'trend' | 'breakdown'), with title, outcome subtitle,
        source line and suppression footnote
    goal_deck_bytes(reports, plan_id, year, goal_id, building='ALL', group_by=None) -> bytes
        the goal's PowerPoint deck (goal_id None: the whole plan)
    workbook_bytes(reports, plan_id, year, goal_id=None, building=None, group_by=None) -> bytes
        the Excel workbook (building / group_by None: every building / group column)
    csv_bytes(reports, plan_id, year, goal_id=None, building=None, group_by=None) -> bytes
        the same rows as the workbook's Results sheet, as UTF-8 CSV (suppressed values as text)
    html_report_bytes(reports, plan_id, year) -> bytes
        the static, self-contained HTML report
    packet_bytes(reports, plan_id, year, goal_id=None, building='ALL', group_by=None) -> bytes
        the board packet, a tagged PDF (exports.packet; ``plan-metrics packet``)

and ``export_filename(plan_id, year, goal_id, ext)`` (``packet_filename(plan_id, year, goal_id,
building)`` for the packet) for the file name to offer.

A measure reported only per student group (risk ratios, gaps: its all-students rows have no
value) has no trend chart; its slide shows the breakdown and the widest disparity, its group
named, and the PNG/SVG/PDF export writes its breakdown only. Rendered images are cached per distinct chart spec for the life
of the process, so a repeated download of the same deck or chart is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import PlanMetricsError
from ..results import DISTRICT
from .context import ExportContext, load_context, slug
from .images import FORMATS as IMAGE_FORMATS
from .images import chart_bytes

__all__ = ["main", "chart_bytes", "measure_chart_bytes", "goal_deck_bytes", "workbook_bytes",
           "csv_bytes", "html_report_bytes", "packet_bytes", "export_filename", "packet_filename",
           "load_context", "ExportContext"]


def _checked(ctx: ExportContext, building: str | None, group_by: str | None) -> ExportContext:
    """One PlanMetricsError for a building or student-group column the edition does not have."""
    from ..contract import GROUP_COLUMNS
    if building not in (None, DISTRICT) and building not in ctx.buildings():
        raise PlanMetricsError(f"The {ctx.year} edition of {ctx.plan.id!r} has no building "
                               f"{building!r}", "building",
                               f"use ALL (the district) or one of "
                               f"{', '.join(ctx.buildings()) or 'no other'}")
    if group_by is not None and group_by not in GROUP_COLUMNS:
        raise PlanMetricsError(f"Unknown student group column {group_by!r}", "group_by",
                               f"use one of {', '.join(GROUP_COLUMNS)}")
    return ctx


def export_filename(plan_id: str, year: str, goal_id: str | None, ext: str) -> str:
    """'clayton_2024-25_G1.pptx' (no goal: 'clayton_2024-25.pptx')."""
    parts = [plan_id, year] + ([goal_id] if goal_id else [])
    return "_".join(slug(p) for p in parts) + f".{ext}"


def measure_chart_bytes(reports, plan_id: str, year: str, measure_id: str, view: str, fmt: str,
                        building: str = DISTRICT, group_by: str | None = None) -> bytes:
    """One exported chart of a measure ('trend' or 'breakdown') as png / svg / pdf bytes."""
    from .images import breakdown_export, trend_export
    ctx = _checked(load_context(reports, plan_id, year), building, group_by)
    try:
        measure = ctx.plan.measure(measure_id)
    except KeyError:
        raise PlanMetricsError(f"Plan {plan_id!r} has no measure {measure_id!r}", "measure",
                               "use a measure id of the plan") from None
    if view == "trend":
        ce = trend_export(ctx, measure, building)
    elif view == "breakdown":
        ce = breakdown_export(ctx, measure, building, group_by)
        if ce is None:
            raise PlanMetricsError(f"Measure {measure_id!r} has no breakdown by "
                                   f"{group_by or 'student group'} in {year}", "group_by",
                                   "choose a student group the measure is reported by")
    else:
        raise PlanMetricsError(f"Unknown chart view {view!r}", "view", "use trend or breakdown")
    return chart_bytes(ce.spec, fmt)


def goal_deck_bytes(reports, plan_id: str, year: str, goal_id: str | None,
                    building: str = DISTRICT, group_by: str | None = None) -> bytes:
    """The PowerPoint deck of a goal (the whole plan when goal_id is None)."""
    from .slides import deck_bytes
    ctx = _checked(load_context(reports, plan_id, year, goal_id), building, group_by)
    return deck_bytes(ctx, building, group_by)


def workbook_bytes(reports, plan_id: str, year: str, goal_id: str | None = None,
                   building: str | None = None, group_by: str | None = None) -> bytes:
    """The Excel workbook of a goal or the plan, optionally for one building / group column."""
    from .workbook import workbook_bytes_from_context
    ctx = _checked(load_context(reports, plan_id, year, goal_id), building, group_by)
    return workbook_bytes_from_context(ctx, building, group_by)


def csv_bytes(reports, plan_id: str, year: str, goal_id: str | None = None,
              building: str | None = None, group_by: str | None = None) -> bytes:
    """The Results sheet of the workbook as CSV (UTF-8 with BOM, so Excel reads it right)."""
    import csv
    import io

    from .workbook import build_workbook
    ctx = _checked(load_context(reports, plan_id, year, goal_id), building, group_by)
    ws = build_workbook(ctx, building, group_by)["Results"]
    buf = io.StringIO()
    w = csv.writer(buf)
    for row in ws.iter_rows(values_only=True):
        w.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def html_report_bytes(reports, plan_id: str, year: str) -> bytes:
    """The static self-contained HTML report of a plan and year."""
    from .html_report import report_html
    return report_html(load_context(reports, plan_id, year)).encode("utf-8")


def packet_bytes(reports, plan_id: str, year: str, goal_id: str | None = None,
                 building: str = DISTRICT, group_by: str | None = None) -> bytes:
    """The board packet (PDF) of a plan and year, one goal or one building."""
    from .packet import packet_bytes as make
    return make(reports, plan_id, year, goal_id, building, group_by)


def packet_filename(plan_id: str, year: str, goal_id: str | None = None,
                    building: str = DISTRICT) -> str:
    """'clayton_2024-25_G1_packet.pdf' (see exports.packet)."""
    from .packet import packet_filename as name
    return name(plan_id, year, goal_id, building)


def main(args) -> int:
    """``plan-metrics export``: write the requested export(s) into --out and print their paths."""
    from .. import paths
    reports = Path(args.reports) if args.reports else paths.REPORTS_DIR
    out = Path(args.out or ".")
    ctx = load_context(reports, args.plan, args.year, args.goal)
    _check_writable(out)
    fmt = args.format
    written: list[Path] = []
    if fmt in IMAGE_FORMATS:
        from .images import write_chart_files
        written = write_chart_files(ctx, fmt, out)
    elif fmt == "pptx":
        from .slides import deck_bytes
        path = out / export_filename(ctx.plan.id, ctx.year, args.goal, "pptx")
        path.write_bytes(deck_bytes(ctx))
        written = [path]
    elif fmt == "xlsx":
        from .workbook import workbook_bytes_from_context
        path = out / export_filename(ctx.plan.id, ctx.year, args.goal, "xlsx")
        path.write_bytes(workbook_bytes_from_context(ctx))
        written = [path]
    elif fmt == "html":
        from .html_report import report_html
        path = out / export_filename(ctx.plan.id, ctx.year, None, "html")
        path.write_text(report_html(ctx), encoding="utf-8")
        written = [path]
    else:  # argparse's choices make this unreachable from the CLI
        raise PlanMetricsError(f"Unknown export format {fmt!r}", "--format",
                               "use png, svg, pdf, pptx, xlsx or html")
    for p in written:
        print(p)
    print(f"wrote {len(written)} file(s) to {out}", file=sys.stderr)
    return 0


def _check_writable(out: Path) -> None:
    """Create --out if needed; one clear error when it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".plan-metrics-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise PlanMetricsError(f"Cannot write the export into {str(out)!r} ({e.strerror or e})",
                               "--out", "choose a folder you can write to, e.g. --out exports"
                               ) from None
