"""CSV: a header row naming the columns, then one profile per row."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from ._common import not_utf8

__all__ = ["csv_rows"]


def csv_rows(reader: csv.DictReader[str], name: str) -> Iterator[object]:
    try:
        yield from reader
    except csv.Error as exc:
        raise ValueError(f"{name}, line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError:
        raise not_utf8(name) from None
