"""The cycles of hidden cells that protection chooses before its first LP must be cycles of the
attacker's whole system, not of one grid alone (hand-built tables; DESIGN.md section 6).

Each case is one where a cycle closed in its own grid still left the failing cell pinned: the
first LP found it too narrow, and a second round (at scale, whole tables) followed. With cycles
that close everywhere the prepass protects it and the first LP confirms."""

import pandas as pd

from plan_metrics.privacy import model as M
from plan_metrics.privacy.protect import protect
from plan_metrics.results import ALL, DISTRICT

BUILDINGS = ("A", "B", "C")


def table(name: str, keys: dict, counts: dict, hidden: set) -> M.Table:
    """A share table from {(group_by, group): ([n per building], [numerator per building])}; the
    all rows and the district row are the sums. ``hidden``: (building, group_by, group) rows
    whose start state is hidden."""
    rows = []
    first = next(iter(counts))
    for (gb, g), (ns, nums) in [(("all", "all"), (
            [sum(counts[gb_g][0][k] for gb_g in counts if gb_g[0] == first[0]) for k in range(3)],
            [sum(counts[gb_g][1][k] for gb_g in counts if gb_g[0] == first[0]) for k in range(3)],
    ))] + list(counts.items()):
        for b, n, num in list(zip(BUILDINGS, ns, nums)) + [(DISTRICT, sum(ns), sum(nums))]:
            rows.append({"building_id": b, "group_by": gb if g != "all" else ALL, "group": g,
                         "n": float(n), "numerator": float(num), "denominator": float(n),
                         "state": M.HIDDEN if (b, gb, g) in hidden else M.PUBLISHED,
                         "band": None})
    return M.Table("p", name, "2024-25", "share", keys, pd.DataFrame(rows))


def state(t: M.Table, b: str, gb: str, g: str) -> str:
    r = t.rows
    return r.loc[(r["building_id"] == b) & (r["group_by"] == gb) & (r["group"] == g),
                 "state"].iloc[0]


def test_a_cycle_through_the_all_rows_moves_a_pair_in_every_other_group_by():
    """The all rows of A and B are hidden already, so the cheapest cycle for A's girls runs
    through them: (A, f), (A, all), (B, f), (B, all). But A's all row is also the sum of A's race
    cells, all published: it cannot move, and neither can (A, f) = all - boys. The cycle needs a
    race pair too, (A, x) and (B, x) say."""
    t = table("m", {"n": "n", "numerator": "num", "denominator": "n"}, {
        ("gender", "f"): ([30, 40, 50], [15, 20, 25]),
        ("gender", "m"): ([30, 40, 50], [15, 20, 25]),
        ("race", "x"): ([24, 30, 44], [12, 15, 22]),
        ("race", "y"): ([36, 50, 56], [18, 25, 28]),
    }, hidden={("A", "gender", "f"), ("A", "all", "all"), ("B", "all", "all")})
    _, out = protect([t], [], 5.0)
    assert out.rounds == 1 and out.min_width >= 5
    assert {state(t, b, "race", g) for b in ("A", "B") for g in ("x", "y")} >= {M.HIDDEN}
    assert state(t, "A", "race", "x") == state(t, "B", "race", "x")


def test_a_cycle_closes_in_every_measure_that_shares_its_counts():
    """Two measures over partly the same people: their girls are the same students in every
    building (one line, linked), their boys are not. The cycle of measure a for A's girls runs
    through B; measure b, whose A girls are the same cell, would close its own cycle through C.
    Then in b the cells (B, f) and (A, f) cannot move with a's cycle (b's boys and totals of A
    and B are published), and in a (C, f) cannot move with b's: A's girls are pinned. The cycle
    must be hidden at the same places in b."""
    a = table("a", {"n": "nA", "numerator": "numA", "denominator": "nA"}, {
        ("gender", "f"): ([30, 40, 50], [15, 20, 25]),
        ("gender", "m"): ([30, 40, 50], [15, 20, 25]),
    }, hidden={("A", "gender", "f")})
    b = table("b", {"n": "nB", "numerator": "numB", "denominator": "nB"}, {
        ("gender", "f"): ([30, 40, 50], [10, 12, 14]),
        ("gender", "m"): ([31, 90, 35], [11, 20, 15]),
    }, hidden=set())
    links = [(M.line_key("nA", "gender", "f"), M.line_key("nB", "gender", "f"))]
    _, out = protect([a, b], links, 5.0)
    assert out.rounds == 1 and out.min_width >= 5
    for t in (a, b):
        assert [state(t, x, "gender", g) for x in ("A", "B") for g in ("f", "m")] == \
            [M.HIDDEN] * 4
    assert state(b, "C", "gender", "m") == M.PUBLISHED
