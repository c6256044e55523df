"""`plan-metrics import` in bounded memory: CSV sources streamed block by block into the stack's
codes, tables written a slice of rows at a time, and the written folder checked without typing
its tables. Each must give exactly what reading, writing and validating in one go gave.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plan_metrics.importing import TableResult, _write, sources
from plan_metrics.loading import check_data, validate_data

TINY = Path(__file__).parent / "fixtures" / "tiny"


def _sources(paths: list[Path]) -> list[sources.Source]:
    return [sources.open_source(p, "M.yaml, tables.t.from (line 1)", None, "utf-8")
            for p in paths]


def _expected(paths: list[Path], columns: list[str]) -> dict[str, pd.Series]:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    return {c: pd.concat([f[c] for f in frames], ignore_index=True) for c in columns}


def _check(frame: pd.DataFrame, expected: dict[str, pd.Series]) -> None:
    for c, values in expected.items():
        s = frame[c]
        # categories in order of first appearance, file after file; codes typed as pandas does
        assert list(s.cat.categories) == list(pd.unique(values)), c
        assert s.astype(str).tolist() == values.tolist(), c
        assert s.cat.codes.dtype == sources.code_dtype(len(s.cat.categories))


def test_files_streamed_in_small_blocks_stack_as_read_whole(tmp_path, monkeypatch):
    rows = [f"S{i % 997:04d},{['K', '01', '02', ''][i % 4]},{i}\n" for i in range(30_000)]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("Id,Grade,N\n" + "".join(rows[:20_000]), encoding="utf-8")
    # the second file: new values, a quoted text over two lines, another column order
    b.write_text("N,Grade,Id\n" + "".join(f"{i},{g},{s}\n" for s, g, i in
                                          (r.rstrip("\n").split(",") for r in rows[20_000:]))
                 + '7,"12\nbis",NEW\n', encoding="utf-8")
    monkeypatch.setattr(sources, "_BLOCK_SIZE", 4096)      # dozens of blocks per file
    frame = sources.read_all(_sources([a, b]), ["Id", "Grade"])
    assert list(frame.columns) == ["Id", "Grade"] and len(frame) == 30_001
    _check(frame, _expected([a, b], ["Id", "Grade"]))


def test_a_record_longer_than_a_block_is_read_again_in_large_blocks(tmp_path, monkeypatch):
    path = tmp_path / "notes.csv"
    long_text = "word " * 5_000                           # 25 kB in one cell
    path.write_text("Id,Note\n" + "".join(f"R{i},n{i % 3}\n" for i in range(2_000)) +
                    f'R2000,"{long_text}"\n' + "".join(f"R{i},n{i % 5}\n"
                                                     for i in range(2_001, 3_000)),
                    encoding="utf-8")
    monkeypatch.setattr(sources, "_BLOCK_SIZE", 4096)
    frame = sources.read_all(_sources([path]), ["Id", "Note"])
    _check(frame, _expected([path], ["Id", "Note"]))


def test_a_bad_line_in_a_later_block_is_reported_as_before(tmp_path, monkeypatch):
    path = tmp_path / "e.csv"
    path.write_text("Id,Grade\n" + "".join(f"S{i},K\n" for i in range(5_000)) + "S9,K,extra\n",
                    encoding="utf-8")
    monkeypatch.setattr(sources, "_BLOCK_SIZE", 4096)
    with pytest.raises(Exception) as e:
        sources.read_all(_sources([path]), ["Id"])
    assert str(e.value).startswith("e.csv cannot be read as CSV (CSV parse error: Expected 2 "
                                   "columns, got 3: S9,K,extra)")


def _result(n: int, quote: bool) -> TableResult:
    rng = np.random.default_rng(5)
    texts = ["plain", "with, comma", 'a "quote"'] if quote else ["plain", "other"]
    columns = {
        "a": pd.Categorical.from_codes(rng.integers(-1, 3, n), categories=["x", "y", "z"]),
        "b": pd.Categorical.from_codes(rng.integers(-1, len(texts), n), categories=texts),
        "c": pd.Categorical.from_codes(np.full(n, -1), categories=[]),
    }
    return TableResult("t", columns, [], n, 0, 0)


@pytest.mark.parametrize("quote", [False, True])
@pytest.mark.parametrize("n", [0, 1, 10, 25])
def test_writing_in_slices_gives_the_bytes_of_one_go(tmp_path, monkeypatch, quote, n):
    res = _result(n, quote)
    _write(res, tmp_path / "whole.csv")
    import plan_metrics.importing as importing
    monkeypatch.setattr(importing, "_WRITE_ROWS", 4)
    _write(res, tmp_path / "slices.csv")
    whole = (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "slices.csv").read_bytes() == whole
    assert whole.count(b"\n") == n + 1


def test_check_data_finds_what_validate_data_finds(tmp_path):
    good = tmp_path / "good"
    shutil.copytree(TINY, good)
    assert [p.text() for p in check_data(good)] == [p.text() for p in validate_data(good)[1]]
    bad = tmp_path / "bad"
    shutil.copytree(TINY, bad)
    enr = bad / "enrollment.csv"
    lines = enr.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("2023-24,", "2023-25,", 1)   # a school year that is not one
    lines[3] = lines[3].replace(",B1,2,", ",B1,13,", 1)        # and a grade
    enr.write_text("".join(lines), encoding="utf-8")
    (bad / "notes.txt").write_text("stray", encoding="utf-8")
    tables, problems = validate_data(bad)
    assert tables is None
    found = check_data(bad)
    assert [(p.text(), p.severity, p.count) for p in found] == \
        [(p.text(), p.severity, p.count) for p in problems]
    assert sum(p.severity == "error" for p in found) >= 2
    assert any(p.severity == "warning" and p.file == "notes.txt" for p in found)
