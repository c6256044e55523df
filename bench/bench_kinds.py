"""Benchmark of the measure kinds alone (no privacy, no notebooks): prints figures, asserts nothing.

For a data directory (default: a synthetic district generated into a temporary folder), loads the
tables once, then computes every measure of each plan for one school year twice: cold (the kinds'
memo empty) and warm (the engine asks again for baselines). Prints wall and CPU seconds per kind
and in total; CPU is the steadier figure on a shared machine.

    python bench/bench_kinds.py [--data DIR | --size small|large] [--year 2023-24] [--plans clayton,...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict

from plan_metrics import loading, synthetic
from plan_metrics import plan as planmod
from plan_metrics.kinds import KINDS, NoData
from plan_metrics.kinds import _population
from plan_metrics.options import Options


def run_plan(tables, plan_id: str, year: str) -> tuple[float, float, dict]:
    plan = planmod.load_plan(plan_id)
    wall = cpu = 0.0
    per_kind: dict[str, float] = defaultdict(float)
    for m in plan.measures():
        t, c = time.perf_counter(), time.process_time()
        try:
            KINDS[m.kind](tables, m, year, Options())
        except NoData:
            pass
        dt, dc = time.perf_counter() - t, time.process_time() - c
        wall, cpu = wall + dt, cpu + dc
        per_kind[m.kind] += dc
    return wall, cpu, dict(per_kind)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--size", default="large", choices=list(synthetic.SIZES))
    ap.add_argument("--year", default="2023-24")
    ap.add_argument("--plans", default="clayton,ccps-sip-2018,equity-review,clayton-pl")
    args = ap.parse_args()
    data = args.data
    if data is None:
        data = tempfile.mkdtemp(prefix="bench-kinds-")
        t = time.perf_counter()
        synthetic.generate(data, args.size, 2024)
        print(f"generated the {args.size} district in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    tables = loading.load_data(data)
    print(f"loaded {data} in {time.perf_counter() - t:.1f} s; "
          f"{len(tables['enrollment'][tables['enrollment']['school_year'] == args.year]):,} "
          f"enrollment rows in {args.year}")
    _population.clear_memo()
    for rnd in ("cold", "warm"):
        for plan_id in args.plans.split(","):
            wall, cpu, per_kind = run_plan(tables, plan_id, args.year)
            kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_kind.items(),
                                                                key=lambda kv: -kv[1]))
            print(f"{rnd:4s} {plan_id:14s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  ({kinds})")


if __name__ == "__main__":
    main()
