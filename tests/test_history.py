"""Editions keep their history (DESIGN.md section 8): republishing a plan-year keeps the edition it
replaces, whole, under ``history/<its published time, UTC, YYYYMMDDTHHMMSSZ>/``; the finders of the
current editions never read history; the audit reads both; the swap is atomic.

Hand-built editions in temporary folders (fast). The real run republished with a corrected input
file is in tests/test_compare_run.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from plan_metrics import editions
from plan_metrics.errors import PlanMetricsError
from plan_metrics.privacy.audit import edition_folders
from plan_metrics.runs import publish


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _edition(folder: Path, ended: str, value: float, extra: str = "") -> Path:
    """A minimal edition: one row, one status, a manifest published at ``ended``."""
    res = pd.DataFrame([{"plan_id": "p", "measure_id": "m", "school_year": "2024-25",
                         "building_id": "ALL", "group_by": "all", "group": "all", "n": 50,
                         "numerator": 25, "denominator": 50, "value": value,
                         "suppressed": False, "display": f"{value:.0%}", "note": extra}])
    st = pd.DataFrame([{"plan_id": "p", "measure_id": "m", "school_year": "2024-25",
                        "value": value, "status": "no clear change", "rule_text": ""}])
    editions.write_edition(folder, res, st, {"plan_id": "p", "school_year": "2024-25",
                                             "started": ended, "ended": ended,
                                             "parameters": {"min_n": 10}})
    (folder / "notebooks").mkdir(exist_ok=True)
    (folder / "notebooks" / "surveys.ipynb").write_text(f"executed {extra}")
    return folder


def _republish(reports: Path, ended: str, value: float, extra: str = "") -> str | None:
    """What runs.publish does for one plan-year: the new edition written aside, the history kept
    in it, the two folders swapped."""
    target = reports / "p" / "2024-25"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".2024-25.tmp-{os.getpid()}-x"
    _edition(tmp, ended, value, extra)
    name = publish.keep_history(tmp, target)
    publish.replace_dir(tmp, target)
    assert not tmp.exists()
    return name


def test_republishing_keeps_each_replaced_edition_whole_under_its_published_time(tmp_path):
    target = tmp_path / "p" / "2024-25"
    assert _republish(tmp_path, "2026-03-02T18:04:05+00:00", 0.5, "first") is None
    assert not (target / "history").exists()          # a first edition has no history
    first = _tree(target)

    # published at 14:30 in New York = 19:30 UTC: the name is in UTC
    assert _republish(tmp_path, "2026-03-09T14:30:00-05:00", 0.6, "second") == "20260302T180405Z"
    second = {k: v for k, v in _tree(target).items() if not k.startswith("history/")}
    assert _tree(target / "history" / "20260302T180405Z") == first

    assert _republish(tmp_path, "2026-04-01T08:00:00+00:00", 0.7, "third") == "20260309T193000Z"
    hist = target / "history"
    assert sorted(p.name for p in hist.iterdir()) == ["20260302T180405Z", "20260309T193000Z"]
    assert _tree(hist / "20260302T180405Z") == first      # kept unchanged through a republish
    assert _tree(hist / "20260309T193000Z") == second
    assert json.loads((target / "manifest.json").read_text())["ended"].startswith("2026-04-01")
    # nothing temporary is left beside the plan-year
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["2024-25"]

    # the finders of current editions never read history; history_editions lists it, oldest first
    eds = editions.list_editions(tmp_path)
    assert eds[["plan_id", "school_year"]].values.tolist() == [["p", "2024-25"]]
    assert editions.read_edition(tmp_path, "p", "2024-25").results["value"].tolist() == [0.7]
    kept = editions.history_editions(tmp_path, "p", "2024-25")
    assert [(e.name, e.date) for e in kept] == [("20260302T180405Z", "2026-03-02"),
                                                ("20260309T193000Z", "2026-03-09")]
    assert editions.read_edition_at(kept[0].path).results["value"].tolist() == [0.5]
    # the privacy audit reads the current edition and the two kept ones
    assert [str(f.relative_to(tmp_path)) for f in edition_folders(tmp_path)] == [
        "p/2024-25", "p/2024-25/history/20260302T180405Z", "p/2024-25/history/20260309T193000Z"]


def test_two_editions_published_in_the_same_second_both_stay(tmp_path):
    _republish(tmp_path, "2026-03-02T18:04:05+00:00", 0.5, "a")
    _republish(tmp_path, "2026-03-02T18:04:05+00:00", 0.6, "b")
    assert _republish(tmp_path, "2026-03-02T18:04:06+00:00", 0.7, "c") == "20260302T180405Z-2"
    kept = editions.history_editions(tmp_path, "p", "2024-25")
    assert [e.name for e in kept] == ["20260302T180405Z", "20260302T180405Z-2"]
    assert [editions.read_edition_at(e.path).results["note"].iloc[0] for e in kept] == ["a", "b"]


def test_history_is_hard_linked_so_republishing_costs_no_copy(tmp_path):
    _republish(tmp_path, "2026-03-02T18:04:05+00:00", 0.5)
    ino = (tmp_path / "p" / "2024-25" / "results.parquet").stat().st_ino
    _republish(tmp_path, "2026-03-03T18:04:05+00:00", 0.6)
    kept = tmp_path / "p" / "2024-25" / "history" / "20260302T180405Z" / "results.parquet"
    assert kept.stat().st_ino == ino


def test_a_run_killed_between_the_two_renames_gets_its_edition_back(tmp_path):
    """Without the atomic exchange, replace_dir renames twice; a trash folder left by a killed run
    whose plan-year folder is missing is the edition in force: the next run renames it back."""
    dead = 2 ** 22 + 12345
    while publish._alive(dead):
        dead += 1
    _edition(tmp_path / "p" / f".2024-25.trash-{dead}-abc", "2026-03-02T18:04:05+00:00", 0.5)
    _edition(tmp_path / "p" / f".2024-25.tmp-{dead}-abc", "2026-03-03T18:04:05+00:00", 0.6)
    publish._sweep_stale(tmp_path)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["2024-25"]
    assert editions.read_edition(tmp_path, "p", "2024-25").results["value"].tolist() == [0.5]


def test_the_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "new").write_text("new")
    (b / "old").write_text("old")
    if not publish._exchange(a, b):
        pytest.skip("this kernel or file system has no renameat2 RENAME_EXCHANGE")
    assert [p.name for p in b.iterdir()] == ["new"] and [p.name for p in a.iterdir()] == ["old"]


@pytest.mark.parametrize("files, words", [
    ((), "has no manifest.json, results.parquet, status.parquet"),
    (("manifest.json",), "has no results.parquet, status.parquet"),
])
def test_read_edition_at_a_folder_that_is_no_edition_is_one_error(tmp_path, files, words):
    for f in files:
        (tmp_path / f).write_text("{}")
    with pytest.raises(PlanMetricsError) as e:
        editions.read_edition_at(tmp_path)
    assert words in str(e.value) and "reports/<plan>/<year>/history/" in str(e.value)


_CHILD = r'''
import os, signal, shutil, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_history import _edition
from plan_metrics.runs import publish

reports, where = Path(sys.argv[1]), sys.argv[2]
target = reports / "p" / "2024-25"
tmp = target.parent / f".2024-25.tmp-{os.getpid()}-x"
_edition(tmp, "2026-03-09T10:00:00+00:00", 0.6, "new")
publish.keep_history(tmp, target)
real_exchange, real_rmtree = publish._exchange, shutil.rmtree
def exchange(a, b):
    if where == "before the swap":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_exchange(a, b)
def rmtree(path, *args, **kw):
    if where == "after the swap" and Path(path) == tmp:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_rmtree(path, *args, **kw)
publish._exchange, publish.shutil.rmtree = exchange, rmtree
publish.replace_dir(tmp, target)
'''


@pytest.mark.parametrize("where, value", [("before the swap", 0.5), ("after the swap", 0.6)])
def test_a_publish_killed_by_sigkill_leaves_the_old_or_the_new_edition(tmp_path, where, value):
    import signal
    import subprocess
    import sys

    _republish(tmp_path, "2026-03-02T18:04:05+00:00", 0.5, "old")
    old = _tree(tmp_path / "p" / "2024-25")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), where,
                           str(Path(__file__).parent)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    probe_a, probe_b = tmp_path / "probe-a", tmp_path / "probe-b"
    probe_a.mkdir()
    probe_b.mkdir()
    if not publish._exchange(probe_a, probe_b):   # two renames: a kill between them is repaired
        pytest.skip("no renameat2 RENAME_EXCHANGE on this system")   # by the next run (above)
    current = editions.read_edition(tmp_path, "p", "2024-25")
    assert current.results["value"].tolist() == [value]         # never neither, never a mix
    if value == 0.6:
        kept = editions.history_editions(tmp_path, "p", "2024-25")
        assert [e.name for e in kept] == ["20260302T180405Z"] and _tree(kept[0].path) == old
    else:
        assert _tree(tmp_path / "p" / "2024-25") == old
    # the next run removes what the killed one left under a temporary name
    left = [p.name for p in (tmp_path / "p").iterdir() if p.name != "2024-25"]
    assert len(left) == 1 and ".tmp-" in left[0]
    publish._sweep_stale(tmp_path)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["2024-25"]
