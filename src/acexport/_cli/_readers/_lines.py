"""Text lines of a byte stream, each decoded on its own.

A text wrapper decodes the file in chunks ahead of the reader, so a bad byte stopped the
reader rows before the row that holds it. Decoding line by line puts the error on its row:
the line is decoded with replacement characters and :meth:`Lines.take_bad` says why, so the
reader can turn that row (only) into an invalid row. Only ASCII-compatible encodings are
accepted (UTF-8, Latin-1, cp1252, ...): a line ends at the byte ``\\n`` in all of them.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from typing import IO, TextIO

from .._errors import UsageError

__all__ = ["Lines", "check_encoding"]

_BOM = codecs.BOM_UTF8
_PROBE = "\n\r\t ,;|\"'{}[]:-_.@azAZ09"


def check_encoding(name: str) -> tuple[str, str]:
    """The codec name for ``--encoding NAME`` and how messages call it (``UTF-8``)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise UsageError(
            f"--encoding {name}: unknown encoding (try utf-8, latin-1 or cp1252)"
        ) from None
    if codec in ("utf-8", "utf-8-sig"):
        return "utf-8", "UTF-8"
    try:
        compatible = _PROBE.encode(codec) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        compatible = False
    if not compatible:
        raise UsageError(
            f"--encoding {name}: only encodings that keep ASCII as it is are read (utf-8, "
            "latin-1, cp1252, ...); convert the file to UTF-8 first"
        )
    return codec, name


class Lines:
    """Iterates the decoded lines of ``binary`` (or of ``text``, already decoded)."""

    def __init__(
        self,
        name: str,
        *,
        binary: IO[bytes] | None = None,
        text: TextIO | None = None,
        encoding: str = "utf-8",
        label: str = "UTF-8",
    ) -> None:
        self.name = name
        self.number = 0  # lines read so far
        self._bad: str | None = None
        self._encoding = encoding
        self._label = label
        self._lines = self._decode(binary) if binary is not None else self._plain(text)

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def take_bad(self) -> str | None:
        """Why a line read since the last call could not be decoded (None if all could)."""
        bad, self._bad = self._bad, None
        return bad

    def _plain(self, text: TextIO | None) -> Iterator[str]:
        assert text is not None
        for line in text:
            self.number += 1
            yield line

    def _decode(self, binary: IO[bytes]) -> Iterator[str]:
        encoding = self._encoding
        raws = iter(binary)
        while True:
            try:
                raw = next(raws)
            except StopIteration:
                return
            except (OSError, EOFError, zlib.error) as exc:  # a broken .gz, a failing disk
                raise ValueError(
                    f"{self.name}: cannot read on after line {self.number}: {exc}"
                ) from None
            self.number += 1
            if self.number == 1 and encoding == "utf-8" and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as exc:
                if self._bad is None:
                    self._bad = (
                        f"line {self.number} is not {self._label} text (byte "
                        f"0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line): save "
                        "the file as UTF-8, or name its encoding with --encoding (e.g. latin-1)"
                    )
                yield raw.decode(encoding, errors="replace")
