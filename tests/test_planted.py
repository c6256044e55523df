"""The engine recovers the effects planted in the synthetic demo district (PLANTED.yaml), and the
time of one year of the clayton plan on the small district.

The district is generated once per session into a temporary folder (synthetic.generate) and loaded
with the real loader. Each planted effect names a measure of a shipped plan, a cell (building,
group_by, group, school_year) and the expected value with a tolerance (3 standard errors) and
``exact_within`` (how close the generator's fixed counts put the data to ``expected``).
"""

import time

import pytest
import yaml

from plan_metrics import engine, synthetic
from plan_metrics.loading import load_data
from plan_metrics.options import Options
from plan_metrics.plan import load_plan

pytestmark = pytest.mark.slow

PLANS = ("clayton", "ccps-sip-2018")


@pytest.fixture(scope="session")
def district(demo_data):
    out = demo_data
    planted = yaml.safe_load((out / synthetic.PLANTED_FILE).read_text(encoding="utf-8"))
    return load_data(out), planted["effects"]


def _measure(measure_id, effect):
    """The plan's measure, with the effect's own window and the effect's group_by listed."""
    for pid in PLANS:
        try:
            m = load_plan(pid).measure(measure_id)
            break
        except KeyError:
            continue
    else:
        raise AssertionError(f"planted measure {measure_id} is in no shipped plan")
    if "window_years" in effect:
        m = m.model_copy(update={"spec": m.spec.model_copy(
            update={"window_years": effect["window_years"]})})
    if effect["group_by"] != "all" and effect["group_by"] not in m.groups:
        m = m.model_copy(update={"groups": [*m.groups, effect["group_by"]]})
    return m


def _observed(tables, effect, cache):
    m = _measure(effect["measure"], effect)
    key = (m.model_dump_json(), effect["school_year"])
    if key not in cache:
        cache[key] = engine.measure_rows(m, tables, effect["school_year"], Options())
    rows = cache[key]
    hit = rows[(rows["building_id"] == effect["building"]) & (rows["group_by"] == effect["group_by"])
               & (rows["group"] == effect["group"])]
    assert len(hit) == 1, effect
    row = hit.iloc[0]
    assert not row["suppressed"], effect
    if effect.get("statistic") == "gap":
        # the group's percent favorable minus all other students', in points
        return 100 * (row["value"] - row["comparison_value"])
    return float(row["value"])


def test_planted_effects_are_recovered(district):
    tables, effects = district
    cache: dict = {}
    misses, exact = [], 0
    for e in effects:
        got = _observed(tables, e, cache)
        if abs(got - e["expected"]) > e["tolerance"]:
            misses.append((e["measure"], e["group"], e["school_year"], e["expected"], got))
        exact += abs(got - e["expected"]) <= e["exact_within"] + 1e-9
    print(f"\nplanted effects: {len(effects)}, within tolerance: {len(effects) - len(misses)}, "
          f"within exact_within: {exact}")
    assert not misses, misses


def test_time_of_one_year_of_the_clayton_plan(district):
    tables, _ = district
    plan = load_plan("clayton")
    year = "2023-24"
    engine._STATUS_CACHE.clear()
    t0 = time.perf_counter()
    results = engine.compute_measures(plan, tables, year, Options())
    t1 = time.perf_counter()
    status = engine.compute_status(plan, tables, year, Options(), results=results)
    t2 = time.perf_counter()
    print(f"\nclayton {year}, small district: {len(plan.measures())} measures, {len(results)} rows;"
          f" measures {t1 - t0:.2f} s, status {t2 - t1:.2f} s (baseline year computed), "
          f"total {t2 - t0:.2f} s")
    t3 = time.perf_counter()
    engine.compute_measures(plan, tables, year, Options())
    print(f"again, with the kinds' shared work memoized: measures {time.perf_counter() - t3:.2f} s")
    by_kind: dict[str, float] = {}
    for m in plan.measures():  # where the time goes: each measure alone, summed per kind
        t = time.perf_counter()
        engine.measure_rows(m, tables, year, Options())
        by_kind[m.kind] = by_kind.get(m.kind, 0.0) + time.perf_counter() - t
    print("per kind: " + ", ".join(f"{k} {v:.2f} s" for k, v in
                                   sorted(by_kind.items(), key=lambda kv: -kv[1])))
    assert len(status) == len(plan.measures())
    assert set(status["status"]) - {"not enough data"}, "every status is 'not enough data'"


def test_no_hidden_cell_is_derivable_in_the_demo_district(district):
    """Every family of cells that adds up exactly (groups of one group_by to their building's all
    row; buildings to the district row) holds 0 or >= 2 hidden cells, so none can be recovered by
    subtraction; the true counts come from the same year computed with min_n = 1."""
    tables, _ = district
    year, ids = "2023-24", ["G1.1-belonging", "G1.2-suspension-rate", "G2.2-ela-proficient",
                            "G1.2-suspension-rr", "G3.4-service-hours"]
    shown = engine.compute_measures("clayton", tables, year, Options(min_n=10), measure_ids=ids)
    truth = engine.compute_measures("clayton", tables, year, Options(min_n=1), measure_ids=ids)
    assert (shown.loc[~shown["suppressed"], "n"].dropna() >= 10).all()
    key = ["measure_id", "building_id", "group_by", "group"]
    both = truth[key + ["n"]].merge(shown[key + ["suppressed"]], on=key)
    both = both[both["n"].notna()]
    checked = hidden_families = 0
    for mid, rows in both.groupby("measure_id"):
        cell = {(b, gb, g): (n, s) for b, gb, g, n, s in
                zip(rows["building_id"], rows["group_by"], rows["group"], rows["n"],
                    rows["suppressed"])}
        fams = []
        for (b, gb), part in rows[rows["group_by"] != "all"].groupby(["building_id", "group_by"]):
            fams.append(((b, "all", "all"), list(zip(part["building_id"], part["group_by"],
                                                      part["group"]))))
        for (gb, g), part in rows[rows["building_id"] != "ALL"].groupby(["group_by", "group"]):
            fams.append((("ALL", gb, g), list(zip(part["building_id"], part["group_by"],
                                                   part["group"]))))
        for total, parts in fams:
            if total not in cell or sum(cell[p][0] for p in parts) != cell[total][0]:
                continue  # not exactly additive (e.g. people without a group label)
            hidden = sum(cell[k][1] for k in [total, *parts])
            checked += 1
            hidden_families += hidden > 0
            assert hidden != 1, (mid, total, parts)
    print(f"\nexactly additive families checked: {checked}, with hidden cells: {hidden_families}")
    assert checked and hidden_families
