"""The Parquet reader (the extra ``acexport[parquet]``, pyarrow): rows streamed by record
batch, only the mapped columns, a missing column or extra said before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from acexport._cli._errors import UsageError
from acexport._cli._readers import Input

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def write_parquet(path: Path, n: int, *, row_group_size: int = 10) -> Path:
    table = pa.table(
        {
            "Email": [f"p{i}@example.com" for i in range(n)],
            "Tier": ["gold" if i % 2 else "silver" for i in range(n)],
            "Score": list(range(n)),
            "Unused": ["x"] * n,
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_rows_come_back_in_order_with_only_the_mapped_columns(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "seg.parquet", 35)
    assert pq.ParquetFile(path).num_row_groups == 4
    source = Input(str(path), None, ["Email", "Tier", "Score"])
    try:
        assert source.format == "parquet"
        rows = list(source.profiles)
        assert source.fraction() is not None
    finally:
        source.close()
    assert len(rows) == 35
    assert rows[0] == {"Email": "p0@example.com", "Tier": "silver", "Score": 0}
    assert rows[33] == {"Email": "p33@example.com", "Tier": "gold", "Score": 33}


def test_a_missing_column_is_a_usage_error_naming_the_columns(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "seg.parquet", 3)
    with pytest.raises(UsageError, match=r"has no column 'FirstName'; its columns are 'Email'"):
        Input(str(path), None, ["Email", "FirstName"])


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "seg.parquet"
    path.write_text("Email\na@example.com\n")
    with pytest.raises(UsageError, match=r"cannot read .*seg.parquet as Parquet"):
        Input(str(path), None, ["Email"])


def test_gzipped_parquet_and_standard_input_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Parquet compresses itself"):
        Input(str(tmp_path / "seg.parquet.gz"), None, ["Email"])
    with pytest.raises(UsageError, match="not read from standard input"):
        Input("-", "parquet", ["Email"])


def test_without_the_extra_the_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_parquet(tmp_path / "seg.parquet", 3)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import raises ImportError
    with pytest.raises(UsageError) as info:
        Input(str(path), None, ["Email"])
    assert "acexport[parquet]" in str(info.value)
    assert "pip install 'acexport[parquet]'" in str(info.value)
