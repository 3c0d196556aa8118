"""Parquet files, through the optional extra ``acexport[parquet]`` (pyarrow).

The file is read one record batch at a time (``ParquetFile.iter_batches``: row group by row
group, only the mapped columns), so memory stays bounded by a row group, whatever the file's
size. A missing extra, a file that is not Parquet or a schema without a mapped column is a
usage error raised here, before anything is sent.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

from .._errors import UsageError

__all__ = ["EXTRA_HINT", "parquet_rows"]

EXTRA_HINT = "pip install 'acexport[parquet]'"
_BATCH_ROWS = 2048


def _pyarrow_parquet(name: str) -> Any:
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise UsageError(
            f"{name} is a Parquet file: reading it needs the optional extra acexport[parquet] "
            f"(pyarrow): {EXTRA_HINT}"
        ) from None


def parquet_rows(file: IO[bytes], name: str, columns: Sequence[str]) -> Iterator[object]:
    """Check the schema now (a missing column is a usage error) and return the rows."""
    pq = _pyarrow_parquet(name)
    try:
        parquet = pq.ParquetFile(file)
        names = list(parquet.schema_arrow.names)
    except Exception as exc:  # pyarrow's ArrowInvalid, OSError: not a Parquet file
        raise UsageError(f"cannot read {name} as Parquet: {exc}") from None
    absent = [c for c in dict.fromkeys(columns) if c not in names]
    if absent:
        shown = ", ".join(repr(n) for n in names[:30])
        more = f" and {len(names) - 30} more" if len(names) > 30 else ""
        raise UsageError(
            f"{name} has no column {', '.join(repr(c) for c in absent)}; its columns are "
            f"{shown}{more}"
        )
    wanted = list(dict.fromkeys(columns)) or None
    return _rows(parquet, wanted)


def _rows(parquet: Any, wanted: list[str] | None) -> Iterator[object]:
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=wanted):
        yield from batch.to_pylist()
