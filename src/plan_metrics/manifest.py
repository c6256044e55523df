"""An edition's manifest.json (DESIGN.md section 8): what was computed, from what, by what.

The manifest makes an edition traceable: the plan file's hash, the parameters, the input files'
hashes and row counts, the package version and git commit, start and end time, the executed
notebooks, whether the data is the synthetic demo district, and what changed since the previous
edition of the same plan and year.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .paths import PROJECT_DIR

#: Files whose presence in a data directory marks the synthetic demo district.
SYNTHETIC_MARKERS = ("PLANTED.yaml", "SYNTHETIC")


def now() -> str:
    """The current time, UTC, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_info(project_dir: Path | str = PROJECT_DIR) -> dict[str, Any]:
    """{"commit": HEAD or None outside a git checkout, "dirty": uncommitted changes or None}."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def is_synthetic(data_dir: Path | str) -> bool:
    """True when the data directory is the synthetic district (it holds its marker file)."""
    return any((Path(data_dir) / m).exists() for m in SYNTHETIC_MARKERS)


def build(*, plan_id: str, plan_file: str, plan_hash: str, school_year: str,
          parameters: dict, parameter_files: list[str], data_dir: str, input_hashes: dict,
          row_counts: dict, notebooks: list[dict], started: str, ended: str,
          synthetic: bool, git: dict, previous: dict | None) -> dict:
    """The manifest of one edition, with ``changes`` against the previous edition's manifest."""
    manifest = {
        "plan_id": plan_id,
        "school_year": school_year,
        "plan_file": plan_file,
        "plan_hash": plan_hash,
        "parameters": parameters,
        "parameter_files": parameter_files,
        "data_dir": data_dir,
        "input_hashes": dict(sorted(input_hashes.items())),
        "row_counts": dict(sorted(row_counts.items())),
        "package_version": __version__,
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "started": started,
        "ended": ended,
        "notebooks": notebooks,
        "synthetic_data": bool(synthetic),
    }
    manifest["changes"] = changes(previous, manifest) if previous is not None else None
    return manifest


def changes(old: dict, new: dict) -> dict:
    """What differs between two manifests of the same plan and year.

    ``{"parameters": {key: {"from": a, "to": b}}, "inputs": {table: "changed"|"added"|"removed"},
    "plan_hash": {"from": a, "to": b}}``, keeping only the parts that differ (``{}`` = nothing).
    """
    out: dict[str, Any] = {}
    op, np_ = old.get("parameters") or {}, new.get("parameters") or {}
    params = {k: {"from": op.get(k), "to": np_.get(k)}
              for k in sorted(set(op) | set(np_)) if op.get(k) != np_.get(k)}
    if params:
        out["parameters"] = params
    oh, nh = old.get("input_hashes") or {}, new.get("input_hashes") or {}
    inputs = {}
    for t in sorted(set(oh) | set(nh)):
        if t not in oh:
            inputs[t] = "added"
        elif t not in nh:
            inputs[t] = "removed"
        elif oh[t] != nh[t]:
            inputs[t] = "changed"
    if inputs:
        out["inputs"] = inputs
    if old.get("plan_hash") != new.get("plan_hash"):
        out["plan_hash"] = {"from": old.get("plan_hash"), "to": new.get("plan_hash")}
    return out


def read(path: Path | str) -> dict | None:
    """A manifest.json's content, or None when absent or unreadable (then no 'changes')."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
