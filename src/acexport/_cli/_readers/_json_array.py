"""A JSON array of profiles, streamed element by element."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import TextIO

from .._errors import UsageError
from ._common import BadProfile, Where, json_kind

__all__ = ["CHUNK", "JsonArray"]

CHUNK = 64 * 1024
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_ESCAPED = re.compile("[\udc80-\udcff]")  # undecodable bytes, as surrogateescape gives them


class JsonArray:
    """Streams the elements of one top-level JSON array, one at a time, in bounded memory.

    The constructor reads up to the opening ``[`` (a file that is not an array is a usage
    error); iterating decodes each element with :meth:`json.JSONDecoder.raw_decode` over a
    buffer refilled in chunks. An element that is not an object becomes a ``BadProfile``,
    and so does one holding bytes that are not text in the file's encoding (``text`` is
    decoded with ``errors="surrogateescape"``: such bytes arrive as lone surrogates); broken
    JSON between elements raises ``ValueError`` (the export stops there).
    """

    def __init__(
        self, text: TextIO, name: str, label: str = "UTF-8", where: Where | None = None
    ) -> None:
        self._where = where or Where()
        self._text = text
        self._name = name
        self._label = label
        self._undecodable = False  # the last element held bytes that are not text
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters dropped from the front of the buffer
        self._eof = False
        first = self._peek()
        if first != "[":
            found = "nothing (the file is empty)" if not first else repr(first)
            hint = " (for one object per line use .jsonl or --format jsonl)" if first == "{" else ""
            raise UsageError(
                f"{name} is not a JSON array of objects: expected '[' first, found {found}{hint}"
            )
        self._pos += 1

    def _more(self, size: int = CHUNK) -> bool:
        try:
            data = self._text.read(size)
        except (OSError, EOFError, zlib.error) as exc:  # a broken .gz, a failing disk
            raise ValueError(f"{self._name}: cannot read on: {exc}") from None
        if not data:
            self._eof = True
            return False
        self._base += self._pos
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def _peek(self) -> str:
        """The next non-whitespace character ("" at the end of the input)."""
        while True:
            match = _WHITESPACE.match(self._buf, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _broken(self, what: str) -> ValueError:
        return ValueError(f"{self._name}: {what} at character {self._base + self._pos}")

    def _value(self) -> object:
        size = CHUNK
        while True:
            if not self._peek():
                raise self._broken("the array is not closed (no ']')")
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the buffer (or inside a long string): read more, in
                # growing chunks so that a huge element does not make this quadratic.
                cut = exc.pos >= len(self._buf) - 16 or exc.msg.startswith("Unterminated")
                if cut and self._more(size):
                    size *= 2
                    continue
                raise ValueError(
                    f"{self._name}: invalid JSON at character {self._base + exc.pos}: {exc.msg}"
                ) from None
            if end == len(self._buf) and self._more(size):
                size *= 2
                continue  # a number may go on in the next chunk
            self._undecodable = _ESCAPED.search(self._buf, self._pos, end) is not None
            self._pos = end
            return value

    def __iter__(self) -> Iterator[object]:
        if self._peek() == "]":
            return
        index = 0
        where = self._where
        while True:
            value = self._value()
            where.row = index
            if self._undecodable:
                yield BadProfile(
                    f"element {index} is not {self._label} text: save the file as UTF-8, or "
                    "name its encoding with --encoding (e.g. cp1252 or latin-1)"
                )
            elif isinstance(value, dict):
                yield value
            else:
                yield BadProfile(
                    f"element {index} is {json_kind(value)}, not a JSON object",
                    text=json.dumps(value, ensure_ascii=False),
                )
            index += 1
            after = self._peek()
            if after == ",":
                self._pos += 1
            elif after == "]":
                return
            else:
                raise self._broken(
                    "the array is not closed (no ']')"
                    if not after
                    else f"expected ',' or ']' after element {index - 1}, found {after!r}"
                )
