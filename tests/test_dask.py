"""`run --dask`: the same notebook tasks on a real Dask distributed cluster (a LocalCluster in this
process) publish the same edition as the local pool, cell by cell; cluster problems are one error."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from plan_metrics.cli import main as cli
from plan_metrics.errors import PlanMetricsError
from plan_metrics.runs import executors, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

PLAN, YEAR = "ccps-sip-2018", "2023-24"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as c:
        yield c


def test_a_dask_run_publishes_the_local_runs_edition_cell_by_cell(demo_data, tmp_path, cluster,
                                                                  capsys):
    local, remote = tmp_path / "local", tmp_path / "dask"
    run(plan=PLAN, data_dir=demo_data, years=YEAR, out=local, progress=False)
    assert cli(["run", "--plan", PLAN, "--data", str(demo_data), "--years", YEAR,
                "--out", str(remote), "--dask", cluster.scheduler_address]) == 0
    assert f"published {remote / PLAN / YEAR}" in capsys.readouterr().out
    for name, rows in (("results.parquet", 100), ("status.parquet", 5)):
        a = pd.read_parquet(local / PLAN / YEAR / name)
        b = pd.read_parquet(remote / PLAN / YEAR / name)
        assert len(a) > rows
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    ma = json.loads((local / PLAN / YEAR / "manifest.json").read_text())
    mb = json.loads((remote / PLAN / YEAR / "manifest.json").read_text())
    assert [n["domain"] for n in ma["notebooks"]] == [n["domain"] for n in mb["notebooks"]]
    assert ma["privacy"] == mb["privacy"]
    # nothing of the run is left behind: no scratch, no temporary edition folder
    assert not list(remote.glob(".run-*")) and not list((remote / PLAN).glob(".*"))


def test_workers_that_do_not_see_a_folder_are_one_error(cluster, tmp_path):
    pool = executors.DaskPool(cluster.scheduler_address)
    try:
        pool.check_paths([tmp_path])  # seen: same machine
        with pytest.raises(PlanMetricsError) as e:
            pool.check_paths([tmp_path, tmp_path / "not-shared"])
        assert "do not see the run's folders" in str(e.value)
        assert "not-shared" in str(e.value) and "How to fix" in str(e.value)
    finally:
        pool.close()


def test_an_unreachable_scheduler_is_one_error(demo_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 2)
    code = cli(["run", "--plan", PLAN, "--data", str(demo_data), "--years", YEAR,
                "--out", str(tmp_path), "--dask", "tcp://127.0.0.1:8989"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No Dask scheduler answered at 'tcp://127.0.0.1:8989'" in err
    assert "Traceback" not in err
    assert not list((tmp_path / PLAN).glob("*")) if (tmp_path / PLAN).exists() else True


def test_a_notebook_error_comes_back_from_the_worker_whole():
    e = PlanMetricsError("what", "where", "fix", problems=["p"])
    import pickle
    back = pickle.loads(pickle.dumps(e))
    assert (back.what, back.where, back.fix, back.problems, str(back)) == \
        ("what", "where", "fix", ["p"], str(e))


def test_run_many_on_the_cluster_publishes_the_good_district_and_names_the_broken(
        demo_data, tmp_path, cluster, capsys):
    import shutil
    broken = tmp_path / "broken-data"
    shutil.copytree(demo_data, broken)
    (broken / "buildings.csv").write_text("building_id,name\n")  # the header is wrong
    (tmp_path / "state.csv").write_text(
        "name,data,plans,years,reports\n"
        f"good,{demo_data},{PLAN},{YEAR},good/reports\n"
        f"broken,broken-data,{PLAN},{YEAR},broken/reports\n")
    code = cli(["run-many", "--districts", str(tmp_path / "state.csv"),
                "--dask", cluster.scheduler_address])
    out = capsys.readouterr().out
    assert code == 2
    assert f"run-many: 2 district(s) on {cluster.scheduler_address}" in out
    local = pd.read_parquet(tmp_path / "good/reports" / PLAN / YEAR / "results.parquet")
    assert len(local) > 100
    assert not (tmp_path / "broken/reports" / PLAN).exists()
    rows = {line.split()[0]: line.split() for line in out[out.index("District"):].splitlines()
            if line.strip() and not line.startswith("-")}
    assert rows["good"][1] == "1" and rows["broken"][1] == "0"
    assert "buildings.csv" in " ".join(rows["broken"])
    assert "1 of 2 district(s) published without failure" in out
