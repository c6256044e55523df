"""The runner's machinery without papermill: parameters, years, manifests, atomic replacement.

(The real papermill runs are in test_notebooks.py.)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from plan_metrics import cli, manifest, runs as runner
from plan_metrics.paths import NOTEBOOKS_DIR
from plan_metrics.runs import execute, publish
from plan_metrics.errors import PlanMetricsError
from plan_metrics.params import PARAMETERS, options_of, read_params_file, year_params
from plan_metrics.paths import PARAMS_DIR

YEARS = ("2019-20", "2020-21", "2021-22", "2022-23", "2023-24", "2024-25")


# ---- parameter files ----------------------------------------------------------------------------

def test_shipped_parameter_files_are_valid_and_complete():
    defaults = read_params_file(PARAMS_DIR / "defaults.yaml", allow_school_year=False)
    assert set(defaults) == set(PARAMETERS)
    # The design's defaults (DESIGN.md sections 6 and 12).
    assert (defaults["min_n"], defaults["cell_size"], defaults["n_size"]) == (10, 10, 30)
    assert defaults["chronic_threshold"] == 0.10
    for y in YEARS:
        params, sources = year_params(y)
        assert params["school_year"] == y
        assert sources == [str(PARAMS_DIR / "defaults.yaml"), str(PARAMS_DIR / f"{y}.yaml")]


def _params_dir(tmp_path: Path, year_text: str = "") -> Path:
    d = tmp_path / "params"
    d.mkdir()
    (d / "defaults.yaml").write_text((PARAMS_DIR / "defaults.yaml").read_text())
    (d / "2023-24.yaml").write_text('school_year: "2023-24"\n' + year_text)
    return d


def test_layers_last_one_wins(tmp_path):
    # defaults min_n 10 < year file 15 < --params 12 < --min-n 20; n_size only in the year file.
    d = _params_dir(tmp_path, "min_n: 15\nn_size: 40\n")
    extra = tmp_path / "mine.yaml"
    extra.write_text("min_n: 12\nchronic_threshold: 0.2\n")
    p, _ = year_params("2023-24", params_dir=d)
    assert (p["min_n"], p["n_size"], p["cell_size"]) == (15, 40, 10)
    p, _ = year_params("2023-24", extra, params_dir=d)
    assert (p["min_n"], p["chronic_threshold"]) == (12, 0.2)
    p, sources = year_params("2023-24", extra, {"min_n": 20}, params_dir=d)
    assert p["min_n"] == 20 and len(sources) == 3
    # a year without a file takes the defaults
    p, sources = year_params("2022-23", params_dir=d)
    assert p["min_n"] == 10 and sources == [str(d / "defaults.yaml")]
    assert options_of(p).min_n == 10


@pytest.mark.parametrize("text, words", [
    ("min_n: [10\n", ["not valid YAML", "line"]),
    ("min_nn: 10\n", ["Unknown parameter 'min_nn'", "key min_nn", "min_n"]),
    ("min_n: ten\n", ["min_n must be a whole number", "'ten'"]),
    ("min_n: 10.5\n", ["min_n must be a whole number", "10.5"]),
    ("chronic_threshold: 10\n", ["chronic_threshold must be a number between 0 and 1"]),
    ("- min_n\n", ["does not hold 'key: value' lines"]),
])
def test_bad_parameter_file_is_one_clear_error(tmp_path, text, words):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(PlanMetricsError) as e:
        year_params("2023-24", f, params_dir=_params_dir(tmp_path))
    msg = str(e.value)
    assert str(f) in msg and "How to fix" in msg and "\n" not in msg
    for w in words:
        assert w in msg


def test_year_file_must_match_its_name_and_min_n_override_is_checked(tmp_path):
    d = _params_dir(tmp_path)
    (d / "2023-24.yaml").write_text('school_year: "2022-23"\n')
    with pytest.raises(PlanMetricsError, match="must match the file name"):
        year_params("2023-24", params_dir=d)
    with pytest.raises(PlanMetricsError, match="--min-n must be a whole number of at least 1"):
        year_params("2022-23", overrides={"min_n": 0}, params_dir=d)


# ---- years and the command line's early errors -------------------------------------------------

def test_parse_years():
    assert runner.parse_years("all") == "all"
    assert runner.parse_years("2024-25,2023-24, 2023-24") == ["2023-24", "2024-25"]
    for bad in ("2023", "2023-25", "23-24", "2023-24,x", ""):
        with pytest.raises(PlanMetricsError, match="is not a school year"):
            runner.parse_years(bad)


def _run_args(**kw):
    base = dict(plan="clayton", data="data/demo", years="2024-25", params=None, out=None,
                jobs=1, min_n=None)
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.mark.parametrize("kw, words", [
    (dict(data="/nonexistent/dir"), ["data directory", "/nonexistent/dir", "does not exist"]),
    (dict(plan="no-such-plan", data="."), ["No plan 'no-such-plan'", "clayton"]),
    (dict(years="2024", data="."), ["'2024' is not a school year", "--years"]),
    (dict(jobs=0, data="."), ["--jobs 0", "at least one notebook"]),
])
def test_bad_arguments_are_one_error_each(kw, words, capsys):
    with pytest.raises(PlanMetricsError) as e:
        runner.main(_run_args(**kw))
    for w in words:
        assert w in str(e.value)
    # Through the CLI: exit status 2 and one paragraph on stderr, no traceback.
    argv = ["run", "--plan", kw.get("plan", "clayton"), "--data", kw.get("data", "data/demo"),
            "--years", kw.get("years", "2024-25"), "--jobs", str(kw.get("jobs", 1))]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and words[0] in err


# ---- manifests ----------------------------------------------------------------------------------

def test_manifest_changes_lists_what_differs():
    old = {"parameters": {"min_n": 10, "n_size": 30}, "plan_hash": "a",
           "input_hashes": {"enrollment.csv": "1", "staff.csv": "2", "programs.csv": "3"}}
    new = {"parameters": {"min_n": 20, "n_size": 30}, "plan_hash": "a",
           "input_hashes": {"enrollment.csv": "1", "staff.csv": "9", "discipline.csv": "4"}}
    assert manifest.changes(old, new) == {
        "parameters": {"min_n": {"from": 10, "to": 20}},
        "inputs": {"discipline.csv": "added", "programs.csv": "removed", "staff.csv": "changed"}}
    assert manifest.changes(old, old) == {}
    assert manifest.changes(old, {**old, "plan_hash": "b"}) == {"plan_hash": {"from": "a", "to": "b"}}


def test_git_info_outside_a_checkout_is_null(tmp_path):
    assert manifest.git_info(tmp_path) == {"commit": None, "dirty": None}
    info = manifest.git_info()
    assert len(info["commit"]) == 40 and isinstance(info["dirty"], bool)


def test_synthetic_marker(tmp_path):
    assert not manifest.is_synthetic(tmp_path)
    (tmp_path / "PLANTED.yaml").write_text("{}\n")
    assert manifest.is_synthetic(tmp_path)


# ---- atomic replacement and stale temporary folders ---------------------------------------------

def test_replace_dir_swaps_folders_and_leaves_no_trash(tmp_path):
    target, new = tmp_path / "2024-25", tmp_path / ".2024-25.tmp-1-x"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    runner.replace_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-25"]
    fresh = tmp_path / ".2023-24.tmp-1-y"
    fresh.mkdir()
    runner.replace_dir(fresh, tmp_path / "2023-24")  # no previous edition
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2023-24", "2024-25"]


def test_sweep_removes_only_folders_of_dead_runs(tmp_path):
    dead = 2 ** 22 + 12345   # above the default pid_max: no such process
    while publish._alive(dead):
        dead += 1
    (tmp_path / "clayton").mkdir()
    stale = [tmp_path / f".run-{dead}-abc", tmp_path / "clayton" / f".2024-25.tmp-{dead}-abc",
             tmp_path / "clayton" / f".2023-24.trash-{dead}-abc"]
    live = [tmp_path / f".run-{os.getpid()}-abc", tmp_path / "clayton" / ".2024-25.tmp-1-abc"]
    for p in stale + live:
        p.mkdir()
    publish._sweep_stale(tmp_path)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in live)


def test_domains_of_plans():
    from plan_metrics.plan import load_plan
    # clayton-pl tracks only action steps (DESIGN.md section 7).
    assert runner.domains_of(load_plan("clayton-pl")) == ["action_steps"]
    # ccps-sip-2018: Milestones, graduation, attendance, infractions, two surveys, retention.
    assert runner.domains_of(load_plan("ccps-sip-2018")) == [
        "surveys", "discipline", "staffing", "achievement", "attendance", "graduation"]


def test_resolve_reads_relative_paths_from_the_notebooks_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.resolve("../data/demo") == (NOTEBOOKS_DIR.parent / "data" / "demo")
    assert runner.resolve(str(tmp_path)) == tmp_path


def test_manifest_build_is_json():
    m = manifest.build(plan_id="p", plan_file="f", plan_hash="h", school_year="2024-25",
                       parameters={"min_n": 10}, parameter_files=[], data_dir="d",
                       input_hashes={}, row_counts={}, notebooks=[], started="s", ended="e",
                       synthetic=True, git={"commit": None, "dirty": None}, previous=None)
    assert json.loads(json.dumps(m))["synthetic_data"] is True and m["changes"] is None


TINY = Path(__file__).parent / "fixtures" / "tiny"   # valid data of 2023-24 and 2024-25


def test_year_not_in_the_data_and_bad_params_file_through_the_cli(tmp_path, capsys):
    out = tmp_path / "reports"
    argv = ["run", "--plan", "clayton-pl", "--data", str(TINY), "--out", str(out)]
    assert cli.main([*argv, "--years", "2019-20"]) == 2
    err = capsys.readouterr().err
    assert "School year 2019-20 is not in the data" in err and "2023-24, 2024-25" in err
    bad = tmp_path / "p.yaml"
    bad.write_text("min_n: 10\ncolour: blue\n")
    assert cli.main([*argv, "--years", "2024-25", "--params", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Unknown parameter 'colour'" in err and str(bad) in err and "Traceback" not in err
    # Nothing was published, nothing temporary is left.
    assert not out.exists() or [p.name for p in out.iterdir()] == []


def test_a_corrupt_notebook_is_one_error_without_retries(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    (nbs / "action_steps.ipynb").write_text("{ not json")
    out = tmp_path / "reports"
    with pytest.raises(PlanMetricsError) as e:
        runner.run(plan="clayton-pl", data_dir=TINY, years="2024-25", out=out,
                   notebooks_dir=nbs, progress=False)
    msg = str(e.value)
    assert "The action_steps notebook could not be run for plan clayton-pl, 2024-25" in msg
    assert "git checkout notebooks/" in msg
    assert [p.name for p in out.iterdir()] == ["clayton-pl"]
    assert list((out / "clayton-pl").iterdir()) == []   # no edition, no temporary folder


def test_memory_gate_runs_a_notebook_over_the_budget_alone():
    import threading
    import time

    gate = execute._MemoryGate(budget=10)
    gate.acquire(8)             # 8 of 10 in use
    gate.acquire(2)             # 10 of 10: still fits
    admitted = threading.Event()

    def big():
        gate.acquire(15)        # over the budget: only when nothing else runs
        admitted.set()

    t = threading.Thread(target=big)
    t.start()
    time.sleep(0.2)
    assert not admitted.is_set()
    gate.release(8)
    time.sleep(0.2)
    assert not admitted.is_set()   # 2 still in use
    gate.release(2)
    t.join(2)
    assert admitted.is_set() and gate.in_use == 15
