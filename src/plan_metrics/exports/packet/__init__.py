"""The board packet (DESIGN.md sections 10 and 11): a paginated, tagged, accessible PDF.

``plan-metrics packet --plan P --year Y [--goal G] [--building B] [--reports reports] [--out DIR]``
writes ``<plan>_<year>[_<goal>][_<building>]_packet.pdf``: a cover with the edition's provenance
(date, version, commit, plan and input hashes from the manifest), a contents page whose entries
link to their pages, then per goal its scorecard page and narrative and a page per measure (value
and interval, changes, target, benchmark, status and its rule, the trend and breakdown charts as
vector SVG from vl-convert with their alt text, the breakdown table with its suppression notes),
and an appendix on methods. Page numbers ("Page 3 of 41"), bookmarks, searchable text.

Typeset by Typst through its PyPI package (``typst``): no browser, no system package, no TeX.
The template (``packet.typ``) is fixed; every word and number arrives as JSON data in
``sys.inputs``, so user text is never read as Typst markup. The PDF is PDF/UA-1 (tagged, with
a title, a language and alt text on every chart); Typst refuses to write it otherwise.

Library: ``packet_bytes(reports, plan_id, year, goal_id=None, building='ALL') -> bytes`` and
``packet_filename(plan_id, year, goal_id=None, building='ALL')``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ...errors import PlanMetricsError
from ...results import DISTRICT
from ..context import ExportContext, load_context, slug

TEMPLATE = "packet.typ"
PDF_STANDARDS = ["ua-1"]

__all__ = ["packet_bytes", "packet_from_context", "packet_filename", "main"]


def packet_filename(plan_id: str, year: str, goal_id: str | None = None,
                    building: str = DISTRICT) -> str:
    """'clayton_2024-25_packet.pdf', 'clayton_2024-25_G1_packet.pdf', '..._B03_packet.pdf'."""
    parts = [plan_id, year] + ([goal_id] if goal_id else []) + \
        ([building] if building and building != DISTRICT else []) + ["packet"]
    return "_".join(slug(p) for p in parts) + ".pdf"


def _template() -> bytes:
    return resources.files(__name__).joinpath(TEMPLATE).read_bytes()


def _timestamp(ctx: ExportContext) -> datetime:
    """The edition's end time to the second (so that the same edition gives the same PDF
    date; Typst takes no microseconds)."""
    return _edition_time(ctx).replace(microsecond=0)


def _edition_time(ctx: ExportContext) -> datetime:
    m = ctx.edition.manifest
    for key in ("ended", "end_time", "started"):
        if m.get(key):
            try:
                t = datetime.fromisoformat(str(m[key]))
                return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
            except ValueError:
                continue
    return datetime.fromtimestamp((ctx.edition.path / "results.parquet").stat().st_mtime,
                                  timezone.utc)


def typeset(data: dict, timestamp: datetime | None = None) -> bytes:
    """The packet's data through the Typst template into PDF/UA-1 bytes."""
    import typst
    try:
        return typst.compile(_template(), format="pdf",
                             sys_inputs={"data": json.dumps(data, default=str)},
                             pdf_standards=PDF_STANDARDS, timestamp=timestamp)
    except Exception as e:  # a Typst error is ours, not the user's: say what failed
        raise PlanMetricsError(f"The board packet could not be typeset ({e})", "packet.typ",
                               "report this to the maintainers with the plan and year") from e


def packet_from_context(ctx: ExportContext, building: str = DISTRICT,
                        group_by: str | None = None, jobs: int = 2) -> bytes:
    """The packet of the context's goal (or whole plan) at the district or one building."""
    from .content import packet_data
    if building not in (None, DISTRICT) and building not in ctx.buildings():
        raise PlanMetricsError(f"The {ctx.year} edition of {ctx.plan.id!r} has no building "
                               f"{building!r}", "--building",
                               f"use ALL (the district) or one of "
                               f"{', '.join(ctx.buildings()) or 'no other'}")
    return typeset(packet_data(ctx, building or DISTRICT, group_by, jobs), _timestamp(ctx))


def packet_bytes(reports, plan_id: str, year: str, goal_id: str | None = None,
                 building: str = DISTRICT, group_by: str | None = None) -> bytes:
    """The board packet PDF of a plan and year (one goal, one building) from its edition."""
    return packet_from_context(load_context(reports, plan_id, year, goal_id), building, group_by)


def main(args) -> int:
    """``plan-metrics packet``: write the packet into --out and print its path."""
    from ... import paths
    from .. import _check_writable
    reports = Path(args.reports) if args.reports else paths.REPORTS_DIR
    out = Path(args.out or ".")
    ctx = load_context(reports, args.plan, args.year, args.goal)
    building = args.building or DISTRICT
    _check_writable(out)
    path = out / packet_filename(ctx.plan.id, ctx.year, args.goal, building)
    path.write_bytes(packet_from_context(ctx, building))
    print(path)
    print(f"wrote the board packet ({path.stat().st_size / 1e6:.1f} MB) to {out}",
          file=sys.stderr)
    return 0
