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
from collections import deque
from collections.abc import Iterator
from typing import IO, TextIO

from .._errors import UsageError

__all__ = ["Lines", "check_encoding"]

_BOM = codecs.BOM_UTF8
_CHUNK = 64 * 1024  # bytes of whole lines decoded at a time
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
    """Iterates the decoded lines of ``binary`` (or of ``text``, already decoded), each with
    its line ending; ``\n``, ``\r\n`` and a lone ``\r`` (old Mac Excel) all end a line.

    Lines are decoded a chunk at a time, ahead of the reader; a line that cannot be decoded
    is decoded with replacement characters and its number and reason queued in ``bad``, for
    the reader to claim with :meth:`take_bad` once it has read up to that line.
    """

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
        self.bad: deque[tuple[int, str]] = deque()  # (line number, reason), in order
        self._decoded = 0  # lines decoded so far (ahead of what the reader has read)
        self._encoding = encoding
        self._label = label
        self._lines = self._decode(binary) if binary is not None else self._plain(text)

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def take_bad(self, upto: int) -> str | None:
        """Why the first undecodable line up to line ``upto`` (1-based) could not be decoded;
        None when every line up to there could. Claims every such line."""
        bad = self.bad
        reason = None
        while bad and bad[0][0] <= upto:
            _, why = bad.popleft()
            reason = reason or why
        return reason

    def _plain(self, text: TextIO | None) -> Iterator[str]:
        assert text is not None
        yield from text

    def _decode(self, binary: IO[bytes]) -> Iterator[str]:
        encoding = self._encoding
        first = True
        while True:
            try:
                raws = binary.readlines(_CHUNK)
            except (OSError, EOFError, zlib.error) as exc:  # a broken .gz, a failing disk
                raise ValueError(
                    f"{self.name}: cannot read on after line {self._decoded}: {exc}"
                ) from None
            if not raws:
                return
            if first:
                first = False
                if encoding == "utf-8" and raws[0].startswith(_BOM):
                    raws[0] = raws[0][len(_BOM) :]
            parts = b"".join(raws).splitlines(keepends=True)
            try:
                lines = [part.decode(encoding) for part in parts]
            except UnicodeDecodeError:
                lines = [self._decode_line(self._decoded + i, p) for i, p in enumerate(parts, 1)]
            self._decoded += len(lines)
            yield from lines

    def _decode_line(self, number: int, part: bytes) -> str:
        try:
            return part.decode(self._encoding)
        except UnicodeDecodeError as exc:
            self.bad.append(
                (
                    number,
                    f"line {number} is not {self._label} text (byte 0x{part[exc.start]:02x} "
                    f"at byte {exc.start + 1} of the line): save the file as UTF-8, or name "
                    "its encoding with --encoding (cp1252 for most Excel CSVs on Windows)",
                )
            )
            return part.decode(self._encoding, errors="replace")
