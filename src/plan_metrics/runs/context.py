"""The notebooks' side of a run: ``notebook_context`` gives a compute notebook its plan, tables and
options, computes its measures, shows them and saves them, so that a notebook holds no logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import contract, engine
from ..errors import PlanMetricsError
from ..options import Options
from ..params import OPTION_KEYS
from ..paths import NOTEBOOKS_DIR
from .snapshot import SnapshotTables

#: the folder of a run's rows dir holding the status rows computed ahead (``status_rows``)
STATUS_FOLDER = "status"


def resolve(path: str | Path) -> Path:
    """A notebook parameter path: absolute as given; relative ones are read from the notebooks
    folder (where the notebook lives), whatever the kernel's working directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (NOTEBOOKS_DIR / p).resolve()


def tables_needed(measures) -> list[str]:
    """The tables to load from CSV for some measures: their sources plus what every kind joins
    (enrollment for student groups, buildings, survey_items for survey answers)."""
    need = {"buildings", "enrollment"} | {m.source for m in measures}
    if any(m.kind == "percent_favorable" for m in measures):
        need.add("survey_items")
    return sorted(need & set(contract.TABLES))


@dataclass
class NotebookContext:
    """What a compute notebook works with: its domain's measures, tables and options."""
    domain: str
    plan: Any
    school_year: str
    options: Options
    tables: Mapping
    output_dir: Path
    measures: list
    status_years: tuple[str, ...] = ()

    def compute(self) -> pd.DataFrame:
        """The domain's rows for the year: engine.compute_measures for the domain's measures."""
        if not self.measures:
            from ..results import empty_results
            return empty_results()
        return engine.compute_measures(self.plan, self.tables, self.school_year, self.options,
                                       measure_ids=[m.id for m in self.measures],
                                       keep_truth=True)

    def district_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """District, all-students rows: measure, title, the displayed value, n, note."""
        titles = {m.id: m.title for m in self.measures}
        d = results[(results["building_id"] == "ALL") & (results["group_by"] == "all")]
        out = pd.DataFrame({"measure": d["measure_id"], "title": d["measure_id"].map(titles),
                            "value": d["display"], "n": d["n"], "note": d["note"].fillna("")})
        return out.set_index("measure")

    def group_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """District rows of each student group: measure, group_by, group, displayed value, n."""
        d = results[(results["building_id"] == "ALL") & (results["group_by"] != "all")]
        return pd.DataFrame({"measure": d["measure_id"], "group_by": d["group_by"],
                             "group": d["group"], "value": d["display"], "n": d["n"],
                             "note": d["note"].fillna("")}).set_index(
                                 ["measure", "group_by", "group"])

    def building_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """All-students values per building (columns) and measure (rows), as displayed."""
        d = results[results["group_by"] == "all"]
        if d.empty:
            return pd.DataFrame()
        return d.pivot_table(index="measure_id", columns="building_id", values="display",
                             aggfunc="first", sort=False)

    def save(self, results: pd.DataFrame) -> Path:
        """Write the domain's rows to ``output_dir/<domain>.parquet`` for the run, which protects
        every edition together and publishes them. The true counts (columns ``n_true``...) go
        with them into the run's private scratch folder, never into an edition. In a run
        (``status_years``), so do the district rows of earlier years the status will need."""
        from ..privacy import PRIVATE_COLUMNS
        from ..results import RESULTS_COLUMNS, conform
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{self.domain}.parquet"
        out = conform(results, RESULTS_COLUMNS)
        for col in PRIVATE_COLUMNS:
            values = results[col] if col in results.columns else None
            out[col] = (values.astype("object").where(values.notna(), None).to_numpy()
                        if col == "band" and values is not None else
                        pd.to_numeric(values, errors="coerce").to_numpy() if values is not None
                        else None)
        out.to_parquet(path, index=False)
        if self.status_years:
            self._save_status_rows(results)
        return path

    def _save_status_rows(self, results: pd.DataFrame) -> None:
        """The district rows of earlier years the status of these measures will need
        (``engine.status_rows_ahead``), into ``output_dir/status/<key>.parquet``: computed here,
        while the other notebooks run, rather than one measure after another at publication
        (``status_rows``)."""
        from ..kinds._population import clear_memo
        from .kernels import release_memory

        folder = self.output_dir / STATUS_FOLDER
        folder.mkdir(exist_ok=True)
        # this year's derived frames are done with: without them, the earlier years' do not
        # raise the kernel's memory (50k students: +44 to +128 MB at the run's peak)
        clear_memo()
        release_memory()
        ahead = engine.status_rows_ahead(self.plan, self.tables, self.school_year, self.options,
                                         results, self.status_years)
        for key, rows in ahead.items():
            rows.to_parquet(folder / f"{key}.parquet", index=False)

    def inputs(self) -> pd.DataFrame:
        """The tables read so far (the computation's inputs): rows and the source file's hash."""
        hashes = getattr(self.tables, "hashes", {}) or {}
        rows = [{"table": t, "rows": len(self.tables[t]),
                 "sha256": str(hashes.get(f"{t}.csv") or hashes.get(t) or "")[:12]}
                for t in self._loaded()]
        return pd.DataFrame(rows, columns=["table", "rows", "sha256"]).set_index("table")

    def _repr_html_(self) -> str:
        rows = "".join(f"<li><code>{m.id}</code> {m.title} ({m.kind}, {m.source})</li>"
                       for m in self.measures) or "<li>none: this notebook saves an empty table</li>"
        read = ", ".join(f"{t} ({len(self.tables[t]):,} rows)" for t in self._loaded())
        return (f"<p><b>{self.plan.title}</b>, school year <b>{self.school_year}</b>, "
                f"domain <b>{self.domain}</b>.<br>Options: {self.options.to_dict()}<br>"
                f"Tables loaded: {read or 'none yet'}</p><p>Measures:</p><ul>{rows}</ul>")

    def __repr__(self) -> str:
        ids = ", ".join(m.id for m in self.measures) or "none"
        return (f"{self.domain} of plan {self.plan.id}, {self.school_year}: measures {ids}; "
                f"options {self.options.to_dict()}")

    def _loaded(self) -> list[str]:
        return self.tables.read if isinstance(self.tables, SnapshotTables) else list(self.tables)


