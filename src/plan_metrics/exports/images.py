"""Chart images for slides, documents and the web: PNG (2x), SVG and PDF through vl-convert.

The charts themselves come from ``plan_metrics.charts`` (the dashboard's builders); this module only
decorates them for use outside the dashboard: a title, the plan's outcome text as subtitle, and at
the bottom a source line (plan, edition year, "Synthetic demo data" where it is) and the
suppression footnote naming the groups (or years) that are not shown. Rendering is offline:
vl-convert bundles Vega, Vega-Lite and fonts.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import vl_convert as vlc

from .. import charts
from ..errors import PlanMetricsError
from ..plan import Measure
from ..results import ALL, DISTRICT
from .context import ExportContext, group_by_label, slug

FORMATS = ("png", "svg", "pdf")
VL_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
PNG_SCALE = 2


@dataclass
class ChartExport:
    """One decorated chart of a measure: its Vega-Lite spec, alt text and the numbers it shows."""
    measure: Measure
    view: str                 # "trend" or "breakdown"
    spec: dict
    alt_text: str
    building: str
    group_by: str | None
    hidden: list[str]         # groups (breakdown) or years (trend) not shown
    subject: str = "all students"   # whose values the chart shows

    def file_stem(self, ctx: ExportContext) -> str:
        """e.g. clayton_2024-25_G1.2-suspension-rr_trend (building / group when not the default)."""
        parts = [ctx.plan.id, ctx.year, self.measure.id, self.view]
        if self.building != DISTRICT:
            parts.append(self.building)
        if self.view == "breakdown" and self.group_by:
            parts.append(self.group_by)
        return "_".join(slug(p) for p in parts)


def chart_bytes(chart: Any, fmt: str, scale: int = PNG_SCALE) -> bytes:
    """An Altair chart (or a Vega-Lite dict) as PNG (``scale`` x), SVG or PDF bytes."""
    spec = chart.to_dict(validate=False) if hasattr(chart, "to_dict") else chart
    if "container" in (spec.get("width"), spec.get("height")):  # a dashboard's responsive chart
        spec = {**spec, "width": charts.CHART_WIDTH if spec.get("width") == "container"
                else spec.get("width", charts.CHART_WIDTH),
                "height": charts.CHART_HEIGHT if spec.get("height") == "container"
                else spec.get("height", charts.CHART_HEIGHT)}
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise PlanMetricsError(f"Unknown chart format {fmt!r}", "--format",
                               f"use one of {', '.join(FORMATS)}")
    return _render(json.dumps(spec, sort_keys=True, default=str), fmt, scale)


@lru_cache(maxsize=128)
def _render(spec_json: str, fmt: str, scale: int) -> bytes:
    """Render once per distinct spec (a dashboard's repeated downloads are then instant)."""
    spec = json.loads(spec_json)
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=scale)
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    return vlc.vegalite_to_pdf(spec)


def clear_cache() -> None:
    """Forget rendered images (benchmarks time cold renders)."""
    _render.cache_clear()


def decorate(chart: Any, *, title: str, subtitle: str | None, footer: list[str]) -> dict:
    """Wrap a chart for export: title + subtitle on top, source and footnote lines below.

    Works on the spec (dict) so that any builder's layer or chart is accepted: the chart's own
    config and datasets move to the top level, the chart becomes the single row of a vconcat
    whose title is the export title; the chart's own title (at the bottom) carries the footer.
    """
    spec = dict(chart.to_dict(validate=False) if hasattr(chart, "to_dict") else chart)
    outer: dict[str, Any] = {"$schema": spec.pop("$schema", VL_SCHEMA)}
    for key in ("config", "datasets", "description", "background"):
        if key in spec:
            outer[key] = spec.pop(key)
    # Variable params (the builders' building / year / group_by) must sit at the top level.
    variables = [p for p in spec.get("params", []) if "select" not in p]
    if variables:
        spec["params"] = [p for p in spec["params"] if "select" in p]
        if not spec["params"]:
            del spec["params"]
        outer["params"] = variables
    for key in ("width", "height"):
        if spec.get(key) == "container":  # no container outside a web page
            spec[key] = charts.CHART_WIDTH if key == "width" else charts.CHART_HEIGHT
    spec.pop("title", None)
    if footer:
        spec["title"] = {"text": footer, "orient": "bottom", "anchor": "start", "fontSize": 10,
                         "fontWeight": "normal", "color": "#444444", "offset": 14,
                         "lineHeight": 13}
    outer["vconcat"] = [spec]
    outer["title"] = {"text": _wrap(title, 52), "anchor": "start", "fontSize": 16,
                      "color": "#222222", "lineHeight": 19,
                      **({"subtitle": _wrap(subtitle, 64), "subtitleFontSize": 12,
                          "subtitleColor": "#444444", "subtitleLineHeight": 15,
                          "subtitlePadding": 6} if subtitle else {})}
    outer["padding"] = 14
    outer.setdefault("background", "white")
    return outer


