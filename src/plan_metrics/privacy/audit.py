"""The privacy audit of a whole reports folder (DESIGN.md section 6; ``plan-metrics audit``).

The attacker knows every published number of every edition in the folder (every plan, every year,
the editions kept in ``history/``), every relation of ``model`` among them (groups add up to
``all``, buildings to the district, measures that count the same people share their counts, a
three-year window is the sum of its years, the rows' own relations), that counts are whole and not
negative, and what each display text says. For every count no output publishes, the audit finds the
smallest and largest value it can take (``lp.ranges``): protection holds where that range is at
least ``protection`` wide (a banded numerator: where it is not a single value).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import helper_processes, lp
from .model import BANDED, HIDDEN, PUBLISHED, build_model, system_of
from .tables import edition_tables, latent_for_audit


@dataclass
class Exposure:
    """A count narrowed too far."""
    edition: str
    cell: str
    low: float
    high: float
    need: float
    shown_by: str = ""

    def __str__(self) -> str:
        return (f"{self.cell}: an attacker can narrow it to {self.low:g}..{self.high:g} "
                f"(needs a range of {self.need:g})")


@dataclass
class Report:
    """What the audit found: per edition its hidden cells and the narrowest range achieved."""
    editions: pd.DataFrame
    exposures: list[Exposure] = field(default_factory=list)
    #: counts an edition hides that another edition of the folder shows (a kept edition under a
    #: lower min_n): public, so not a hidden count an attacker could work out
    shown_elsewhere: list[Exposure] = field(default_factory=list)
    seconds: float = 0.0
    unknown_cells: int = 0
    components: int = 0
    solves: int = 0
    protection: int = 5

    @property
    def ok(self) -> bool:
        return not self.exposures

    def text(self) -> str:
        """The audit as the CLI prints it."""
        lines = []
        if self.editions.empty:
            return "No editions to audit."
        df = self.editions.copy()
        df["min range"] = df["min range"].map(lambda v: "-" if pd.isna(v) else f"{v:g}")
        lines.append(df.to_string(index=False))
        lines.append("")
        verdict = (f"0 exposed cells: every hidden count keeps a range of at least "
                   f"{self.protection} people" if self.ok else
                   f"{len(self.exposures)} exposed cell(s)")
        lines.append(f"{verdict}. {self.unknown_cells} unknown counts in {self.components} "
                     f"independent parts, {self.solves} linear programs, {self.seconds:.1f} s.")
        for e in self.exposures[:20]:
            lines.append(f"  - {e}")
        if self.shown_elsewhere:
            lines.append(f"{len(self.shown_elsewhere)} count(s) hidden in one edition are shown "
                         f"by another (a cell once published stays published), e.g.:")
            for e in self.shown_elsewhere[:5]:
                lines.append(f"  - {e.cell} (hidden in {e.edition}; shown by {e.shown_by})")
        return "\n".join(lines)


def edition_folders(reports: Path | str) -> list[Path]:
    """Every edition folder of a reports folder: the current ones and those kept in history."""
    root = Path(reports)
    out = []
    if not root.is_dir():
        return out
    for man in sorted(root.glob("*/*/manifest.json")) + sorted(
            root.glob("*/*/history/*/manifest.json")):
        if any(part.startswith(".") for part in man.relative_to(root).parts):
            continue
        if (man.parent / "results.parquet").is_file():
            out.append(man.parent)
    return out


def read_tables(folders: list[Path]):
    """The fixed tables, links and senses of the editions in ``folders``."""
    tables, links, senses, meta = [], [], {}, []
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        results = pd.read_parquet(folder / "results.parquet")
        t, lk, sn = edition_tables(results, manifest)
        for x in t:
            x.edition = str(folder)
        tables += t
        links += lk
        senses.update(sn)
        meta.append((folder, manifest, t))
    return tables, links, senses, meta


def audit(reports: Path | str | None = None, protection: int | None = None,
          folders: list[Path] | None = None) -> Report:
    """Prove (or refute) the protection of everything ``reports`` publishes together.

    ``protection`` defaults to the largest recorded in the editions' manifests (5 if none).
    """
    started = time.perf_counter()
    from ..paths import REPORTS_DIR
    folders = folders if folders is not None else edition_folders(reports or REPORTS_DIR)
    tables, links, senses, meta = read_tables(folders)
    if protection is None:
        recorded = [int((m.get("privacy") or {}).get("protection") or 0) for _, m, _ in meta]
        protection = max([p for p in recorded if p] or [5])
    tables += latent_for_audit(tables)
    # the audit treats every table as "new" for the needs, but knows no true counts
    for t in tables:
        t.fixed = False
    model = build_model(tables, links, senses)
    sysm, var_cells, _ = system_of(model, protection, use_truth=False)
    try:
        ranges, figures = lp.ranges(sysm)
    finally:
        helper_processes.close()
    cell_var = {int(c): v for v, c in enumerate(var_cells)}
    exposures: list[Exposure] = []
    elsewhere: list[Exposure] = []
    shown_by = _shown_by(model)
    rows = []
    for folder, manifest, mine in meta:
        hidden = banded = 0
        widths = []
        for t in mine:
            ti = model.tables.index(t)
            ids = model.cells.row_cells[ti]
            st = t.rows["state"].to_numpy(dtype=object)
            hidden += int((st == HIDDEN).sum())
            banded += int((st == BANDED).sum())
            for ri, s in enumerate(st):
                if s not in (HIDDEN, BANDED):
                    continue
                for j in ((0, 1) if s == HIDDEN else (1,)):
                    v = cell_var.get(int(ids[ri, j]))
                    need = protection if s == HIDDEN else 1
                    if v is None:  # published by another row: known
                        e = _exposure(folder, t, ri, j, float("nan"), float("nan"), need)
                        others = shown_by.get(int(ids[ri, j]), set()) - {str(folder)}
                        if others:
                            e.shown_by = ", ".join(sorted(others))
                            elsewhere.append(e)
                        else:
                            exposures.append(e)
                        continue
                    r = ranges.get(v)
                    if r is None:
                        continue
                    if s == HIDDEN:
                        widths.append(r.width)
                    if r.width < need - 1e-9:
                        exposures.append(_exposure(folder, t, ri, j, r.low, r.high, need))
        rec = manifest.get("privacy") or {}
        rows.append({"plan": manifest.get("plan_id"), "year": manifest.get("school_year"),
                     "edition": "current" if folder.parent.name != "history" else
                     f"history {folder.name}",
                     "hidden": hidden, "primary": rec.get("hidden_primary", "?"),
                     "complementary": rec.get("hidden_complementary", "?"), "banded": banded,
                     "min range": min(widths) if widths else float("nan")})
    return Report(pd.DataFrame(rows), exposures, elsewhere, time.perf_counter() - started,
                  len(var_cells), figures["components"], figures["solves"], protection)


def _shown_by(model) -> dict[int, set[str]]:
    """{cell: the edition folders whose rows publish it} (a banded row publishes its n only)."""
    out: dict[int, set[str]] = {}
    for t, ids in zip(model.tables, model.cells.row_cells):
        if t.latent:
            continue
        st = t.rows["state"].to_numpy(dtype=object)
        for j in range(ids.shape[1]):
            pub = (st == PUBLISHED) | ((st == BANDED) & (j == 0))
            for c in ids[pub, j].tolist():
                out.setdefault(int(c), set()).add(str(getattr(t, "edition", "")))
    return out


def _exposure(folder, t, ri, j, low, high, need) -> Exposure:
    r = t.rows.iloc[ri]
    qty = ("n", "numerator", "denominator")[j]
    return Exposure(str(folder), f"{t.name} {r['building_id']} {r['group_by']}={r['group']} "
                    f"{qty}", low, high, need)


def main(args) -> int:
    """``plan-metrics audit``: print the audit of a reports folder; exit 1 when a cell is exposed."""
    from ..errors import PlanMetricsError
    from ..paths import REPORTS_DIR

    reports = Path(args.reports) if args.reports else REPORTS_DIR
    if not reports.is_dir():
        raise PlanMetricsError(f"The reports folder {str(reports)!r} does not exist", "--reports",
                               "give the folder plan-metrics run published to (default reports/)")
    if args.protection is not None and args.protection < 1:
        raise PlanMetricsError(f"--protection {args.protection}: the range must be at least 1",
                               "--protection", "give 1 or more, or leave it out")
    report = audit(reports, args.protection)
    print(report.text())
    return 0 if report.ok else 1
