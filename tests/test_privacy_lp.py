"""The attacker's LP ranges (privacy.lp) against the closed form of a table with published margins,
solved in this process and shared out with helper processes: the same exact ranges either way."""

import os
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from plan_metrics.privacy import helper_processes, lp

# row and column totals of a 9 x 7 table whose every cell is hidden (grand total 200)
ROWS = [30, 5, 41, 12, 25, 3, 40, 18, 26]
COLS = [50, 9, 33, 40, 2, 36, 30]


def table_system(need: float) -> lp.System:
    system = lp.System()
    cells = [[system.add_var(need=need) for _ in COLS] for _ in ROWS]
    for i, total in enumerate(ROWS):
        system.add({v: 1.0 for v in cells[i]}, "=", total)
    for j, total in enumerate(COLS):
        system.add({cells[i][j]: 1.0 for i in range(len(ROWS))}, "=", total)
    return system


def closed_form() -> dict[int, tuple[float, float]]:
    """A cell of a two-way table known only by its margins lies in
    [max(0, row + column - total), min(row, column)] (the Frechet bounds)."""
    total = sum(ROWS)
    return {i * len(COLS) + j: (max(0, r + c - total), min(r, c))
            for i, r in enumerate(ROWS) for j, c in enumerate(COLS)}


def ranges_of(system) -> dict[int, tuple[float, float]]:
    out, _ = lp.ranges(system)
    return {v: (r.low, r.high) for v, r in out.items()}


def test_ranges_in_this_process_are_the_frechet_bounds(monkeypatch):
    monkeypatch.setattr(helper_processes, "_pool", False)      # no helpers
    assert ranges_of(table_system(need=1e9)) == closed_form()


def test_ranges_shared_with_helper_processes_are_the_same(monkeypatch):
    monkeypatch.setattr(helper_processes, "_pool", None)
    monkeypatch.setattr(lp, "PARALLEL_MIN_SIZE", 10)
    monkeypatch.setattr(lp, "PARALLEL_MIN_OPEN", 4)
    monkeypatch.setattr(lp, "PARALLEL_BATCH", 5)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no helper processes")
    try:
        got = ranges_of(table_system(need=1e9))
        assert isinstance(helper_processes.pool(), ProcessPoolExecutor)   # started, not broken
    finally:
        helper_processes.close()
    assert got == closed_form()


def test_a_range_wide_enough_is_at_least_its_need_either_way(monkeypatch):
    """With a need the witnesses can prove, a variable gets no LP of its own; what is returned is
    then a range the attacker cannot narrow below the need, in both ways of solving."""
    truth = closed_form()
    for pool in (False, None):
        monkeypatch.setattr(helper_processes, "_pool", pool)
        monkeypatch.setattr(lp, "PARALLEL_MIN_SIZE", 10)
        monkeypatch.setattr(lp, "PARALLEL_MIN_OPEN", 4)
        try:
            got = ranges_of(table_system(need=5))
        finally:
            helper_processes.close()
        for v, (low, high) in got.items():
            exact_low, exact_high = truth[v]
            assert exact_low <= low <= high <= exact_high
            assert high - low >= min(5, exact_high - exact_low)
            if exact_high - exact_low < 5:
                assert (low, high) == truth[v]


