"""Reading published editions (DESIGN.md section 8): the only thing dashboards and exports read.

An edition is ``<reports>/<plan_id>/<school_year>/`` with results.parquet, status.parquet,
manifest.json and notebooks/. Republishing a plan-year keeps the edition it replaces, whole, in
``<school_year>/history/<its published time, UTC, YYYYMMDDTHHMMSSZ>/`` (``history_editions``,
``read_edition_at``); the finders of the current editions (``list_editions``, ``read_edition``,
``read_history``) never read history. Everything here reads suppressed aggregates only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import contract
from .errors import PlanMetricsError
from .paths import REPORTS_DIR
from .results import RESULTS_COLUMNS, STATUS_COLUMNS, conform

RESULTS_FILE, STATUS_FILE, MANIFEST_FILE = "results.parquet", "status.parquet", "manifest.json"
#: the folder of an edition that keeps the editions it replaced (DESIGN.md section 8)
HISTORY_DIR = "history"
#: a history edition's name: its published time, UTC (an optional -2, -3 ... when two editions
#: of a plan-year were published within the same second)
HISTORY_NAME_RE = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
#: the primary-suppression minimum of an edition whose manifest does not say (DESIGN.md 6)
DEFAULT_MIN_N = 10


def min_n_of(manifest: dict) -> int:
    """The primary-suppression minimum an edition was computed with (its manifest's parameters)."""
    for holder in (manifest.get("parameters") or {}, manifest.get("options") or {}, manifest):
        if isinstance(holder, dict) and holder.get("min_n"):
            return int(holder["min_n"])
    return DEFAULT_MIN_N


@dataclass(frozen=True)
class Edition:
    """One published plan-year: its results, status and manifest."""
    plan_id: str
    school_year: str
    path: Path
    results: pd.DataFrame
    status: pd.DataFrame
    manifest: dict

    @property
    def synthetic(self) -> bool:
        """True when the edition was computed from the synthetic demo district."""
        return bool(self.manifest.get("synthetic_data"))

    @property
    def min_n(self) -> int:
        """The primary-suppression minimum the edition was computed with."""
        return min_n_of(self.manifest)


def write_edition(folder: Path | str, results: pd.DataFrame, status: pd.DataFrame,
                  manifest: dict) -> Path:
    """Write an edition's three files into ``folder`` (which the runner later moves into place)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    conform(results, RESULTS_COLUMNS).to_parquet(folder / RESULTS_FILE, index=False)
    conform(status, STATUS_COLUMNS).to_parquet(folder / STATUS_FILE, index=False)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    return folder


def edition_dir(reports: Path | str, plan_id: str, school_year: str) -> Path:
    return Path(reports) / plan_id / school_year


def list_editions(reports: Path | str = REPORTS_DIR) -> pd.DataFrame:
    """Every complete edition under ``reports``: columns plan_id, school_year, path (sorted)."""
    rows = []
    root = Path(reports)
    if root.is_dir():
        for plan_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for year_dir in sorted(plan_dir.iterdir()):
                if contract.SCHOOL_YEAR_RE.match(year_dir.name) and \
                        (year_dir / MANIFEST_FILE).exists() and (year_dir / RESULTS_FILE).exists():
                    rows.append({"plan_id": plan_dir.name, "school_year": year_dir.name,
                                 "path": year_dir})
    return pd.DataFrame(rows, columns=["plan_id", "school_year", "path"])


def read_edition(reports: Path | str, plan_id: str, school_year: str) -> Edition:
    """Read one edition; PlanMetricsError when it is not there."""
    d = edition_dir(reports, plan_id, school_year)
    if not (d / MANIFEST_FILE).exists():
        have = list_editions(reports)
        years = have.loc[have.plan_id == plan_id, "school_year"].tolist()
        raise PlanMetricsError(
            f"No edition of plan {plan_id!r} for {school_year}", str(d),
            f"run 'plan-metrics run --plan {plan_id} --data DIR --years {school_year}' first"
            + (f" (published years: {', '.join(years)})" if years else ""))
    return _read(str(d), (d / MANIFEST_FILE).stat().st_mtime_ns, plan_id, school_year)


@lru_cache(maxsize=64)
def _read(d: str, _mtime: int, plan_id: str, school_year: str) -> Edition:
    path = Path(d)
    results = conform(pd.read_parquet(path / RESULTS_FILE), RESULTS_COLUMNS)
    status = conform(pd.read_parquet(path / STATUS_FILE), STATUS_COLUMNS)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    return Edition(plan_id, school_year, path, results, status, manifest)


def read_history(reports: Path | str, plan_id: str, up_to: str | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All published years of a plan (up to and including ``up_to``): (results, status) stacked."""
    eds = list_editions(reports)
    years = sorted(eds.loc[eds.plan_id == plan_id, "school_year"])
    if up_to:
        years = [y for y in years if y <= up_to]
    if not years:
        raise PlanMetricsError(f"No published edition of plan {plan_id!r}", str(reports),
                               f"run 'plan-metrics run --plan {plan_id} --data DIR --years all'")
    parts = [read_edition(reports, plan_id, y) for y in years]
    return (pd.concat([e.results for e in parts], ignore_index=True),
            pd.concat([e.status for e in parts], ignore_index=True))


# ---- history: the editions a republished plan-year replaced --------------------------------------

def published_time(manifest: dict, folder: Path | str | None = None) -> datetime:
    """When an edition was published (UTC): its manifest's end time (the edition is moved into
    place as soon as it is written), else its start time, else the manifest file's mtime."""
    for key in ("ended", "started"):
        text = manifest.get(key)
        if text:
            try:
                t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            except ValueError:
                continue
            return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    if folder is not None and (Path(folder) / MANIFEST_FILE).exists():
        return datetime.fromtimestamp((Path(folder) / MANIFEST_FILE).stat().st_mtime, timezone.utc)
    return datetime.now(timezone.utc)


def history_name(manifest: dict, history: Path | str, folder: Path | str | None = None) -> str:
    """The name the edition of ``manifest`` takes in the ``history`` folder: its published time,
    UTC, ``YYYYMMDDTHHMMSSZ`` (DESIGN.md section 8), with ``-2``, ``-3``... only when an edition
    published in the same second is already there."""
    base = published_time(manifest, folder).strftime("%Y%m%dT%H%M%SZ")
    name, k = base, 1
    while (Path(history) / name).exists():
        k += 1
        name = f"{base}-{k}"
    return name


@dataclass(frozen=True)
class HistoryEntry:
    """One edition kept in a plan-year's history: its folder name, path and published time."""
    name: str
    path: Path
    published: datetime

    @property
    def date(self) -> str:
        """The published date, 'YYYY-MM-DD' (UTC), as the board reads it."""
        return self.published.strftime("%Y-%m-%d")


def history_editions(reports: Path | str, plan_id: str, school_year: str) -> list[HistoryEntry]:
    """The editions kept in ``<plan_id>/<school_year>/history/``, oldest first (complete ones
    only: manifest, results and status present)."""
    folder = edition_dir(reports, plan_id, school_year) / HISTORY_DIR
    out = []
    if folder.is_dir():
        for d in folder.iterdir():
            m = HISTORY_NAME_RE.match(d.name)
            if not (m and d.is_dir() and all((d / f).is_file() for f in
                                              (MANIFEST_FILE, RESULTS_FILE, STATUS_FILE))):
                continue
            t = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            out.append(HistoryEntry(d.name, d, t))
    return sorted(out, key=lambda e: (e.published, int(HISTORY_NAME_RE.match(e.name).group(2)
                                                        or 1)))


def read_edition_at(folder: Path | str) -> Edition:
    """Read the edition in ``folder`` (a current one or one kept in history); PlanMetricsError
    when the folder holds no complete edition."""
    d = Path(folder)
    missing = [f for f in (MANIFEST_FILE, RESULTS_FILE, STATUS_FILE) if not (d / f).is_file()]
    if missing:
        raise PlanMetricsError(
            f"{str(d)!r} is not an edition (it has no {', '.join(missing)})", str(d),
            "give the folder of a published edition, e.g. reports/<plan>/<year> or one of "
            "reports/<plan>/<year>/history/<YYYYMMDDTHHMMSSZ>")
    try:
        manifest = json.loads((d / MANIFEST_FILE).read_text())
    except (OSError, ValueError) as e:
        raise PlanMetricsError(f"The manifest of {str(d)!r} cannot be read ({e})",
                               str(d / MANIFEST_FILE), "give the folder of a published "
                               "edition; rerun plan-metrics run if this one is damaged") from None
    return _read(str(d), (d / MANIFEST_FILE).stat().st_mtime_ns,
                 str(manifest.get("plan_id") or ""), str(manifest.get("school_year") or ""))
