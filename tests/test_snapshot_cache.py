"""Validated data kept between commands (runs.snapshot_cache): a run after `plan-metrics validate`
on unchanged files uses the tables validated then and publishes the same edition; a changed file
is validated again, and a broken one stops the run with nothing published."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from plan_metrics import cli
from plan_metrics.runs import snapshot_cache

PLAN, YEAR = "clayton", "2024-25"
KEPT = "unchanged since it passed validation"


@pytest.fixture
def data(demo_data, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(demo_data, copy)
    return copy


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLAN_METRICS_CACHE", str(folder))
    return folder / "snapshots"


def test_the_key_changes_with_any_byte_any_file_and_the_folder(data, tmp_path):
    key = snapshot_cache.data_key(data).name
    assert snapshot_cache.data_key(data).name == key
    with open(data / "staff.csv", "ab") as fh:        # one byte more
        fh.write(b"\n")
    changed = snapshot_cache.data_key(data).name
    assert changed != key
    (data / "notes.txt").write_text("a file validation warns about")
    assert snapshot_cache.data_key(data).name not in (key, changed)
    (data / "notes.txt").unlink()
    assert snapshot_cache.data_key(data).name == changed
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(data, elsewhere)
    assert snapshot_cache.data_key(elsewhere).name != changed


def test_off_keeps_nothing(data, monkeypatch, capsys):
    monkeypatch.setenv("PLAN_METRICS_CACHE", "off")
    assert snapshot_cache.cache_folder() is None
    assert snapshot_cache.lookup(data) == (None, None)


def test_only_the_most_recently_used_snapshots_are_kept(tmp_path, cache):
    source = tmp_path / "snapshot"
    source.mkdir()
    (source / "snapshot.json").write_text('{"hashes": {"a.csv": "1"}}')
    snapshot_cache.store(source, snapshot_cache.Key("changed", {"a.csv": "2"}))
    assert not (cache / "changed").exists()   # a file changed while it was validated
    for i in range(snapshot_cache.KEEP + 2):
        snapshot_cache.store(source, snapshot_cache.Key(f"key{i}", {"a.csv": "1"}))
    # all used within the hour (a run may still be reading one): none goes
    assert len(list(cache.iterdir())) == snapshot_cache.KEEP + 2
    for i in range(snapshot_cache.KEEP + 2):
        os.utime(cache / f"key{i}", (1000 + i, 1000 + i))
    snapshot_cache.store(source, snapshot_cache.Key("new", {"a.csv": "1"}))
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == sorted(["new", *(f"key{i}" for i in range(3, snapshot_cache.KEEP + 2))])
    assert cache.stat().st_mode & 0o777 == 0o700   # students' records: the owner's only


@pytest.mark.notebook
def test_a_run_after_validate_uses_the_validated_tables_and_publishes_the_same(
        data, cache, tmp_path, monkeypatch, capsys):
    assert cli.main(["validate", "--data", str(data)]) == 0
    assert len(list(cache.iterdir())) == 1
    capsys.readouterr()
    kept = tmp_path / "kept"
    assert cli.main(["run", "--plan", PLAN, "--data", str(data), "--years", YEAR,
                     "--out", str(kept), "--jobs", "2"]) == 0
    assert KEPT in capsys.readouterr().err
    monkeypatch.setenv("PLAN_METRICS_CACHE", "off")
    fresh = tmp_path / "fresh"
    assert cli.main(["run", "--plan", PLAN, "--data", str(data), "--years", YEAR,
                     "--out", str(fresh), "--jobs", "2"]) == 0
    assert KEPT not in capsys.readouterr().err
    for name in ("results.parquet", "status.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(kept / PLAN / YEAR / name),
                                      pd.read_parquet(fresh / PLAN / YEAR / name))


@pytest.mark.notebook
def test_a_file_broken_after_validation_stops_the_run_with_nothing_published(
        data, cache, tmp_path, capsys):
    assert cli.main(["validate", "--data", str(data)]) == 0
    lines = (data / "discipline.csv").read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("building_id")] = "NO-SUCH-SCHOOL"
    (data / "discipline.csv").write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    capsys.readouterr()
    out = tmp_path / "reports"
    assert cli.main(["run", "--plan", PLAN, "--data", str(data), "--years", YEAR,
                     "--out", str(out), "--jobs", "2"]) != 0
    err = capsys.readouterr().err
    assert KEPT not in err and "NO-SUCH-SCHOOL" in err and "discipline.csv" in err
    assert not (out / PLAN / YEAR).exists()
