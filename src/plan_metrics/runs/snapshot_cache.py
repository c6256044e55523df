"""Validated data kept between commands: the snapshot of a data directory that passed validation,
so that a run after ``plan-metrics validate`` (or after another run) on the same files does not
read and check them again.

A large district's validation is a fifth of a run (50,000 students: 6 to 10 s of about 35; the
CSV files are read, parsed and checked whole), and the usual course is validate, then run, then
run again with other parameters. The snapshot the run writes anyway (``snapshot``) is the validated
tables; it is kept here, under a key that changes whenever anything validation depends on changes:

- the content (sha256) of every file of the data directory, and its resolved path;
- the source of the plan_metrics package (any change of a rule, a parser or the snapshot format)
  and the versions of pandas and pyarrow (the parquet files).

So a cached snapshot is exactly what validating the files again would give; a changed byte, a file
added or removed, or another version of the code validates anew. Where the cache folder cannot be
written, nothing is kept and every run validates.

The folder: ``$PLAN_METRICS_CACHE`` (``off`` turns the cache off), else ``$XDG_CACHE_HOME`` or
``~/.cache``, ``/plan-metrics/snapshots``. The ``KEEP`` most recently used snapshots are kept,
and any used within the last hour.
Each is written under a temporary name and renamed into place, so a reader never sees half of one.
A snapshot holds the students' records, as the data folder does: the folder is readable by its
owner only, and a machine where no copy may outlive the data folder sets ``off``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .snapshot import SNAPSHOT_INFO

#: snapshots kept (the most recently used)
KEEP = 3
OFF = "off"


def cache_folder() -> Path | None:
    """The folder of the kept snapshots, or None when the cache is turned off."""
    env = os.environ.get("PLAN_METRICS_CACHE", "").strip()
    if env.lower() == OFF:
        return None
    if env:
        return Path(env).expanduser() / "snapshots"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "plan-metrics" / "snapshots"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of the package's Python source and of the versions of pandas and pyarrow."""
    import pandas
    import pyarrow

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"pandas {pandas.__version__} pyarrow {pyarrow.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Key:
    """A data directory's key (``name``) and the sha256 of each of its files (``files``, by file
    name) as they were when it was computed."""
    name: str
    files: dict[str, str]


def data_key(data_dir: Path) -> Key:
    """The key of a data directory's snapshot: its path, every file's name and content, the code."""
    data_dir = Path(data_dir).resolve()
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(str(data_dir).encode())
    files = {}
    for path in sorted(p for p in data_dir.iterdir() if p.is_file()):
        one = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                one.update(chunk)
        files[path.name] = one.hexdigest()
        digest.update(f"\0{path.name}\0{files[path.name]}".encode())
    return Key(digest.hexdigest()[:32], files)


def lookup(data_dir: Path) -> tuple[Path, Key] | tuple[None, Key | None]:
    """(the kept snapshot folder of ``data_dir``, its key), or (None, the key to store under;
    None when the cache is off or the directory cannot be read whole)."""
    folder = cache_folder()
    if folder is None:
        return None, None
    try:
        key = data_key(data_dir)
    except OSError:
        return None, None
    entry = folder / key.name
    if (entry / SNAPSHOT_INFO).is_file():
        try:
            os.utime(entry)   # most recently used
        except OSError:
            pass
        return entry, key
    return None, key


def store(snapshot: Path, key: Key | None) -> None:
    """Keep the snapshot folder ``snapshot`` (written by ``write_snapshot`` from tables that
    passed validation) under ``key``; hard links where the file system allows, else copies.
    Not when a file the validation read differs from the one the key was computed from (the
    folder changed meanwhile). Never raises: a cache that cannot be written only means the next
    run validates again."""
    folder = cache_folder()
    if key is None or folder is None:
        return
    try:
        validated = json.loads((snapshot / SNAPSHOT_INFO).read_text()).get("hashes", {})
        if any(key.files.get(name) != digest for name, digest in validated.items()):
            return
        _make(folder)
        entry = folder / key.name
        if (entry / SNAPSHOT_INFO).is_file():
            os.utime(entry)
            return
        tmp = Path(tempfile.mkdtemp(prefix=f".{key.name}.tmp-", dir=folder))
        link_files(snapshot, tmp)
        try:
            os.rename(tmp, entry)
        except OSError:   # another process kept the same snapshot meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(folder)
    except (OSError, ValueError):
        return


def _make(folder: Path) -> None:
    """The cache folder, readable by its owner only (it holds students' records)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def link_files(source: Path, target: Path) -> None:
    """The files of folder ``source`` into folder ``target``: hard links (the snapshot's files
    are never rewritten in place), or copies across file systems."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def keep_validated(tables, data_dir: Path) -> None:
    """Keep the snapshot of ``tables``, just validated from ``data_dir`` (``plan-metrics
    validate``), for the run that usually follows. Never raises."""
    folder = cache_folder()
    if folder is None:
        return
    from .snapshot import write_snapshot
    try:
        kept, key = lookup(data_dir)
        if key is None or kept is not None:
            return
        _make(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".validated-", dir=folder))
        try:
            store(write_snapshot(tables, tmp, Path(data_dir).resolve()), key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except (OSError, ValueError):
        return


#: a temporary folder older than this was left by a killed process
STALE_SECONDS = 3600


def _prune(folder: Path) -> None:
    """Remove all but the ``KEEP`` most recently used snapshots, and temporary folders that a
    killed process left. A snapshot used within ``STALE_SECONDS`` stays whatever its rank: a run
    reads its kept snapshot for a while after ``lookup`` (run-many's districts keep theirs side
    by side)."""
    now = time.time()
    for p in folder.iterdir():
        if p.name.startswith(".") and p.is_dir() and now - p.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(p, ignore_errors=True)
    entries = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        if now - old.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
