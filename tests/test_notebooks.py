"""The compute notebooks and `plan-metrics run`, for real: papermill on the small demo district.

The district is generated once per session (synthetic module, fixed seed) into a temporary folder;
the clayton plan is run for two years once per module and the tests below read, rerun and break
that reports folder. Only the first test class is fast (the committed notebooks themselves).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from plan_metrics import cli, engine, loading, runs as runner
from plan_metrics.runs.kernels import _quiet_kernel_manager
from plan_metrics.editions import read_edition
from plan_metrics.errors import PlanMetricsError
from plan_metrics.options import Options
from plan_metrics.paths import NOTEBOOKS_DIR
from plan_metrics.plan import load_plan, plan_hash
from plan_metrics.results import (RESULTS_COLUMNS, RESULTS_KEY, STATUS_COLUMNS, conform,
                                  validate_results, validate_status)

PLAN, YEARS = "clayton", ("2023-24", "2024-25")


# ---- the committed notebooks (fast) -------------------------------------------------------------

@pytest.mark.parametrize("domain", engine.DOMAINS)
def test_notebook_is_committed_clean_with_one_parameters_cell(domain):
    path = NOTEBOOKS_DIR / f"{domain}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), \
        f"{path} has outputs: clear them before committing"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    # papermill itself parses every parameter (an unparsable line only warns at run time).
    import papermill as pm
    names = list(pm.inspect_notebook(str(path)))
    assert names == [*runner.COMMON_PARAMETERS, *runner.DOMAIN_KNOBS[domain]]
    assert 'plan = "clayton"' in tagged[0].source and 'data_dir = "../data/demo"' in tagged[0].source
    # The committed file is what the generator writes (regenerate with write_compute_notebooks).
    assert nbformat.writes(runner.compute_notebook(domain)) + "\n" == path.read_text()
    # Thin: no imports beyond plan_metrics, no altair.
    imports = [line for c in code for line in c.source.splitlines() if "import" in line]
    assert imports == ["from plan_metrics.runs import notebook_context"]


# ---- real runs ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def demo(demo_data) -> Path:
    return demo_data


@pytest.fixture(scope="module")
def reports(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    runner.run(plan=PLAN, data_dir=demo, years=",".join(YEARS), out=out, jobs=2, progress=False)
    return out


def _tree_bytes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _sorted(df: pd.DataFrame, key) -> pd.DataFrame:
    return df.sort_values(key).reset_index(drop=True)


@pytest.mark.notebook
def test_edition_is_complete_and_equals_the_engine_in_process(reports, demo):
    plan = load_plan(PLAN)
    ed = read_edition(reports, PLAN, "2024-25")
    domains = runner.domains_of(plan)
    # clayton has no graduation, attendance (enrollment-sourced) or action-step measures.
    assert domains == ["surveys", "discipline", "staffing", "achievement", "programs",
                       "rubrics_and_audits"]
    assert sorted(p.name for p in (ed.path / "notebooks").iterdir()) == \
        sorted(f"{d}.ipynb" for d in domains)
    assert sorted(p.name for p in ed.path.iterdir()) == \
        ["manifest.json", "notebooks", "results.parquet", "status.parquet"]
    # Nothing temporary left behind.
    assert [p.name for p in reports.iterdir()] == [PLAN]
    assert sorted(p.name for p in (reports / PLAN).iterdir()) == list(YEARS)

    # Schema: the files hold exactly the contract's columns and dtypes, and validate.
    raw = pd.read_parquet(ed.path / "results.parquet")
    assert list(raw.columns) == list(RESULTS_COLUMNS)
    pd.testing.assert_frame_equal(raw, conform(raw, RESULTS_COLUMNS))
    validate_results(raw, 10)
    st = pd.read_parquet(ed.path / "status.parquet")
    assert list(st.columns) == list(STATUS_COLUMNS)
    validate_status(st)
    assert sorted(st["measure_id"]) == sorted(m.id for m in plan.measures())

    # The same numbers as the engine called directly on the CSV files, in this process.
    tables = loading.load_data(demo)
    opts = Options.from_params(ed.manifest["parameters"])
    # The edition hides every cell the per-measure pass hides, and more (the complements of the
    # whole-edition protection); every cell it publishes has the engine's numbers.
    direct = engine.compute_measures(plan, tables, "2024-25", opts)
    pub, eng = _sorted(ed.results, RESULTS_KEY), _sorted(direct, RESULTS_KEY)
    pd.testing.assert_frame_equal(pub[RESULTS_KEY], eng[RESULTS_KEY])
    assert not (eng["suppressed"] & ~pub["suppressed"]).any()
    shown = (~pub["suppressed"] & pub["value"].notna()).to_numpy()
    pd.testing.assert_series_equal(pub.loc[shown, "value"], eng.loc[shown, "value"])
    pd.testing.assert_series_equal(pub.loc[shown, "n"], eng.loc[shown, "n"])
    # The status: what the engine gives on the published rows, with 2023-24 from its edition
    # (the notebooks computed the other earlier years' rows ahead; the run found them there)
    engine._STATUS_CACHE.clear()
    status = engine.compute_status(plan, tables, "2024-25", opts, results=ed.results,
                                   earlier={"2023-24": read_edition(reports, PLAN,
                                                                    "2023-24").results})
    pd.testing.assert_frame_equal(
        st.sort_values("measure_id").reset_index(drop=True),
        conform(status, STATUS_COLUMNS).sort_values("measure_id").reset_index(drop=True))

    m = ed.manifest
    assert m["plan_id"] == PLAN and m["school_year"] == "2024-25"
    assert m["plan_hash"] == plan_hash(PLAN)
    assert m["input_hashes"] == dict(sorted(tables.hashes.items()))
    assert m["row_counts"] == dict(sorted(tables.row_counts.items()))
    assert m["synthetic_data"] is True and m["package_version"]
    assert m["git_commit"] is None or len(m["git_commit"]) == 40
    assert m["started"] <= m["ended"]
    # the edition names its schools itself (read from the data's public buildings.csv)
    buildings = pd.read_csv(demo / "buildings.csv", dtype=str)
    assert m["buildings"] == dict(zip(buildings["building_id"], buildings["name"]))
    assert [n["domain"] for n in m["notebooks"]] == domains
    assert m["parameters"]["school_year"] == "2024-25" and m["parameters"]["min_n"] == 10
    # The executed notebooks are the audit record: outputs, no error, the run's parameters.
    nb = nbformat.read(str(ed.path / "notebooks" / "surveys.ipynb"), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'school_year = "2024-25"' in injected[0].source
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and not any(o.output_type == "error" for o in outputs)


@pytest.mark.notebook
def test_notebook_run_by_hand_reads_the_csv_files(reports, demo, tmp_path):
    """Without a snapshot (an analyst running one notebook), the notebook loads and validates the
    CSV files itself and saves the same rows the run published."""
    import papermill as pm

    out = tmp_path / "rows"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "staffing.ipynb"), str(tmp_path / "staffing.ipynb"),
                        parameters={"data_dir": str(demo), "output_dir": str(out),
                                    "school_year": "2024-25"},
                        progress_bar=False, kernel_manager_class=_quiet_kernel_manager())
    mine = conform(pd.read_parquet(out / "staffing.parquet"), RESULTS_COLUMNS)
    ed = read_edition(reports, PLAN, "2024-25")
    staffing = [m.id for m in load_plan(PLAN).measures() if engine.domain_of(m) == "staffing"]
    published = ed.results[ed.results["measure_id"].isin(staffing)]
    if ed.manifest["parameters"]["min_n"] == 10:
        pd.testing.assert_frame_equal(_sorted(mine, RESULTS_KEY), _sorted(published, RESULTS_KEY))


@pytest.mark.notebook
def test_rerun_one_year_with_min_n_20_replaces_only_that_year(reports, demo, capsys):
    before_other = _tree_bytes(reports / PLAN / "2023-24")
    old = read_edition(reports, PLAN, "2024-25")
    code = cli.main(["run", "--plan", PLAN, "--data", str(demo), "--years", "2024-25",
                     "--out", str(reports), "--min-n", "20", "--jobs", "2"])
    assert code == 0, capsys.readouterr().err
    assert _tree_bytes(reports / PLAN / "2023-24") == before_other
    new = read_edition(reports, PLAN, "2024-25")
    assert new.manifest["parameters"]["min_n"] == 20
    assert new.manifest["changes"] == {
        "parameters": {"min_n": {"from": old.manifest["parameters"]["min_n"], "to": 20}}}
    # No published cell now rests on fewer than 20 people.
    shown = new.results[~new.results["suppressed"] & new.results["n"].notna()]
    assert (shown["n"] >= 20).all()
    assert new.results["suppressed"].sum() >= old.results["suppressed"].sum()
    assert sorted(p.name for p in (reports / PLAN).iterdir() if p.name[0] != ".") == list(YEARS)
    assert not [p for p in (reports / PLAN).iterdir() if ".tmp-" in p.name or ".trash-" in p.name]


@pytest.mark.notebook
def test_a_failing_notebook_leaves_the_previous_edition_byte_identical(reports, demo, tmp_path):
    # A copy of the compute notebooks whose discipline notebook fails in its compute cell.
    broken = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, broken, ignore=shutil.ignore_patterns("dashboards"))
    nb = nbformat.read(str(broken / "discipline.ipynb"), as_version=4)
    compute = next(i for i, c in enumerate(nb.cells) if c.source.startswith("results = "))
    nb.cells[compute].source = ("results = ctx.compute()\n"
                                "raise ValueError('planted failure: the discipline rows are wrong')")
    nbformat.write(nb, str(broken / "discipline.ipynb"))
    before = _tree_bytes(reports)

    with pytest.raises(PlanMetricsError) as e:
        runner.run(plan=PLAN, data_dir=demo, years="2024-25", out=reports, jobs=2,
                   notebooks_dir=broken, progress=False)
    msg = str(e.value)
    kept = reports / PLAN / ".failed" / "2024-25" / "discipline.ipynb"
    # One paragraph naming plan, year, notebook, cell (index + first line), error and the path.
    assert "\n" not in msg and "Traceback" not in msg
    for words in ("discipline notebook", f"plan {PLAN}", "2024-25",
                  "`results = ctx.compute()`", "ValueError: planted failure", str(kept)):
        assert words in msg
    # cell index: papermill inserts the injected-parameters cell after the parameters cell.
    # In [4]: the parameters, injected parameters, context and compute cells ran in that order.
    assert f"at cell {compute + 1}, In [4] " in msg
    # The previous editions are untouched, byte for byte; only the failed notebook was added.
    after = _tree_bytes(reports)
    assert {k: v for k, v in after.items() if not k.startswith(f"{PLAN}/.failed/")} == before
    assert kept.exists()
    failed = nbformat.read(str(kept), as_version=4)
    errors = [o for c in failed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError"
    # No temporary folder remains.
    assert not [p for p in (reports / PLAN).iterdir() if ".tmp-" in p.name or ".trash-" in p.name]
    assert not list(reports.glob(".run-*"))


@pytest.mark.notebook
def test_a_terminated_run_leaves_no_trace(reports, demo):
    import signal
    import subprocess
    import sys
    import time

    before = _tree_bytes(reports)
    proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "run", "--plan", PLAN,
                             "--data", str(demo), "--years", "2024-25", "--out", str(reports),
                             "--min-n", "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # Wait until the run is executing notebooks (its temporary edition folder exists).
    deadline = time.monotonic() + 120
    while not list((reports / PLAN).glob(".2024-25.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)   # notebooks are running (one year takes several seconds)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "the one in progress was not published" in err
    assert "Traceback" not in err
    assert _tree_bytes(reports) == before
    assert not [p for p in (reports / PLAN).iterdir() if ".tmp-" in p.name or ".trash-" in p.name]
    assert not list(reports.glob(".run-*"))


@pytest.mark.notebook
def test_a_cell_over_the_timeout_is_interrupted_and_named(reports, demo, tmp_path):
    slow = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, slow, ignore=shutil.ignore_patterns("dashboards"))
    nb = nbformat.read(str(slow / "staffing.ipynb"), as_version=4)
    save = next(i for i, c in enumerate(nb.cells) if c.source.startswith("ctx.save"))
    nb.cells[save].source = "import time\ntime.sleep(300)\nctx.save(results)"
    nbformat.write(nb, str(slow / "staffing.ipynb"))
    params = tmp_path / "fast.yaml"
    # long enough that no ordinary cell of the other notebooks reaches it on a loaded machine
    params.write_text("cell_timeout: 20\n")
    def editions():
        return {k: v for k, v in _tree_bytes(reports).items() if "/.failed/" not in k}

    before = editions()
    with pytest.raises(PlanMetricsError) as e:
        runner.run(plan=PLAN, data_dir=demo, years="2024-25", out=reports, jobs=2,
                   params_file=params, notebooks_dir=slow, progress=False)
    msg = str(e.value)
    assert "staffing notebook" in msg and "`import time`" in msg
    assert "did not finish within 20 s (parameter cell_timeout) and was interrupted" in msg
    assert editions() == before