def test_counts_pinned_by_subtraction_alone_need_no_linear_program():
    """A row total with one hidden cell pins it; that cell pins the next in its column, and so
    on: worked by hand, a = 12 - 5 = 7, b = 10 - a = 3, c = 9 - b = 6. The free pair (d, e) with
    d + e = 14 - c = 8 ranges over 0..8: the LPs prove a range of at least the need (5) in it."""
    system = lp.System()
    a, b, c, d, e = (system.add_var(need=5) for _ in range(5))
    system.add({a: 1.0}, "=", 12 - 5)
    system.add({a: 1.0, b: 1.0}, "=", 10)
    system.add({b: 1.0, c: 1.0}, "=", 9)
    system.add({c: 1.0, d: 1.0, e: 1.0}, "=", 14)
    out, figures = lp.ranges(system)
    assert {v: (r.low, r.high, r.exact) for v, r in out.items() if v in (a, b, c)} == {
        a: (7, 7, True), b: (3, 3, True), c: (6, 6, True)}
    for v in (d, e):
        assert 0 <= out[v].low and out[v].high <= 8 and out[v].high - out[v].low >= 5
    only_pinned = lp.System()
    x, y = only_pinned.add_var(need=5), only_pinned.add_var(need=5)
    only_pinned.add({x: 1.0}, "=", 4)
    only_pinned.add({x: 1.0, y: 1.0}, "=", 6)
    out, figures = lp.ranges(only_pinned)
    assert (out[y].low, out[y].high) == (2, 2) and figures["solves"] == 0


def test_closing_the_helpers_leaves_no_process_and_a_later_audit_starts_new_ones(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(helper_processes, "_pool", None)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no helper processes")
    for _ in range(2):   # a protection, then an audit in the same process
        before = set(multiprocessing.active_children())   # (an earlier test's, if any)
        started = helper_processes.pool()
        assert isinstance(started, ProcessPoolExecutor)
        assert started.submit(abs, -3).result(timeout=60) == 3
        assert set(multiprocessing.active_children()) - before   # the helpers run
        helper_processes.close()
        assert set(multiprocessing.active_children()) <= before


def test_components_solved_whole_by_helpers_keep_their_ranges(monkeypatch):
    """Two independent tables: the larger is solved here, the other whole in a helper process
    (``lp.ranges``); both give their Frechet bounds, each cell under its own number."""
    monkeypatch.setattr(helper_processes, "_pool", None)
    monkeypatch.setattr(lp, "PARALLEL_MIN_SIZE", 10)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no helper processes")
    system = table_system(need=1e9)
    first = len(system)
    small_rows, small_cols = [4, 6], [3, 5, 2]        # a 2 x 3 table after it (total 10)
    cells = [[system.add_var(need=1e9) for _ in small_cols] for _ in small_rows]
    for i, total in enumerate(small_rows):
        system.add({v: 1.0 for v in cells[i]}, "=", total)
    for j, total in enumerate(small_cols):
        system.add({cells[i][j]: 1.0 for i in range(len(small_rows))}, "=", total)
    try:
        got = ranges_of(system)
        assert isinstance(helper_processes.pool(), ProcessPoolExecutor)   # not broken
    finally:
        helper_processes.close()
    want = closed_form()
    # worked by hand: cell (i, j) of the small table lies in [max(0, r + c - 10), min(r, c)]
    want.update({first + i * 3 + j: (max(0, r + c - 10), min(r, c))
                 for i, r in enumerate(small_rows) for j, c in enumerate(small_cols)})
    assert got == want


_STOPPED_BY_SIGNAL = """
import sys, time
from plan_metrics import cli
from plan_metrics.privacy import audit, helper_processes

def busy(args):
    pool = helper_processes.pool()
    assert pool.submit(abs, -1).result() == 1
    print(" ".join(str(p) for p in pool._processes), flush=True)
    try:
        time.sleep(120)
    finally:
        helper_processes.close()

audit.main = busy
if __name__ == "__main__":
    sys.exit(cli.main(["audit"]))
"""


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_stopped_command_leaves_no_helper_process(tmp_path, signal_name):
    """A command stopped by SIGTERM (a service stop, a job's time limit) ends as Ctrl+C does: its
    helpers are shut down, no leaked-semaphore warning. One killed outright (SIGKILL) cannot
    clean up, but its helpers notice their parent is gone and exit."""
    import signal
    import subprocess
    import sys
    import time

    import psutil
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no helper processes")
    script = tmp_path / "stopped.py"
    script.write_text(_STOPPED_BY_SIGNAL)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    helpers = [int(p) for p in proc.stdout.readline().split()]
    assert helpers and all(psutil.pid_exists(p) for p in helpers)
    proc.send_signal(getattr(signal, signal_name))
    _, err = proc.communicate(timeout=60)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in helpers):
        time.sleep(0.2)
    assert not any(_alive(p) for p in helpers)
    if signal_name == "SIGTERM":
        assert proc.returncode == 130 and "plan-metrics audit: interrupted." in err
        assert "leaked" not in err and "Traceback" not in err


