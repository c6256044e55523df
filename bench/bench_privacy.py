"""Benchmark of the privacy step (DESIGN.md sections 6 and 12): prints figures, is not a test.

For every plan and year of a district, in one process (the runner's privacy step without the
notebooks): the first, per-measure pass (privacy.apply, what was published before whole-table
protection), the protection of everything together (runs.protection.protect_editions), then the
audit of the reports folder written (privacy.audit, knowing no true count). Prints:
- the information lost: the share of rows published before and after, by level (district / a
  building, all students / a student group), and the rows shown as a band;
- the protection's and the audit's time, the audit's exposed cells and minimum range.

Usage: python bench/bench_privacy.py [--data data/demo] [--plans all] [--years all]
Without --data it generates the small synthetic district into a temporary folder first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from plan_metrics import editions, engine, privacy  # noqa: E402
from plan_metrics.demo import demo_district  # noqa: E402
from plan_metrics.loading import load_data  # noqa: E402
from plan_metrics.options import Options  # noqa: E402
from plan_metrics.plan import available_plans, load_plan  # noqa: E402
from plan_metrics.privacy.audit import audit  # noqa: E402
from plan_metrics.runs.protection import RowsEdition, protect_editions  # noqa: E402


def level(rows: pd.DataFrame) -> pd.Series:
    where = rows["building_id"].map(lambda b: "district" if b == "ALL" else "building")
    who = rows["group_by"].map(lambda g: "all students" if g == "all" else "student group")
    return where + ", " + who


def shares(rows: pd.DataFrame) -> pd.Series:
    """Per level: the share of rows that publish a number (not hidden)."""
    shown = ~rows["suppressed"].astype(bool)
    return shown.groupby(level(rows)).mean()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--plans", default="all")
    ap.add_argument("--years", default="all")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pm-bench-privacy-"))
    data = Path(args.data) if args.data else demo_district(tmp / "data")
    t0 = time.perf_counter()
    tables = load_data(data)
    years = engine.data_years(tables) if args.years == "all" else args.years.split(",")
    plans = available_plans() if args.plans == "all" else args.plans.split(",")
    options = Options()
    reports = tmp / "reports"
    eds, first = [], []
    for plan_id in plans:
        plan = load_plan(plan_id)
        for year in years:
            rows = engine.compute_measures(plan, tables, year, options, keep_truth=True)
            eds.append(RowsEdition(plan, year, options.to_dict(), rows, reports / plan_id / year))
            first.append(rows.drop(columns=[c for c in privacy.PRIVATE_COLUMNS
                                            if c in rows.columns]))
    t1 = time.perf_counter()
    print(f"computed {len(eds)} editions in {t1 - t0:.1f} s; protecting them together ...",
          flush=True)
    protected = protect_editions(eds, tables, reports,
                                 log=lambda m: print(f"  [{time.perf_counter() - t1:.0f} s] {m}",
                                                     flush=True))
    t2 = time.perf_counter()
    print(f"protected in {t2 - t1:.1f} s; writing and auditing ...", flush=True)
    finals = []
    for ed in eds:
        results, record = protected[ed]
        earlier = {o.year: protected[o][0] for o in eds if o.plan.id == ed.plan.id}
        status = engine.compute_status(ed.plan, tables, ed.year, options, results=results,
                                       earlier=earlier)
        editions.write_edition(ed.target, results, status,
                               {"plan_id": ed.plan.id, "school_year": ed.year,
                                "synthetic_data": True, "privacy": record,
                                "parameters": options.to_dict()})
        finals.append(results)
    t3 = time.perf_counter()
    report = audit(reports)
    t4 = time.perf_counter()

    before, after = pd.concat(first), pd.concat(finals)
    table = pd.DataFrame({"rows": level(after).value_counts(),
                          "published before": shares(before), "published after": shares(after)})
    print(f"district {data}: {len(plans)} plans x {len(years)} years = {len(eds)} editions, "
          f"{len(after)} rows")
    print(table.to_string(float_format=lambda v: f"{100 * v:.1f}%"))
    print(f"all rows: published before {100 * shares_all(before):.1f}%, "
          f"after {100 * shares_all(after):.1f}%; shown as a band: "
          f"{int(after['display'].astype(str).str.match(r'^[<>] ').sum())}")
    print(f"time: compute {t1 - t0:.1f} s, protect {t2 - t1:.1f} s, status and write "
          f"{t3 - t2:.1f} s, audit {t4 - t3:.1f} s ({report.unknown_cells} unknowns, "
          f"{report.components} components, {report.solves} LPs)")
    print(f"audit: {len(report.exposures)} exposed cells, minimum range "
          f"{report.editions['min range'].min():g} (protection {report.protection})")


def shares_all(rows: pd.DataFrame) -> float:
    return float((~rows["suppressed"].astype(bool)).mean())


if __name__ == "__main__":
    main()