def notebook_context(domain: str, *, plan: str, school_year: str, data_dir: str,
                     output_dir: str, snapshot_dir: str | None = None,
                     status_years: list[str] | None = None, **options) -> NotebookContext:
    """Everything a compute notebook needs, from its parameters.

    Reads the plan, picks the measures of ``domain`` and the tables they use: from the runner's
    parquet snapshot of the validated tables when ``snapshot_dir`` is given (fast), otherwise from
    ``data_dir``'s CSV files, validated by the loader. ``options`` are the notebook's run options
    (min_n, cell_size, n_size and its domain's knobs); the others keep their defaults.
    ``status_years``: the earlier years no edition publishes, whose district rows the status
    will need (the run passes them; saved with the rows, see ``NotebookContext.save``).
    """
    from ..plan import load_plan

    if domain not in engine.DOMAINS:
        raise PlanMetricsError(f"Unknown domain {domain!r}", "notebook_context",
                               f"use one of {', '.join(engine.DOMAINS)}")
    try:
        contract.parse_school_year(school_year)
    except ValueError as e:
        raise PlanMetricsError(str(e), "parameter school_year", "write it as YYYY-YY") from None
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise PlanMetricsError(f"Unknown option(s) {', '.join(sorted(unknown))}",
                               "notebook_context", f"use only {', '.join(OPTION_KEYS)}")
    plan_obj = load_plan(resolve(plan) if str(plan).endswith((".yaml", ".yml")) else plan)
    opts = Options.from_params(options)
    measures = [m for m in plan_obj.measures() if engine.domain_of(m) == domain]
    if snapshot_dir:
        tables: Mapping = SnapshotTables(resolve(snapshot_dir))
    elif measures:
        from .. import loading
        tables = loading.load_data(resolve(data_dir), tables=tables_needed(measures))
    else:
        tables = {}
    return NotebookContext(domain, plan_obj, school_year, opts, tables, resolve(output_dir),
                           measures, tuple(status_years or ()))


def status_rows(rows_dir: Path) -> dict[str, pd.DataFrame]:
    """{status key: district rows} the compute notebooks of one edition saved ahead
    (``NotebookContext.save``), for ``engine.compute_status(ahead=...)``."""
    folder = Path(rows_dir) / STATUS_FOLDER
    if not folder.is_dir():
        return {}
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
