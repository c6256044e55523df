"""Editions of the synthetic demo district computed in one process, without papermill.

For test fixtures and benchmarks that need real editions fast: the same engine and the same
edition files as ``plan-metrics run``, minus the executed notebooks (which only the runner makes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from . import editions, engine, synthetic
from .loading import load_data
from .options import Options

DEMO_SEED = 2024


def demo_district(out: Path | str, size: str = "small", seed: int = DEMO_SEED) -> Path:
    """Generate the synthetic district into ``out`` (quietly) and return the folder."""
    synthetic.generate(Path(out), size, seed, verbose=False)
    return Path(out)


def demo_editions(reports: Path | str, data_dir: Path | str, plans: Iterable[str] = ("clayton",),
                  years: Iterable[str] = ("2022-23", "2023-24", "2024-25"),
                  options: Options | None = None) -> Path:
    """Compute ``plans`` x ``years`` from ``data_dir`` with the engine and write each edition under
    ``reports`` (manifest: synthetic flag, building names, parameters). Returns ``reports``."""
    options = options or Options()
    tables = load_data(data_dir)
    bld = tables["buildings"]
    names = dict(zip(bld["building_id"].astype(str), bld["name"].astype(str)))
    for plan_id in plans:
        for year in years:
            results, status = engine.compute_plan(plan_id, tables, year, options)
            editions.write_edition(
                Path(reports) / plan_id / year, results, status,
                {"plan_id": plan_id, "school_year": year, "synthetic_data": True,
                 "buildings": names, "data_dir": str(data_dir),
                 "parameters": options.to_dict(), "ended": f"{year} (computed in process)"})
    return Path(reports)
