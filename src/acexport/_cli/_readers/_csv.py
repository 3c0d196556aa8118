"""CSV: a header row naming the columns, then one profile per row.

A row whose cells do not match the header (too few, too many) or whose bytes are not text
in the file's encoding becomes an invalid row with that reason; the rows around it are read
as usual. A blank line is skipped. Cells may be of any length (not csv's 131,072 characters).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .._errors import UsageError
from ._common import BadProfile, Where
from ._lines import Lines

__all__ = ["csv_rows"]

if TYPE_CHECKING:
    from _csv import Reader as _Reader

_FIELD_LIMIT = 2**31 - 1  # the largest a C long holds everywhere
_OTHER_DELIMITERS = (";", ",", "\t", "|")


def csv_rows(
    lines: Lines, columns: Sequence[str], delimiter: str = ",", where: Where | None = None
) -> Iterator[object]:
    """Read the header (now: a missing column is a usage error) and return the rows; with
    ``where``, keep it told of the header and of each row's first line."""
    name = lines.name
    csv.field_size_limit(_FIELD_LIMIT)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader, None)
    except (csv.Error, ValueError) as exc:
        raise UsageError(f"cannot read {name}: {exc}") from None
    bad = lines.take_bad(reader.line_num)
    if bad is not None:
        raise UsageError(f"{name}: the header row cannot be read: {bad}")
    if not header:
        raise UsageError(f"{name} is empty: a CSV needs a header row naming the columns")
    absent = [c for c in dict.fromkeys(columns) if c not in header]
    if absent:
        shown = ", ".join(repr(h) for h in header[:30])
        more = f" and {len(header) - 30} more" if len(header) > 30 else ""
        hint = ""
        if len(header) == 1:
            other = next((d for d in _OTHER_DELIMITERS if d in header[0]), None)
            if other is not None and other != delimiter:
                hint = f" (the header looks {other!r}-separated: pass --delimiter {other!r})"
        raise UsageError(
            f"{name} has no column {', '.join(repr(c) for c in absent)}; "
            f"its columns are {shown}{more}{hint}"
        )
    if where is None:
        return _rows(reader, lines, header)
    where.header = header
    return _numbered_rows(reader, lines, header, where)


def _rows(reader: _Reader, lines: Lines, header: list[str]) -> Iterator[object]:
    width = len(header)
    bad = lines.bad
    try:
        for row in reader:
            if bad and bad[0][0] <= reader.line_num:
                yield BadProfile(lines.take_bad(reader.line_num) or "", cells=row)
            elif len(row) == width:
                yield dict(zip(header, row, strict=False))  # same length: checked above
            elif row:
                yield BadProfile(_width_reason(reader.line_num, len(row), width), cells=row)
    except csv.Error as exc:
        raise ValueError(f"{lines.name}, line {reader.line_num}: {exc}") from None


def _numbered_rows(
    reader: _Reader, lines: Lines, header: list[str], where: Where
) -> Iterator[object]:
    """As :func:`_rows`, telling ``where`` the line each row starts on."""
    width = len(header)
    bad = lines.bad
    start = reader.line_num + 1
    try:
        for row in reader:
            where.row = start
            start = reader.line_num + 1
            if bad and bad[0][0] <= reader.line_num:
                yield BadProfile(lines.take_bad(reader.line_num) or "", cells=row)
            elif len(row) == width:
                yield dict(zip(header, row, strict=False))  # same length: checked above
            elif row:
                yield BadProfile(_width_reason(reader.line_num, len(row), width), cells=row)
    except csv.Error as exc:
        raise ValueError(f"{lines.name}, line {reader.line_num}: {exc}") from None


def _width_reason(line: int, cells: int, width: int) -> str:
    return (
        f"line {line} has {cells} cells, the header has {width}: a missing or extra "
        "delimiter, or a quote left open"
    )