def _alive(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def truth_table() -> list[list[int]]:
    """A table with the margins ROWS and COLS (the north-west corner rule): the true counts."""
    rows, cols = list(ROWS), list(COLS)
    out = [[0] * len(COLS) for _ in ROWS]
    i = j = 0
    while i < len(rows) and j < len(cols):
        take = min(rows[i], cols[j])
        out[i][j] = take
        rows[i] -= take
        cols[j] -= take
        if rows[i] == 0:
            i += 1
        else:
            j += 1
    return out


def buildings_system(need: float) -> lp.System:
    """``table_system`` with each row a building (its block) and the true counts known."""
    truth = truth_table()
    system = table_system(need)
    system.truth = [float(x) for row in truth for x in row]
    system.block = [i for i in range(len(ROWS)) for _ in COLS]
    return system


def pairs_witnessed(passes):
    """The pairs' witnesses (completed by the truth) over ``buildings_system(need=3)`` in
    ``passes`` passes: (points, lo, hi, system)."""
    from plan_metrics.privacy import blocks
    from plan_metrics.privacy.component_lp import ComponentLP

    system = buildings_system(need=3)
    comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
    truth = np.asarray(system.truth)
    lo, hi = truth.copy(), truth.copy()
    points = []

    def short():
        return hi - lo < 3

    def witness(idx, x):
        point = truth.copy()
        point[idx] = x
        points.append(point)
        lo[idx] = np.minimum(lo[idx], x)
        hi[idx] = np.maximum(hi[idx], x)

    assert blocks.witnesses(comp, comp.block, truth, short, witness, passes) > 0
    return points, lo, hi, system


@pytest.mark.parametrize("passes", [1, 4])
def test_the_pairs_of_buildings_witness_only_feasible_points_inside_the_exact_ranges(passes):
    """Every point the pairs' LPs report, completed by the true counts, satisfies every relation
    (a witness the attacker cannot rule out), so each witnessed range lies inside the Frechet
    bounds; with a need of 3 the pairs alone prove most cells whose exact range is that wide,
    and more passes prove no fewer."""
    points, lo, hi, system = pairs_witnessed(passes)
    assert points
    for point in points:
        assert (point >= -1e-9).all()
        for coefs, b in system.eq:
            assert abs(sum(a * point[v] for v, a in coefs.items()) - b) < 1e-6
    exact = closed_form()
    for v in range(len(system)):
        assert exact[v][0] - 1e-9 <= lo[v] <= hi[v] <= exact[v][1] + 1e-9
    wide = [v for v, (low, high) in exact.items() if high - low >= 3]
    proven = [v for v in wide if hi[v] - lo[v] >= 3 - 1e-9]
    assert len(proven) >= len(wide) // 2
    if passes > 1:
        _, lo1, hi1, _ = pairs_witnessed(1)
        assert len(proven) >= sum(hi1[v] - lo1[v] >= 3 - 1e-9 for v in wide)


def test_ranges_with_the_pairs_of_buildings_first_are_the_same(monkeypatch):
    """The pairs' witnesses only spare LPs, around the true counts (the run's protection) or
    around an LP's solution (the auditor, who has no truth): the exact ranges (a need no range
    reaches) are the Frechet bounds with them, and a need of 5 is proven wherever the exact range
    allows, never beyond it (a narrow cell is still found narrow)."""
    from plan_metrics.privacy import blocks

    monkeypatch.setattr(helper_processes, "_pool", False)
    monkeypatch.setattr(blocks, "MIN_SIZE", 1)
    monkeypatch.setattr(blocks, "AUDIT_PASSES_MIN_SIZE", 1)
    exact = closed_form()
    for known in (True, False):
        def system(need):
            s = buildings_system(need)
            if not known:
                s.truth = [float("nan")] * len(s.truth)
            return s

        assert ranges_of(system(1e9)) == exact
        for v, (low, high) in ranges_of(system(5)).items():
            assert exact[v][0] <= low <= high <= exact[v][1]
            assert high - low >= min(5, exact[v][1] - exact[v][0])
            if exact[v][1] - exact[v][0] < 5:
                assert (low, high) == exact[v]


def test_the_pairs_shared_with_helper_processes_witness_inside_the_exact_ranges(monkeypatch):
    """The pairs of a pass shared between this process and a real helper (a chunk of one pair at
    a time): the witnessed ranges still lie inside the Frechet bounds and prove as many cells as
    the pairs do in this process alone, give or take the order they come back in."""
    from plan_metrics.privacy import blocks
    from plan_metrics.privacy.component_lp import ComponentLP

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no helper processes")
    monkeypatch.setattr(helper_processes, "_pool", None)
    monkeypatch.setattr(blocks, "SHARE_CHUNK", 1)
    system = buildings_system(need=3)
    comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
    truth = np.asarray(system.truth)
    lo, hi = truth.copy(), truth.copy()
    need, integer = np.full(comp.size, 3.0), np.ones(comp.size, bool)

    def witness(idx, x):
        lo[idx] = np.minimum(lo[idx], x)
        hi[idx] = np.maximum(hi[idx], x)

    try:
        share = (helper_processes.pool(), lo, hi, need, integer, np.zeros(comp.size, bool))
        assert blocks.witnesses(comp, comp.block, truth, lambda: hi - lo < 3, witness, 4,
                                share) > 0
    finally:
        helper_processes.close()
    exact = closed_form()
    for v in range(len(system)):
        assert exact[v][0] - 1e-9 <= lo[v] <= hi[v] <= exact[v][1] + 1e-9
    wide = [v for v, (low, high) in exact.items() if high - low >= 3]
    assert sum(hi[v] - lo[v] >= 3 - 1e-9 for v in wide) >= len(wide) // 2


def test_a_helper_without_the_pairs_data_asks_for_it():
    """A chunk of pairs that reaches a helper without the component's data gets None back (the
    main process sends the data with it again); with it, the helper returns only the variables
    it widened, inside the exact ranges."""
    from plan_metrics.privacy import blocks
    from plan_metrics.privacy.component_lp import ComponentLP

    system = buildings_system(need=3)
    comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
    truth = np.asarray(system.truth)
    labels, blk = np.unique(comp.block, return_inverse=True)
    around = blocks._Around(comp, truth, blk, labels < 0)
    need, integer, exact = np.full(comp.size, 3.0), np.ones(comp.size, bool), \
        np.zeros(comp.size, bool)
    blocks._REPLICA.clear()
    args = ([(0, 1), (2, 3)], truth.copy(), truth.copy(), need, integer, exact, 7)
    assert blocks._pairs_elsewhere(("test", 1), None, *args) is None
    moved, w_lo, w_hi, solves = blocks._pairs_elsewhere(("test", 1), around, *args)
    again = blocks._pairs_elsewhere(("test", 1), None, *args)
    blocks._REPLICA.clear()
    assert solves > 0 and len(moved) and again is not None
    assert set(np.flatnonzero(blk[moved] > 3).tolist()) == set()   # only buildings 0 to 3 move
    exact_ranges = closed_form()
    for v, low, high in zip(moved.tolist(), w_lo, w_hi):
        assert exact_ranges[v][0] - 1e-9 <= low <= high <= exact_ranges[v][1] + 1e-9
        assert low < truth[v] or high > truth[v]


def test_a_helper_without_the_component_asks_for_its_model():
    """A helper keeps one replica between batches; a batch that reaches a helper without it
    (several helpers) gets None back, and the main process sends the model with it again."""
    from plan_metrics.privacy.component_lp import ComponentLP

    system = table_system(need=1e9)
    comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
    lo = np.asarray([float(x) for row in truth_table() for x in row])   # a first witness
    hi = lo.copy()
    need, integer = np.full(comp.size, 1e9), np.ones(comp.size, bool)
    lp._REPLICA.clear()
    assert lp._own_ranges_elsewhere(("test", 1), None, np.arange(2), lo, hi, need, integer) is None
    got = lp._own_ranges_elsewhere(("test", 1), comp.spec(), np.arange(2), lo.copy(), hi.copy(),
                                   need, integer)
    again = lp._own_ranges_elsewhere(("test", 1), None, np.arange(2, 4), lo.copy(), hi.copy(),
                                     need, integer)
    exact = closed_form()
    for w_lo, w_hi, exact_lo, exact_hi, _, _ in (got, again):
        for v in np.flatnonzero(exact_lo & exact_hi):
            assert (w_lo[v], w_hi[v]) == exact[int(v)]
    assert (got[2] & got[3])[:2].all() and (again[2] & again[3])[2:4].all()
    lp._REPLICA.clear()


def test_a_cap_below_every_feasible_point_is_raised_not_lifted():
    """A count up to 500 times another (an MPI's points and its 2,000 students, the whole table
    hidden) lies far above every published number, so the cap on unbounded variables cuts off
    every feasible point. Lifted, an LP pushing the points up would come back "unbounded", a
    witness of nothing; raised, it ends at a vertex: a feasible point."""
    from plan_metrics.privacy.component_lp import ComponentLP

    system = lp.System()
    students, points, other = system.add_var(lb=1), system.add_var(), system.add_var()
    system.add({students: 1.0}, "=", 2000.0)
    system.add({points: 1.0, students: -100.0}, ">=", 0.0)   # 100 n <= points <= 500 n
    system.add({points: 1.0, students: -500.0}, "<=", 0.0)
    system.add({other: 1.0, points: -1.0}, ">=", 0.0)       # no bound above: capped
    comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
    status, x = comp.solve(np.asarray([0.0, 0.0, -1.0]))
    assert status == "ok"
    assert x[0] == pytest.approx(2000) and 200_000 - 1e-6 <= x[1] <= 1_000_000 + 1e-6
    assert x[2] >= x[1] - 1e-6


STARTED_AT_A_POINT = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from test_privacy_lp import table_system, truth_table
from plan_metrics.privacy.component_lp import ComponentLP
system = table_system(5)
comp = ComponentLP(system, np.arange(len(system)), (system.eq, system.le))
assert comp.start_at(np.asarray(truth_table(), dtype=float).ravel()), "no basis from the point"
out = {}
for v in range(len(system)):
    c = np.zeros(len(system))
    c[v] = 1.0
    out[v] = [round(comp.solve(c)[1][v]), round(comp.solve(-c)[1][v])]
print(json.dumps(out))
"""


def test_a_model_started_at_a_feasible_point_first_in_its_process_has_the_frechet_ranges():
    """``ComponentLP.start_at`` (HiGHS's crossover from a known feasible point, the first LPs'
    start in the run's protection and in the pairs of buildings) in a new interpreter, before any
    LP ran there: HiGHS 1.16's crossover alone dies on a null pointer there. From that start,
    every cell's LPs still end at the Frechet bounds."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", STARTED_AT_A_POINT,
                           str(Path(__file__).resolve().parent)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = {int(v): tuple(r) for v, r in json.loads(done.stdout.splitlines()[-1]).items()}
    assert got == closed_form()
