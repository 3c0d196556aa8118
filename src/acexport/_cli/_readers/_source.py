"""The profiles file (or standard input): opened, its format told, its profiles streamed.

The format comes from the extension (``.csv``, ``.jsonl``/``.ndjson``, ``.json``, each
optionally gzipped: ``.csv.gz``; ``.parquet`` with the extra ``acexport[parquet]``) or
``--format``. Everything that makes the file unusable (it
cannot be opened, the header lacks a mapped column, the first JSON Lines object lacks a
mapped key, a JSON file is not an array) is a usage error raised here, before anything is
sent.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from typing import IO, TextIO, cast

from .._errors import UsageError
from ._common import BadProfile, NumberedRow, Where
from ._csv import csv_rows
from ._json_array import JsonArray
from ._jsonl import jsonl
from ._lines import Lines, check_encoding
from ._parquet import parquet_rows

__all__ = ["FORMATS", "Input"]

FORMATS = ("csv", "jsonl", "json", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}


def _format_of(path: str) -> tuple[str | None, bool]:
    """The format told by the file's extension, and whether it is gzipped."""
    base, ext = os.path.splitext(path)
    gzipped = ext.lower() == ".gz"
    if gzipped:
        ext = os.path.splitext(base)[1]
    return _EXTENSIONS.get(ext.lower()), gzipped


class Input:
    """The open profiles file (or standard input) and the profiles streamed from it."""

    def __init__(
        self,
        path: str,
        fmt: str | None,
        columns: Sequence[str],
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        numbered: bool = False,
    ) -> None:
        codec, label = check_encoding(encoding)
        # With ``numbered``, each profile carries its row number (``--errors`` writes it).
        self._where: Where | None = Where() if numbered else None
        self._file: IO[bytes] | None = None  # the file on disk (its position is the progress)
        self._size: int | None = None
        self._binary: IO[bytes] | None = None  # what is read: the file, gunzipped or not
        self._text: TextIO | None = None  # standard input that is already text (a StringIO)
        self._wrapper: io.TextIOWrapper | None = None  # a JSON array's text, detached at end
        if path == "-":
            self.name = "standard input"
            fmt = fmt or "csv"
            if fmt == "parquet":
                raise UsageError("Parquet is not read from standard input: name the file")
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is not None:
                self._binary = buffer
            else:  # already a text stream (an io.StringIO, say)
                self._text = sys.stdin
        else:
            self.name = path
            told, gzipped = _format_of(path)
            fmt = fmt or told
            if fmt is None:
                raise UsageError(
                    f"cannot tell the format of {path} from its extension: name it .csv, "
                    ".jsonl, .ndjson or .json (optionally .gz) or .parquet, or pass --format "
                    "csv|jsonl|json|parquet"
                )
            if fmt == "parquet" and gzipped:
                raise UsageError(f"{path}: Parquet compresses itself; name the file unzipped")
            try:
                file = open(path, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
            self._file = file
            try:
                info = os.fstat(file.fileno())
            except OSError:
                info = None
            if info is not None and stat.S_ISREG(info.st_mode):
                self._size = info.st_size
            self._binary = (
                cast("IO[bytes]", gzip.GzipFile(fileobj=file, mode="rb")) if gzipped else file
            )
        self.format = fmt
        try:
            profiles = self._open(fmt, columns, codec, label, delimiter)
        except BaseException:
            self.close()
            raise
        self.profiles: Iterator[object] = (
            profiles if self._where is None else _numbered(profiles, self._where)
        )

    @property
    def header(self) -> list[str] | None:
        """A CSV's header row (only known for a numbered input), else None."""
        return self._where.header if self._where is not None else None

    def _open(
        self, fmt: str, columns: Sequence[str], codec: str, label: str, delimiter: str
    ) -> Iterator[object]:
        if fmt == "parquet":
            assert self._file is not None
            return parquet_rows(self._file, self.name, columns)
        if fmt == "json":
            if self._binary is not None:
                self._wrapper = io.TextIOWrapper(
                    self._binary,
                    encoding="utf-8-sig" if codec == "utf-8" else codec,
                    errors="surrogateescape",
                    newline="",
                )
            text = self._wrapper if self._wrapper is not None else self._text
            assert text is not None
            try:
                return iter(JsonArray(text, self.name, label, self._where))
            except (OSError, EOFError, ValueError) as exc:  # a broken .gz
                raise UsageError(f"cannot read {self.name}: {exc}") from None
        lines = Lines(self.name, binary=self._binary, text=self._text, encoding=codec, label=label)
        if fmt == "jsonl":
            return jsonl(lines, columns, self._where)
        return csv_rows(lines, columns, delimiter, self._where)

    def fraction(self) -> float | None:
        """How much of the file was read, from 0 to 1 (None for standard input)."""
        if self._file is None or not self._size:
            return None
        try:
            return min(1.0, self._file.tell() / self._size)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._file is None:  # standard input: left open
            if self._wrapper is not None:
                with contextlib.suppress(ValueError, OSError):
                    self._wrapper.detach()
                self._wrapper = None
            return
        for stream in (self._wrapper, self._binary, self._file):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()


def _numbered(profiles: Iterator[object], where: Where) -> Iterator[object]:
    """Each profile with its row number: a :class:`NumberedRow`, or a numbered BadProfile."""
    for profile in profiles:
        if isinstance(profile, BadProfile):
            profile.row = where.row
            yield profile
        else:
            row = NumberedRow(profile)  # type: ignore[call-overload]
            row.row = where.row
            yield row
