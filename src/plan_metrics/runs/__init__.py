"""`plan-metrics run` (DESIGN.md sections 8, 9, 11): papermill runs per school year -> editions.

A run, for each plan and school year:

1. reads and checks the parameters (params/defaults.yaml < params/<year>.yaml < --params < --min-n),
2. loads and validates the data directory ONCE (nothing is published from invalid data), and writes
   the validated tables as a parquet *snapshot* in the run's scratch folder, so that every notebook
   reads typed tables instead of parsing and validating the CSV files again (``snapshot``),
3. executes the compute notebooks (``notebooks/<domain>.ipynb``, one per data domain that has
   measures in the plan) with papermill, ``--jobs`` at a time, each saving its domain's rows
   (``execute``). Each worker keeps one warm kernel (``kernels``): the notebook runs top to bottom
   as always, but pandas and the library are already imported, which halves a notebook's cost,
4. protects the rows of every edition of the run together, with the editions already in the
   reports folder (privacy.protect), computes the status, validates both and publishes each
   edition atomically (``publish``): everything is written to
   ``reports/<plan>/.<year>.tmp-<pid>-XXXX`` and moved into place only when every notebook
   succeeded and the privacy audit passed. Republishing keeps the replaced edition whole in
   ``<year>/history/<its published time, UTC, YYYYMMDDTHHMMSSZ>/`` (``publish.keep_history``), and
   the swap is one atomic exchange of the two folders. A failed or interrupted run leaves the
   previous edition untouched and no temporary folder behind; a failed notebook is kept, executed with its error
   marked, in ``reports/<plan>/.failed/<year>/<domain>.ipynb``.

The notebooks (the unit of work: one domain of one edition) go through a
``concurrent.futures.Executor``: the local pool of warm kernels by default, or the workers of a
Dask distributed cluster with ``--dask ADDRESS`` (``executors``); steps 2 and 4 stay on the client.
``plan-metrics run-many`` runs a list of districts, each as one task (``many``).

Modules: ``run`` (the entry point, ``run()`` and ``main()``), ``execute`` (one notebook),
``executors`` (local pool, Dask), ``many`` (run-many), ``kernels`` (the warm kernel pool),
``snapshot``, ``publish``, ``context`` (the notebooks' side: ``notebook_context``) and
``notebooks`` (writes the compute notebooks themselves).
"""

from .context import NotebookContext, notebook_context, resolve, tables_needed
from .kernels import release_memory
from .notebooks import COMMON_PARAMETERS, DOMAIN_KNOBS, compute_notebook, write_compute_notebooks
from .publish import replace_dir
from .run import domains_of, main, parse_years, run
from .snapshot import SnapshotTables, write_snapshot

__all__ = ["NotebookContext", "notebook_context", "resolve", "tables_needed", "release_memory",
           "COMMON_PARAMETERS", "DOMAIN_KNOBS", "compute_notebook", "write_compute_notebooks",
           "replace_dir", "domains_of", "main", "parse_years", "run", "SnapshotTables",
           "write_snapshot"]
