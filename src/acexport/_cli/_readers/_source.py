"""The profiles file (or standard input): opened, its format told, its profiles streamed."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from typing import IO, TextIO

from .._errors import UsageError
from ._common import not_utf8
from ._csv import csv_rows
from ._json_array import JsonArray
from ._jsonl import jsonl

__all__ = ["FORMATS", "Input"]

FORMATS = ("csv", "jsonl", "json")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class Input:
    """The open profiles file (or standard input) and the profiles streamed from it."""

    def __init__(self, path: str, fmt: str | None, columns: Sequence[str]) -> None:
        self._binary: IO[bytes] | None = None
        self._size: int | None = None
        self._wrapper: io.TextIOWrapper | None = None  # over stdin's buffer, detached at the end
        self._text: TextIO
        if path == "-":
            self.name = "standard input"
            fmt = fmt or "csv"
            stdin = sys.stdin
            buffer = getattr(stdin, "buffer", None)
            if buffer is not None:
                self._wrapper = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
                self._text = self._wrapper
            else:  # already a text stream (an io.StringIO, say)
                self._text = stdin
        else:
            self.name = path
            if fmt is None:
                fmt = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
                if fmt is None:
                    raise UsageError(
                        f"cannot tell the format of {path} from its extension: name it .csv, "
                        ".jsonl, .ndjson or .json, or pass --format csv|jsonl|json"
                    )
            try:
                binary = open(path, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
            self._binary = binary
            try:
                info = os.fstat(binary.fileno())
            except OSError:
                info = None
            if info is not None and stat.S_ISREG(info.st_mode):
                self._size = info.st_size
            self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        self.format = fmt
        try:
            self.profiles = self._open(fmt, columns)
        except BaseException:
            self.close()
            raise

    def _open(self, fmt: str, columns: Sequence[str]) -> Iterator[object]:
        try:
            if fmt == "jsonl":
                return jsonl(self._text, self.name)
            if fmt == "json":
                return iter(JsonArray(self._text, self.name))
            reader = csv.DictReader(self._text)
            header = reader.fieldnames
        except UnicodeDecodeError:
            raise UsageError(str(not_utf8(self.name))) from None
        except (OSError, ValueError, csv.Error) as exc:
            raise UsageError(f"cannot read {self.name}: {exc}") from None
        if not header:
            raise UsageError(f"{self.name} is empty: a CSV needs a header row naming the columns")
        absent = [c for c in dict.fromkeys(columns) if c not in header]
        if absent:
            shown = ", ".join(repr(h) for h in header[:30])
            more = f" and {len(header) - 30} more" if len(header) > 30 else ""
            raise UsageError(
                f"{self.name} has no column {', '.join(repr(c) for c in absent)}; "
                f"its columns are {shown}{more}"
            )
        return csv_rows(reader, self.name)

    def fraction(self) -> float | None:
        """How much of the file was read, from 0 to 1 (None for standard input)."""
        if self._binary is None or not self._size:
            return None
        try:
            return min(1.0, self._binary.tell() / self._size)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._wrapper is not None:
            with contextlib.suppress(ValueError, OSError):
                self._wrapper.detach()  # leaves standard input open
            self._wrapper = None
        elif self._binary is not None:
            self._text.close()
