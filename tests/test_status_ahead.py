"""The status's baseline rows computed ahead by the compute notebooks (engine.status_rows_ahead,
saved by NotebookContext.save, read back by runs.context.status_rows): publishing then finds
them instead of computing them, and the statuses are the same as without them."""

import pandas as pd
import pytest
import yaml

from plan_metrics import engine
from plan_metrics.loading import load_data
from plan_metrics.options import Options
from plan_metrics.plan import Plan, load_plan, plan_path
from plan_metrics.runs.context import NotebookContext, status_rows

YEAR = "2024-25"


@pytest.fixture(scope="module")
def demo_tables(demo_data):
    return load_data(demo_data)


def _saved_ahead(plan, tables, results, years, folder):
    """What the run's notebooks leave: each domain's rows and its status rows, in ``folder``."""
    for domain in engine.DOMAINS:
        measures = [m for m in plan.measures() if engine.domain_of(m) == domain]
        if not measures:
            continue
        mine = results[results["measure_id"].isin([m.id for m in measures])]
        NotebookContext(domain, plan, YEAR, Options(), tables, folder, measures,
                        tuple(years)).save(mine)
    return status_rows(folder)


@pytest.mark.parametrize("plan_id", ["clayton", "ccps-sip-2018", "equity-review", "clayton-pl"])
def test_statuses_with_rows_ahead_are_the_same_and_compute_nothing(plan_id, demo_tables,
                                                                   tmp_path, monkeypatch):
    plan = load_plan(plan_id)
    years = [y for y in demo_tables.years if y < YEAR]
    results = engine.compute_measures(plan, demo_tables, YEAR, Options())
    ahead = _saved_ahead(plan, demo_tables, results, years, tmp_path)
    assert ahead, "every plan has a measure whose baseline is an earlier year"

    engine._STATUS_CACHE.clear()
    plain = engine.compute_status(plan, demo_tables, YEAR, Options(), results=results)

    engine._STATUS_CACHE.clear()
    computed = []
    measure_rows = engine.measure_rows

    def counting(measure, *args, **kwargs):
        computed.append(measure.id)
        return measure_rows(measure, *args, **kwargs)

    monkeypatch.setattr(engine, "measure_rows", counting)
    with_ahead = engine.compute_status(plan, demo_tables, YEAR, Options(), results=results,
                                       ahead=ahead)
    pd.testing.assert_frame_equal(with_ahead, plain)
    # the same (unprotected) rows as the notebooks': every baseline was found ahead
    assert computed == []


def test_only_the_years_no_edition_publishes_are_computed_ahead(demo_tables):
    plan = load_plan("clayton")
    years = [y for y in demo_tables.years if y < YEAR]
    results = engine.compute_measures(plan, demo_tables, YEAR, Options())
    engine._STATUS_CACHE.clear()
    ahead = engine.status_rows_ahead(plan, demo_tables, YEAR, Options(), results, years)
    # the status looks for a baseline from the first year on: every measure has that year's rows
    for m in plan.measures():
        assert any(engine.status_key(m, years[0], Options(), g) in ahead for g in (False, True))
    # the first year published by an edition: the status takes its rows from there, and its
    # search may stop there, so nothing is computed ahead
    assert engine.status_rows_ahead(plan, demo_tables, YEAR, Options(), results, years[1:]) == {}


def test_a_baseline_year_of_its_own_is_the_one_computed_ahead(demo_tables, tmp_path):
    years = [y for y in demo_tables.years if y < YEAR]
    spec = yaml.safe_load(plan_path("clayton").read_text())
    for goal in spec["goals"]:
        for outcome in goal["outcomes"]:
            for m in outcome["measures"]:
                m["baseline_year"] = years[1]
    plan = Plan.model_validate(spec)
    results = engine.compute_measures(plan, demo_tables, YEAR, Options())
    ahead = _saved_ahead(plan, demo_tables, results, years, tmp_path)
    assert {k for m in plan.measures() for g in (False, True)
            if (k := engine.status_key(m, years[1], Options(), g)) in ahead} == set(ahead)
    assert len(ahead) == len(plan.measures())
    engine._STATUS_CACHE.clear()
    plain = engine.compute_status(plan, demo_tables, YEAR, Options(), results=results)
    engine._STATUS_CACHE.clear()
    pd.testing.assert_frame_equal(
        engine.compute_status(plan, demo_tables, YEAR, Options(), results=results, ahead=ahead),
        plain)


def test_a_notebook_without_status_years_saves_no_status_rows(demo_tables, tmp_path):
    plan = load_plan("clayton")
    measures = [m for m in plan.measures() if engine.domain_of(m) == "discipline"]
    results = engine.compute_measures(plan, demo_tables, YEAR, Options(),
                                      measure_ids=[m.id for m in measures])
    NotebookContext("discipline", plan, YEAR, Options(), demo_tables, tmp_path, measures).save(
        results)
    assert (tmp_path / "discipline.parquet").is_file()
    assert status_rows(tmp_path) == {}


def test_a_key_is_the_same_in_another_process():
    """The notebooks' kernels name the rows, the runner looks them up: the same measure, year,
    options and groups give the same key in any process (no hash seed, no object ids)."""
    import subprocess
    import sys

    plan = load_plan("clayton")
    m = plan.measures()[3]
    options = Options(min_n=12, chronic_threshold=0.2)
    here = engine.status_key(m, "2021-22", options, True)
    code = ("from plan_metrics import engine; from plan_metrics.options import Options; "
            "from plan_metrics.plan import load_plan; "
            f"m = load_plan('clayton').measures()[3]; "
            "print(engine.status_key(m, '2021-22', Options(min_n=12, chronic_threshold=0.2), "
            "True))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout.strip()
    assert there == here
    assert engine.status_key(m, "2021-22", options, False) != here
    assert engine.status_key(m, "2021-22", Options(), True) != here
