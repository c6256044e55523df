"""Publishing an edition: combine the domains' rows, compute the status, write the edition into
its temporary folder and move it into place atomically; clean-up of what killed runs left.

History (DESIGN.md section 8): when a plan-year is republished, the temporary folder also receives,
before the swap, the history the old edition kept and the old edition itself (everything but its
``history/``) as ``history/<its published time, UTC, YYYYMMDDTHHMMSSZ>/`` (``keep_history``), as
hard links where the file system allows (published files are never rewritten in place), else as
copies. The old folder is left untouched until the swap, which is one ``renameat2(RENAME_EXCHANGE)``
where the kernel and file system offer it: killed at any instant, even by SIGKILL, the plan-year
holds either the old edition or the new one (with the old one in its history), and what is left
under a temporary name is removed by the next run (``_sweep_stale``). Without the exchange the swap
is two renames, and a trash folder left between them is renamed back by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import os
import random
import re
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import engine, manifest as manifest_mod
from ..options import Options
from ..params import options_of
from .context import status_rows
from .snapshot import SnapshotTables


@dataclass(eq=False)  # hashable by identity: the run keys its editions
class _Edition:
    """One plan-year being computed."""
    plan: Any
    plan_ref: str
    plan_file: Path
    year: str
    params: dict
    param_files: list[str]
    target: Path
    tmp: Path
    rows_dir: Path
    domains: list[str]
    started: str
    jobs_left: int = 0
    notebooks: list[dict] = field(default_factory=list)


def _publish(ed: _Edition, tables, plan_hash, git, synthetic, data_dir,
             results: pd.DataFrame, privacy: dict, earlier: dict | None = None) -> Path:
    """Check and write one edition (its protected rows, see runs.protection) into its temporary
    folder, then move it into place."""
    from ..editions import write_edition
    from ..results import validate_results, validate_status

    options = options_of(ed.params)
    results = validate_results(results, options.min_n)
    status = validate_status(_status(ed, tables, results, options, earlier))
    ed.notebooks.sort(key=lambda r: engine.DOMAINS.index(r["domain"]))
    man = manifest_mod.build(
        plan_id=ed.plan.id, plan_file=str(ed.plan_file), plan_hash=plan_hash(ed.plan_file),
        school_year=ed.year, parameters=ed.params, parameter_files=ed.param_files,
        data_dir=str(data_dir), input_hashes=dict(getattr(tables, "hashes", {}) or {}),
        row_counts=dict(getattr(tables, "row_counts", {}) or {}), notebooks=ed.notebooks,
        started=ed.started, ended=manifest_mod.now(), synthetic=synthetic, git=git,
        previous=manifest_mod.read(ed.target / "manifest.json"))
    man["privacy"] = privacy
    man["notebooks_skipped"] = [d for d in engine.DOMAINS if d not in ed.domains]  # no measures
    # the public list of schools, so an edition names its buildings wherever it is copied
    bld = tables.get("buildings")
    man["buildings"] = ({} if bld is None else
                        dict(zip(bld["building_id"].astype(str), bld["name"].astype(str))))
    # the edition this one replaces, kept whole in its history (None: the first edition)
    man["replaced"] = keep_history(ed.tmp, ed.target)
    # the plan's action steps (no person's data): each step's status, owner and note
    if ed.plan.has_action_steps:
        from ..kinds.action_completion import step_records
        man["action_steps"] = step_records(tables, ed.plan.id, ed.year)
    write_edition(ed.tmp, results, status, man)
    for domain in ed.domains:
        rewrite_tables(ed.tmp / "notebooks" / f"{domain}.ipynb", ed, domain, results)
    replace_dir(ed.tmp, ed.target)
    failed = ed.target.parent / ".failed"
    shutil.rmtree(failed / ed.year, ignore_errors=True)  # an old failure of this year is moot
    try:
        failed.rmdir()
    except OSError:
        pass  # absent, or other years' failures remain
    return ed.target


def rewrite_tables(path: Path, ed: _Edition, domain: str, results: pd.DataFrame | None) -> None:
    """Replace the outputs of the notebook's result tables (cells tagged ``edition-table``) with
    the tables of the edition's final rows: the executed notebook showed the first pass, which
    may publish cells the protection of the whole edition hides. ``results`` None: clear them
    (a failed run's notebook kept for the analyst)."""
    import nbformat

    from .context import NotebookContext
    from .notebooks import TABLE_TAG

    if not path.exists():
        return
    nb = nbformat.read(str(path), as_version=4)
    measures = [m for m in ed.plan.measures() if engine.domain_of(m) == domain]
    ctx = NotebookContext(domain, ed.plan, ed.year, options_of(ed.params), {}, ed.rows_dir,
                          measures)
    mine = None if results is None else results[results["measure_id"].isin([m.id for m in measures])]
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if TABLE_TAG not in tags:
            continue
        which = next(t.split(":", 1)[1] for t in tags if t.startswith(TABLE_TAG + ":"))
        cell.outputs = []
        if mine is not None:
            table = getattr(ctx, f"{which}_table")(mine)
            cell.outputs = [nbformat.v4.new_output(
                "execute_result", data={"text/html": table.to_html(), "text/plain": repr(table)},
                execution_count=cell.get("execution_count"))]
    nbformat.write(nb, str(path))


def _status(ed: _Edition, tables, results: pd.DataFrame, options: Options,
            earlier: dict | None = None) -> pd.DataFrame:
    """engine.compute_status of an edition, one domain's measures at a time: a large district's
    snapshot then holds only one domain's tables in memory (the status of a measure depends on
    that measure alone, so the rows are those of a single call)."""
    from ..results import empty_status

    ahead = status_rows(ed.rows_dir)
    parts = []
    for d in ed.domains:
        ids = [m.id for m in ed.plan.measures() if engine.domain_of(m) == d]
        mine = results[results["measure_id"].isin(ids)]
        if len(mine):
            parts.append(engine.compute_status(ed.plan, tables, ed.year, options, results=mine,
                                               earlier=earlier, ahead=ahead))
        if isinstance(tables, SnapshotTables) and tables.large:
            tables.evict()
    if not parts:
        return empty_status()
    status = pd.concat(parts, ignore_index=True)
    order = {m.id: i for i, m in enumerate(ed.plan.measures())}
    return status.iloc[status["measure_id"].map(order).argsort(kind="stable")]


def keep_history(new: Path, target: Path) -> str | None:
    """Put into ``new/history/`` what republishing ``target`` must keep: the editions
    ``target/history/`` holds and ``target``'s own edition (all but its history), whole, under
    its published time (editions.history_name). ``target`` itself is not touched. Returns the
    name the replaced edition takes, None when ``target`` holds no edition (a first run)."""
    from ..editions import HISTORY_DIR, MANIFEST_FILE, history_name

    if not (target / MANIFEST_FILE).is_file():
        return None
    hist = Path(new) / HISTORY_DIR
    hist.mkdir(exist_ok=True)
    old = target / HISTORY_DIR
    if old.is_dir():
        for entry in sorted(old.iterdir()):
            if entry.is_dir():
                shutil.copytree(entry, hist / entry.name, copy_function=_link_or_copy,
                                symlinks=True)
            else:
                _link_or_copy(entry, hist / entry.name)
    name = history_name(manifest_mod.read(target / MANIFEST_FILE) or {}, hist, target)
    shutil.copytree(target, hist / name, copy_function=_link_or_copy, symlinks=True,
                    ignore=lambda d, names: [HISTORY_DIR] if Path(d) == target else [])
    return name


def _link_or_copy(src, dst) -> None:
    """A hard link of a published file (never rewritten in place), or a copy across devices."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def replace_dir(new: Path, target: Path) -> None:
    """Move folder ``new`` to ``target`` atomically: where the system offers it, one exchange of
    the two folders (renameat2 RENAME_EXCHANGE), then the old one (now at ``new``) deleted;
    otherwise the old target is renamed to a trash name (one os.replace), the new one renamed
    into place (another), the trash deleted. An interrupt (Ctrl-C) arriving during the renames
    takes effect after them."""
    trash = None
    with _interrupts_deferred():
        if target.exists() and _exchange(new, target):
            trash = new   # the old edition, under the temporary name that _sweep_stale knows
        else:
            if target.exists():
                trash = target.parent / (f".{target.name}.trash-{os.getpid()}-"
                                         f"{random.randrange(16**6):06x}")
                os.replace(target, trash)
            try:
                os.replace(new, target)
            except BaseException:
                if trash is not None:
                    os.replace(trash, target)
                raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100
_renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux renameat2 RENAME_EXCHANGE). False where the C
    library, kernel or file system does not offer it (the caller then renames twice)."""
    global _renameat2
    if _renameat2 is None:
        try:
            _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
            _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                   ctypes.c_uint]
        except (AttributeError, OSError):
            _renameat2 = False
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


class _interrupts_deferred:
    """Hold SIGINT/SIGTERM during a critical section (main thread only) and re-deliver after."""

    def __enter__(self):
        self.caught, self.saved = [], {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, lambda s, f: self.caught.append(s))
        return self

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        if self.caught:
            raise KeyboardInterrupt
        return False


_STALE = re.compile(r"^\.(?:run|.+\.tmp|.+\.trash)-(\d+)-")


def _sweep_stale(reports: Path) -> None:
    """Delete temporary folders left by runs that were killed (their process no longer exists).
    A trash folder whose plan-year folder is missing (a run killed between the two renames of
    ``replace_dir`` without the exchange) holds the edition still in force: it is renamed back."""
    candidates = [*reports.glob(".run-*"), *reports.glob("*/.*.tmp-*"), *reports.glob("*/.*.trash-*")]
    for path in candidates:
        m = _STALE.match(path.name)
        if m and not _alive(int(m.group(1))):
            year = path.name[1:].split(".trash-")[0] if ".trash-" in path.name else None
            if year and not (path.parent / year).exists():
                os.replace(path, path.parent / year)
                continue
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
