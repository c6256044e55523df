"""The compute notebooks themselves: one per data domain, generated here and committed without
outputs (``write_compute_notebooks`` regenerates them after a change)."""

from __future__ import annotations

from pathlib import Path

from .. import engine
from ..options import Options
from ..params import OPTION_KEYS
from ..paths import NOTEBOOKS_DIR

#: Parameters every compute notebook declares besides its domain's knobs.
COMMON_PARAMETERS = ("school_year", "plan", "data_dir", "output_dir", "snapshot_dir",
                     "status_years", "min_n", "cell_size", "n_size")
#: The tag of the cells that show result tables (their outputs are rewritten at publication).
TABLE_TAG = "edition-table"
#: The run options a domain's notebook declares as its own knobs (beyond min_n, cell_size, n_size).
DOMAIN_KNOBS: dict[str, tuple[str, ...]] = {d: () for d in engine.DOMAINS}
DOMAIN_KNOBS["attendance"] = ("chronic_threshold",)


_DOMAIN_TEXT = {
    "surveys": "percent favorable on the student, staff and family surveys (survey_responses, "
               "survey_items)",
    "discipline": "discipline rates, risk ratios and incidents per 100 students (discipline)",
    "staffing": "staff diversity and retention (staff)",
    "achievement": "proficiency, the MAP Performance Index and proficiency gaps (assessments)",
    "attendance": "attendance and chronic absence (enrollment)",
    "graduation": "the four-year adjusted cohort graduation rate (graduation_cohort)",
    "programs": "program participation risk ratios and service hours (programs, service_hours)",
    "rubrics_and_audits": "progression rubrics, educator evaluations and the curriculum audit",
    "action_steps": "completion of the plan's action steps (action_steps)",
}
_PARAM_COMMENTS = {
    "school_year": "the school year, YYYY-YY",
    "plan": "a plan id (data/plans/<id>.yaml) or a plan YAML",
    "data_dir": "CSV files (relative: from notebooks/)",
    "output_dir": "where the rows are saved",
    "snapshot_dir": "the run's parquet tables; None: read data_dir",
    "status_years": "set by the run: earlier years for the status",
    "min_n": "suppress cells of fewer people",
    "cell_size": "risk ratio: min. students with an event",
    "n_size": "risk ratio: min. students enrolled",
    "chronic_threshold": "chronically absent: this share of days or more",
}
_DEMO_DEFAULTS = {"school_year": "2024-25", "plan": "clayton", "data_dir": "../data/demo",
                  "output_dir": "../reports/.scratch/clayton/2024-25", "snapshot_dir": None,
                  "status_years": None,
                  **{k: getattr(Options, k) for k in OPTION_KEYS}}


def compute_notebook(domain: str):
    """The compute notebook of a domain, without outputs (an nbformat v4 NotebookNode)."""
    import nbformat.v4 as v4

    names = [*COMMON_PARAMETERS, *DOMAIN_KNOBS[domain]]
    width = max(len(f"{n} = {_DEMO_DEFAULTS[n]!r}") for n in names) + 2
    param_lines = ["# Parameters: papermill replaces these values; the defaults run on the demo "
                   "district."]
    for n in names:
        assign = f"{n} = {_DEMO_DEFAULTS[n]!r}".replace("'", '"')
        param_lines.append(f"{assign:<{width}}# {_PARAM_COMMENTS[n]}")
    params = v4.new_code_cell("\n".join(param_lines))
    params.metadata["tags"] = ["parameters"]
    knobs = ", ".join(f"{n}={n}" for n in ("min_n", "cell_size", "n_size", *DOMAIN_KNOBS[domain]))
    title = domain.replace("_", " ").capitalize()
    cells = [
        v4.new_markdown_cell(
            f"# {title}: compute notebook\n\n"
            f"Computes, for one school year, the plan's measures of this data domain: "
            f"{_DOMAIN_TEXT[domain]}. `plan-metrics run` executes it with papermill for each plan "
            f"and year and publishes the rows in the year's edition; the executed copy is the audit "
            f"record. Every formula lives in the library (`plan_metrics.kinds`, DESIGN.md section 6): "
            f"this notebook only calls it and shows the result. A plan with no measure in this "
            f"domain gets an empty table."),
        params,
        v4.new_markdown_cell("## Plan, measures and options"),
        v4.new_code_cell(
            "from plan_metrics.runs import notebook_context\n\n"
            f"ctx = notebook_context(\n    \"{domain}\", plan=plan, school_year=school_year, "
            f"data_dir=data_dir,\n    output_dir=output_dir, snapshot_dir=snapshot_dir, "
            f"status_years=status_years,\n"
            f"    {knobs})\nctx"),
        v4.new_markdown_cell(
            "## Compute\n\nEvery measure for the district (`ALL`) and each building, for all "
            "students and each student group, with the first, per-measure pass of privacy "
            "suppression. The run then protects every table of every edition together; the "
            "published copy of this notebook shows the final, protected rows in the tables "
            "below."),
        v4.new_code_cell("results = ctx.compute()\nctx.inputs()"),
        v4.new_markdown_cell("## District, all students"),
        _table_cell("district"),
        v4.new_markdown_cell("## District, by student group\n\nRisk ratios and gaps are "
                             "reported on these rows (the all-students row has none)."),
        _table_cell("group"),
        v4.new_markdown_cell("## Each building, all students"),
        _table_cell("building"),
        v4.new_markdown_cell("## Save the rows for the edition"),
        v4.new_code_cell("ctx.save(results)"),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{domain.replace('_', '-')}-{i}"  # stable ids: regenerating changes nothing
    return nb


def _table_cell(which: str):
    """A cell showing one of the context's tables, tagged so that publishing can replace its
    output with the edition's final, protected rows (see runs.publish.rewrite_tables)."""
    import nbformat.v4 as v4

    cell = v4.new_code_cell(f"ctx.{which}_table(results)")
    cell.metadata["tags"] = [TABLE_TAG, f"{TABLE_TAG}:{which}"]
    return cell


def write_compute_notebooks(folder: Path | str = NOTEBOOKS_DIR) -> list[Path]:
    """(Re)write every domain's compute notebook into ``folder``; returns their paths.

    ``python -c "from plan_metrics.runs import write_compute_notebooks as w; w()"`` regenerates
    the committed notebooks after a change here.
    """
    import nbformat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for d in engine.DOMAINS:
        path = folder / f"{d}.ipynb"
        nbformat.write(compute_notebook(d), str(path))
        out.append(path)
    return out
