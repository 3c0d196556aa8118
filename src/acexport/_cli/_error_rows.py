"""``--errors FILE``: every row not exported, written as the export goes, to fix and send again.

One line per invalid, rejected or failed row (duplicates are not errors: their email was
exported from an earlier row), as CSV or JSON Lines by the file's extension. Each holds
``acexport_row`` (the row's number in the input: the line it starts on for CSV and JSON
Lines, the element's position from 0 for a JSON array), ``acexport_kind``,
``acexport_reason``, then the row as it was read: a CSV's cells under its header, or the
JSON object's keys. Fixed, the file is an input as it is: the three ``acexport_`` columns are
not mapped, so they are ignored (and replaced, if it is exported again with ``--errors``).

The rows are written to a temporary file beside the path while the export runs (so memory
stays bounded whatever the number of errors) and renamed over the path at the end, the same
checks as ``--report`` applied before anything is sent.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any

from .._report import RowError
from ._errors import UsageError
from ._files import Reserved
from ._readers._common import BadProfile
from ._reports import plain_reason

__all__ = ["ERROR_COLUMNS", "ErrorRows"]

ERROR_COLUMNS = ("acexport_row", "acexport_kind", "acexport_reason")
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _cell(value: object) -> str:
    """A JSON value as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


class ErrorRows:
    """The ``--errors`` file: reserved now, :meth:`open` once the input's columns are known,
    :meth:`write` called with each error (``on_error``), :meth:`commit` at the end."""

    def __init__(self, path: str, input_path: str | None) -> None:
        ext = os.path.splitext(path)[1].lower()
        fmt = _FORMATS.get(ext)
        if fmt is None:
            raise UsageError(
                f"--errors {path}: name it .csv or .jsonl (the format is told by the extension)"
            )
        self.path = path
        self.format = fmt
        self.rows = 0
        self._file = Reserved("--errors", path, input_path, "errors.csv", ext)
        self._out: IO[str] | None = None
        self._csv: Any = None
        self._columns: list[str] = []

    def open(self, columns: Sequence[str]) -> None:
        """Start writing: ``columns`` are the input's (a CSV's header, or the mapped keys)."""
        out = open(  # noqa: SIM115 - closed by commit() or discard()
            self._file.fd, "w", encoding="utf-8", newline="" if self.format == "csv" else None
        )
        self._out = out
        self._columns = [c for c in dict.fromkeys(columns) if c not in ERROR_COLUMNS]
        if self.format == "csv":
            self._csv = csv.writer(out)
            self._csv.writerow([*ERROR_COLUMNS, *self._columns])

    def write(self, error: RowError) -> None:
        """Write one row not exported (the exporter's ``on_error``)."""
        out = self._out
        assert out is not None, "open() first"
        profile = error.profile
        number = getattr(profile, "row", None)
        head = (number, error.kind, plain_reason(error.kind, error.reason))
        try:
            if self._csv is not None:
                self._csv.writerow([_cell(head[0]), *head[1:], *self._cells(profile)])
            else:
                data: dict[str, Any] = dict(zip(ERROR_COLUMNS, head, strict=True))
                data.update(self._object(profile))
                out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        except OSError as exc:
            raise OSError(f"could not write --errors {self.path}: {exc.strerror or exc}") from exc
        self.rows += 1

    def _cells(self, profile: object) -> list[str]:
        if isinstance(profile, BadProfile):
            if profile.cells is not None:
                return list(profile.cells)  # as read: their number is what is wrong
            return [profile.text] if profile.text is not None else []
        if isinstance(profile, Mapping):
            return [_cell(profile.get(c)) for c in self._columns]
        return []

    def _object(self, profile: object) -> dict[str, Any]:
        if isinstance(profile, BadProfile):
            if profile.cells is not None:
                return {"acexport_cells": profile.cells}
            return {"acexport_text": profile.text} if profile.text is not None else {}
        if isinstance(profile, Mapping):
            return {k: v for k, v in profile.items() if k not in ERROR_COLUMNS}
        return {}

    def commit(self) -> None:
        """Flush, close and put the file in place (raises ``OSError`` if the disk refuses)."""
        if self._file.done:
            raise RuntimeError("the errors file was already written or discarded")
        self._file.done = True
        try:
            if self._out is None:
                os.close(self._file.fd)
            else:
                self._out.close()
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self._file.tmp)
            raise
        self._file.put()

    def discard(self) -> None:
        """Remove the temporary file (nothing once committed)."""
        if self._file.done:
            return
        if self._out is not None:
            self._file.done = True
            with contextlib.suppress(OSError):
                self._out.close()
            with contextlib.suppress(OSError):
                os.unlink(self._file.tmp)
            return
        self._file.discard()
