"""The run's snapshot: the validated tables written once as parquet, read lazily by the notebooks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from .kernels import release_memory

SNAPSHOT_INFO = "snapshot.json"


def write_snapshot(tables, folder: Path, data_dir: Path) -> Path:
    """Write the validated tables as parquet files plus snapshot.json (hashes, row counts, years)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    info = {"data_dir": str(data_dir), "tables": sorted(tables.keys()),
            "memory": {name: int(df.memory_usage(deep=True).sum()) for name, df in tables.items()},
            "hashes": dict(getattr(tables, "hashes", {}) or {}),
            "row_counts": dict(getattr(tables, "row_counts", {}) or {}),
            "years": sorted(getattr(tables, "years", []) or []),
            "warnings": len(getattr(tables, "warnings", []) or [])}
    (folder / SNAPSHOT_INFO).write_text(json.dumps(info, indent=1, default=str))
    return folder


class SnapshotTables(Mapping):
    """The validated tables of a snapshot, each read from parquet the first time a kind asks for
    it (so a notebook reads only the tables its measures use). Same interface as loading.Tables:
    a mapping of table name -> DataFrame with ``hashes``, ``row_counts`` and ``years``."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        info = json.loads((self.folder / SNAPSHOT_INFO).read_text())
        self._names = list(info["tables"])
        self.hashes, self.row_counts = info["hashes"], info["row_counts"]
        self.years = info["years"]
        self.data_dir = info["data_dir"]
        self.memory: dict[str, int] = info.get("memory", {})
        #: how many warnings the validation of these tables gave (``loading.Tables.warnings``)
        self.warning_count: int = info.get("warnings", 0)
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def read(self) -> list[str]:
        """The tables read so far."""
        return list(self._cache)

    #: Above this many rows in all, the runner's status step drops tables after each domain.
    LARGE_ROWS = 2_000_000

    @property
    def large(self) -> bool:
        return sum(self.row_counts.values()) > self.LARGE_ROWS

    def evict(self) -> None:
        """Forget the tables read so far (they are read again when asked for) and free memory."""
        if self._cache:   # (a collection costs tenths of a second even with nothing to free)
            self._cache.clear()
            release_memory()
