"""The command line (DESIGN.md section 11, contract): demo-data, validate, run, run-many,
serve, export, import, compare, packet, audit.

Every error a user can cause is printed as one paragraph (what, where, how to fix) with a non-zero
exit status; never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .errors import PlanMetricsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="plan-metrics",
        description="Compute, publish, serve and export the measures of success of a school "
                    "district's strategic plan, one school year at a time.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo-data", help="generate the synthetic demo district")
    d.add_argument("--out", default="data/demo")
    d.add_argument("--size", default="small",
                   help="small, large, or a number of students up to 1000000 (e.g. 200k)")
    d.add_argument("--seed", type=int, default=2024)

    v = sub.add_parser("validate", help="check a data directory against the data contract")
    v.add_argument("--data", required=True)
    v.add_argument("--plan")

    r = sub.add_parser("run", help="compute editions with papermill, one per plan and year")
    r.add_argument("--plan", required=True, help="a plan id, a plan YAML path, or 'all'")
    r.add_argument("--data", required=True)
    r.add_argument("--years", required=True, help="2023-24, 2023-24,2024-25 or all")
    r.add_argument("--params")
    r.add_argument("--out", default=None, help="reports folder (default: reports/)")
    r.add_argument("--jobs", type=int)
    r.add_argument("--min-n", type=int, dest="min_n")
    r.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="run the notebooks on a Dask distributed cluster (e.g. tcp://host:8786); "
                        "data and reports must be on a path every worker sees")

    m = sub.add_parser("run-many", help="run a list of districts (YAML or CSV) as tasks, locally "
                                        "or on a Dask cluster, with a summary table")
    m.add_argument("--districts", required=True,
                   help="YAML or CSV: each district's name, data, plans, years and reports")
    m.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="run the districts on a Dask distributed cluster (e.g. tcp://host:8786)")

    s = sub.add_parser("serve", help="serve the home page and dashboards with Voila (127.0.0.1 by default)")
    s.add_argument("--reports", default=None)
    s.add_argument("--port", type=int, default=8866)
    s.add_argument("--host", default=None,
                   help="address to listen on (default 127.0.0.1; keep it behind a reverse proxy)")
    s.add_argument("--base-url", default=None, dest="base_url",
                   help="path prefix when a reverse proxy forwards e.g. /plan-metrics/ (default /)")
    s.add_argument("--pool", type=int, default=None,
                   help="preheated board kernels (default 4, about 300 MiB each)")
    s.add_argument("--cull-idle", type=int, default=None, dest="cull_idle",
                   help="seconds before an idle kernel without a viewer is shut down (default 120)")
    s.add_argument("--cull-interval", type=int, default=None, dest="cull_interval",
                   help="seconds between checks for such kernels (default 30)")

    i = sub.add_parser("import", help="turn a district's raw exports into a data directory")
    i.add_argument("--mapping", required=True, help="the mapping YAML (DESIGN.md section 5.1)")
    i.add_argument("--source", required=True, help="the folder holding the raw exports")
    i.add_argument("--out", required=True, help="the data directory to write")

    a = sub.add_parser("audit", help="prove the privacy of everything a reports folder publishes")
    a.add_argument("--reports", default=None)
    a.add_argument("--protection", type=int, default=None,
                   help="the narrowest range allowed (default: the editions' own parameter)")

    e = sub.add_parser("export", help="export charts, decks, workbooks or the HTML report")
    e.add_argument("--plan", required=True)
    e.add_argument("--year", required=True)
    e.add_argument("--goal")
    e.add_argument("--format", required=True, choices=["png", "svg", "pdf", "pptx", "xlsx", "html"])
    e.add_argument("--reports", default=None)
    e.add_argument("--out", default=".")

    c = sub.add_parser("compare", help="what changed between two years, or since a republished "
                                       "year's earlier edition")
    c.add_argument("--plan", required=True)
    c.add_argument("--year", required=True)
    c.add_argument("--against", default=None, metavar="YEAR|EDITION_DIR",
                   help="an earlier or later published year, or an edition kept in "
                        "<year>/history/ (its folder or name); default: the last report")
    c.add_argument("--reports", default=None)
    k = sub.add_parser("packet", help="the board packet: a paginated, accessible PDF")
    k.add_argument("--plan", required=True)
    k.add_argument("--year", required=True)
    k.add_argument("--goal")
    k.add_argument("--building", help="a building id (default: the district)")
    k.add_argument("--reports", default=None)
    k.add_argument("--out", default=".")
    return p


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM (a service stop, a job's time limit) ends a command as Ctrl+C does, so its cleanup
    # runs (the privacy helper processes are shut down, nothing is half-published) instead of an
    # abrupt exit that leaves helpers and leaked semaphores behind. Signals reach the main
    # thread only; a command called from another thread (run-many's tasks) keeps the default.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        if args.command == "demo-data":
            from .synthetic import main as cmd
        elif args.command == "validate":
            from .loading import main as cmd
        elif args.command == "run":
            from .runs import main as cmd
        elif args.command == "run-many":
            from .runs.many import main as cmd
        elif args.command == "serve":
            from .serve import main as cmd
        elif args.command == "import":
            from .importing import main as cmd
        elif args.command == "audit":
            from .privacy.audit import main as cmd
        elif args.command == "compare":
            from .compare import main as cmd
        elif args.command == "packet":
            from .exports.packet import main as cmd
        else:
            from .exports import main as cmd
        return int(cmd(args) or 0)
    except PlanMetricsError as e:
        print(f"plan-metrics {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        after = (" Editions already reported as published stand; the one in progress was not "
                 "published and its previous edition is untouched."
                 if args.command in ("run", "run-many") else "")
        print(f"plan-metrics {args.command}: interrupted.{after}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
