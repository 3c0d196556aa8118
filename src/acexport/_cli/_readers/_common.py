"""What every reader shares: the marker for a profile that could not be read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["BadProfile", "NumberedRow", "UnreadableRow", "Where", "json_kind"]


class UnreadableRow(ValueError):
    """What reading a :class:`BadProfile` raises: the reason the row could not be read."""


class BadProfile(Mapping[str, Any]):
    """A profile that could not be read (a line that is not JSON, a row of undecodable bytes
    or with the wrong number of cells): any read of it raises :class:`UnreadableRow`, so the
    exporter counts the row as invalid, at its index, instead of stopping."""

    __slots__ = ("_reason", "cells", "row", "text")

    def __init__(
        self, reason: str, *, cells: list[str] | None = None, text: str | None = None
    ) -> None:
        self._reason = reason
        #: What could be read of the row, for ``--errors``: its cells (CSV) or its text.
        self.cells = cells
        self.text = text
        #: The row's number in the file (set when the input is numbered, else None).
        self.row: int | None = None

    def __getitem__(self, key: str) -> Any:
        raise UnreadableRow(self._reason)

    def get(self, key: str, default: Any = None) -> Any:
        raise UnreadableRow(self._reason)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<unreadable profile: {self._reason}>"


def json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


class NumberedRow(dict[str, Any]):
    """A profile read from the file, with its row number (``--errors`` writes it)."""

    __slots__ = ("row",)

    row: int


class Where:
    """Where a reader is: the number of the row it last yielded (CSV and JSON Lines: the line
    it starts on, from 1; a JSON array: the element's position, from 0) and a CSV's header."""

    __slots__ = ("header", "row")

    def __init__(self) -> None:
        self.row = 0
        self.header: list[str] | None = None
