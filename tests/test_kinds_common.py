"""Shared builders for the kind tests, and tests of the kinds' shared machinery (kinds._population).

Builders make tiny tables the way the loader gives them (text ids, 'YYYY-YY' years, bools, ints).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plan_metrics import plan
from plan_metrics.kinds import KINDS, ROW_COLUMNS, NoData
from plan_metrics.kinds import _population as P

Z = 1.959964
Y = "2023-24"


def measure(kind: str, source: str, spec: dict, groups=(), mid: str = "m1") -> plan.Measure:
    return plan.Measure(id=mid, title="test measure", kind=kind, source=source, spec=spec,
                        direction="higher", groups=list(groups))


def enrollment(rows: list[dict], year: str = Y) -> pd.DataFrame:
    """Enrollment rows; defaults: grade 3, white, female, no flags, 180 days, 0 absent."""
    base = {"school_year": year, "building_id": "B1", "grade": 3, "race_ethnicity": "white",
            "gender": "female", "econ_disadvantaged": False, "disability": False,
            "english_learner": False, "days_enrolled": 180, "days_absent": 0}
    return pd.DataFrame([{**base, **r} for r in rows])


def students(n: int, prefix: str, **fields) -> list[dict]:
    """n enrollment rows with ids prefix0..prefix{n-1} and the given fields."""
    return [{"student_id": f"{prefix}{i}", **fields} for i in range(n)]


def cell(df: pd.DataFrame, building: str = "ALL", group_by: str = "all", group: str = "all"):
    """The one row of a kind's output for a cell (fails when absent or duplicated)."""
    hit = df[(df["building_id"] == building) & (df["group_by"] == group_by)
             & (df["group"] == group)]
    assert len(hit) == 1, f"expected one row for {building}/{group_by}/{group}, got {len(hit)}"
    return hit.iloc[0]


def wilson_by_hand(k: float, n: float, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def approx(x, rel=1e-6, abs=1e-9):
    return pytest.approx(x, rel=rel, abs=abs)


# ---- tests of the shared machinery --------------------------------------------------------------

def test_registry_has_every_kind_of_the_plan_model():
    assert set(KINDS) == set(plan.KINDS)
    assert all(callable(f) for f in KINDS.values())


def test_grade_band_boundaries():
    # K-5 elementary, 6-8 middle, 9-12 high; 'K' is grade 0
    got = P.grade_band(pd.Series(["K", "5", "6", "8", "9", "12"])).tolist()
    assert got == ["elementary", "elementary", "middle", "middle", "high", "high"]
    assert P.grade_band(pd.Series([0, 5, 6, 8, 9, 12])).tolist()[2] == "middle"


def test_tabulate_cells_and_others():
    # Two buildings; B1 has a (x=1), b (x=0); B2 has c (x=1). Groups: g = u, v, u.
    units = pd.DataFrame({"building_id": ["B1", "B1", "B2"], "g": ["u", "v", "u"],
                          "x": [1, 0, 1], "one": [1, 1, 1]})
    c = P.tabulate(units, ["g"], ["x", "one"])
    # district all: x = 2 of 3; district u: 2 of 2, others v: 0 of 1
    assert cell(c)["x"] == 2 and cell(c)["one"] == 3
    u = cell(c, "ALL", "g", "u")
    assert (u["x"], u["one"], u["x_others"], u["one_others"]) == (2, 2, 0, 1)
    # B2 has no v row (no member), and its u row has no others (0 of 0)
    assert not ((c["building_id"] == "B2") & (c["group"] == "v")).any()
    assert cell(c, "B2", "g", "u")["one_others"] == 0
    # order: district first, all before groups
    assert list(c["building_id"])[:3] == ["ALL", "ALL", "ALL"]
    assert c.iloc[0]["group_by"] == "all"


def test_missing_group_label_counts_in_all_only():
    units = pd.DataFrame({"building_id": ["B1", "B1"], "g": ["u", None], "one": [1, 1]})
    c = P.tabulate(units, ["g"], ["one"])
    assert cell(c)["one"] == 2
    assert cell(c, "ALL", "g", "u")["one"] == 1
    assert len(c[c["group_by"] == "g"]) == 2  # district u and B1 u only


def test_kind_output_columns():
    enr = enrollment(students(3, "s"))
    out = KINDS["rate"]({"enrollment": enr}, measure("rate", "enrollment",
                        {"condition": "not_chronically_absent"}), Y, None)
    assert list(out.columns) == ROW_COLUMNS
    assert str(out["n"].dtype) == "Int64"


def test_absent_table_is_no_data():
    with pytest.raises(NoData, match="table enrollment not provided"):
        P.get_table({}, "enrollment")


def test_memo_is_per_table_object():
    calls = []
    a = pd.DataFrame({"x": [1]})
    b = pd.DataFrame({"x": [1]})   # equal content, another object: its own entry
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert P.memo((a,), ("k",), build) == 1
    assert P.memo((a,), ("k",), build) == 1        # remembered
    assert P.memo((b,), ("k",), build) == 2
    assert P.memo((a,), ("other",), build) == 3


def test_memo_bound_grows_with_the_source_table(monkeypatch):
    """A derived frame over the fixed bound but within half its (large) source table is kept: a
    large district's survey answers are computed once, not once per measure."""
    monkeypatch.setattr(P, "MEMO_BUDGET_BYTES", 1_000)
    P.clear_memo()
    big = pd.DataFrame({"x": np.arange(10_000, dtype="int64")})          # 80,000 bytes
    calls = []

    def build():
        calls.append(1)
        return big.iloc[:2_000]                                             # 16,000 bytes

    P.memo((big,), ("slice",), build)
    P.memo((big,), ("slice",), build)
    assert len(calls) == 1
    small = pd.DataFrame({"x": np.arange(10, dtype="int64")})
    P.memo((small,), ("whole",), lambda: pd.DataFrame({"y": np.arange(5_000)}))  # over half
    P.memo((big,), ("slice",), build)                                        # still there
    assert len(calls) == 1
    P.clear_memo()


def test_kind_results_follow_new_tables():
    # the same measure over a re-loaded (changed) table gives the new numbers
    m = measure("rate", "enrollment", {"condition": "not_chronically_absent"})
    first = enrollment(students(3, "s", days_absent=0))
    assert cell(KINDS["rate"]({"enrollment": first}, m, Y, None))["value"] == 1.0
    second = enrollment(students(4, "s", days_absent=90))
    d = cell(KINDS["rate"]({"enrollment": second}, m, Y, None))
    assert (d["value"], d["n"]) == (0.0, 4)


def test_note_percentages_follow_the_small_cell_rule():
    # a note quoting a risk must not say "0.0%" or "100.0%" for fewer than 100 people:
    # 40 people -> bound 100/40 = 2.5, rounded up to 3 -> "< 3%" / "> 97%"
    from plan_metrics.kinds import _population as P
    assert P.pct(0.0, 40) == "< 3%"
    assert P.pct(1.0, 40) == "> 97%"
    assert P.pct(0.0, 250) == "0%"          # 250 people: an exact 0% may be shown
    assert P.pct(0.125, 40) == "12.5%"      # only the extremes are rewritten
