"""Editions of the synthetic demo district computed in one process, without papermill.

For test fixtures and benchmarks that need real editions fast: the same engine, the same privacy
step (every edition protected together, runs.protection) and the same edition files as
``plan-metrics run``, minus the executed notebooks (which only the runner makes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from . import editions, engine, synthetic
from .loading import load_data
from .options import Options
from .plan import load_plan

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
    from .kinds.action_completion import step_records
    from .runs.protection import RowsEdition, protect_editions

    options = options or Options()
    reports = Path(reports)
    tables = load_data(data_dir)
    bld = tables["buildings"]
    names = dict(zip(bld["building_id"].astype(str), bld["name"].astype(str)))
    eds = []
    for plan_id in plans:
        plan = load_plan(plan_id)
        for year in years:
            rows = engine.compute_measures(plan, tables, year, options, keep_truth=True)
            eds.append(RowsEdition(plan, year, options.to_dict(), rows,
                                   reports / plan_id / year))
    protected = protect_editions(eds, tables, reports)
    for ed in eds:
        results, record = protected[ed]
        earlier = {o.year: protected[o][0] for o in eds if o.plan.id == ed.plan.id}
        status = engine.compute_status(ed.plan, tables, ed.year, options, results=results,
                                       earlier=earlier)
        editions.write_edition(
            ed.target, results, status,
            {"plan_id": ed.plan.id, "school_year": ed.year, "synthetic_data": True,
             "buildings": names, "data_dir": str(data_dir), "privacy": record,
             "parameters": options.to_dict(), "ended": f"{ed.year} (computed in process)",
             **({"action_steps": step_records(tables, ed.plan.id, ed.year)}
                if ed.plan.has_action_steps else {})})
    return reports