def _wrap(text: str, width: int) -> list[str] | str:
    lines = textwrap.wrap(" ".join(str(text).split()), width) or [""]
    return lines if len(lines) > 1 else lines[0]


def _place(ctx: ExportContext, building: str) -> str:
    return "the district" if building == DISTRICT else ctx.building_name(building)


def footer_lines(ctx: ExportContext, hidden_note: str | None) -> list[str]:
    """Source line, then the suppression footnote (with what is hidden in this chart)."""
    lines = _wrap(ctx.source_line(), 80)
    lines = lines if isinstance(lines, list) else [lines]
    note = ctx.suppression_note()
    if hidden_note:
        note += f" {hidden_note}"
    wrapped = _wrap(note, 80)
    return lines + (wrapped if isinstance(wrapped, list) else [wrapped])


def trend_export(ctx: ExportContext, measure: Measure, building: str = DISTRICT) -> ChartExport:
    """The decorated trend chart of a measure (all students) at a building or the district."""
    rows = ctx.trend_rows(measure.id, building)
    status = ctx.status_row(measure.id) if building == DISTRICT else None
    place = _place(ctx, building)
    who = "all students"
    chart = charts.trend_chart(rows, measure, status, place=place)
    hidden = sorted(set(rows.loc[rows["suppressed"].astype(bool), "school_year"]))
    note = f"Years not shown: {', '.join(hidden)}." if hidden else None
    title = f"{measure.title}: {place}, {who}"
    spec = decorate(chart, title=title, subtitle=ctx.outcome_text(measure),
                    footer=footer_lines(ctx, note))
    return ChartExport(measure, "trend", spec, charts.alt_text(chart), building, None, hidden,
                       who)


def breakdown_export(ctx: ExportContext, measure: Measure, building: str = DISTRICT,
                     group_by: str | None = None) -> ChartExport | None:
    """The decorated breakdown of a measure by a student group (None when it has no groups)."""
    group_by = group_by or ctx.default_group_by(measure)
    if not group_by:
        return None
    rows = ctx.breakdown_rows(measure.id, building, group_by)
    if rows.empty:
        return None
    all_row = ctx.results[(ctx.results["measure_id"] == measure.id)
                          & (ctx.results["building_id"] == building)
                          & (ctx.results["group_by"] == ALL)]
    both = pd.concat([all_row, rows], ignore_index=True)
    place = _place(ctx, building)
    chart = charts.breakdown_chart(both, measure, place=place)
    hid = rows[rows["suppressed"].astype(bool) | rows["value"].isna()]
    hidden = [charts.group_label(group_by, g) for g in hid["group"]]
    note = f"Not shown here: {', '.join(hidden)}." if hidden else None
    title = f"{measure.title} by {group_by_label(group_by).lower()}: {place}, {ctx.year}"
    spec = decorate(chart, title=title, subtitle=ctx.outcome_text(measure),
                    footer=footer_lines(ctx, note))
    return ChartExport(measure, "breakdown", spec, charts.alt_text(chart), building, group_by,
                       hidden)


def measure_exports(ctx: ExportContext, measure: Measure, building: str = DISTRICT,
                    group_by: str | None = None) -> list[ChartExport]:
    """Every chart of a measure on the board: the trend, and the breakdown where there is one.

    A measure reported only per group (ctx.per_group: risk ratios, gaps) has no all-students
    trend to draw; it gets its breakdown only."""
    out = [] if ctx.per_group(measure) else [trend_export(ctx, measure, building)]
    b = breakdown_export(ctx, measure, building, group_by)
    if b is not None:
        out.append(b)
    return out


def write_chart_files(ctx: ExportContext, fmt: str, out_dir: Path, building: str = DISTRICT,
                      group_by: str | None = None) -> list[Path]:
    """Write one file per chart of every measure of the context's goal (or plan) into out_dir."""
    written = []
    for m in ctx.measures():
        for ce in measure_exports(ctx, m, building, group_by):
            path = out_dir / f"{ce.file_stem(ctx)}.{fmt}"
            data = chart_bytes(ce.spec, fmt)
            if fmt == "svg":
                data = _svg_with_title(data, ce)
            path.write_bytes(data)
            written.append(path)
    return written


def _svg_with_title(svg: bytes, ce: ChartExport) -> bytes:
    """Add <title> (the alt text) right after the root <svg ...> element for screen readers."""
    from xml.sax.saxutils import escape
    text = svg.decode("utf-8")
    m = re.search(r"<svg[^>]*>", text)
    if not m or "<title>" in text[: m.end() + 20]:
        return svg
    return (text[: m.end()] + f"<title>{escape(ce.alt_text)}</title>" + text[m.end():]).encode()
