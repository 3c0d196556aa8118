"""Everything the command prints goes through :class:`Output`, which escapes control
characters: a value read from the input (an email ``"x\\rexported 12 of 12 ..."``) cannot move
the cursor, clear a line or forge a summary. Only ``\\n`` passes; the progress bar's own
``\\r`` and erase-line sequence go through :meth:`Output.control`."""

from __future__ import annotations

import re
from typing import TextIO

__all__ = ["Output", "printable"]

# C0 and C1 controls (all but \n), DEL, the Unicode line and paragraph separators and the
# bidirectional overrides and isolates (which reorder what a terminal shows).
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_NAMED = {"\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character but ``\\n`` escaped (``\\r``, ``\\x1b``)."""
    return _UNPRINTABLE.sub(_escape, text)


class Output:
    """A text stream (standard output or error) that prints only printable text."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(printable(text))

    def control(self, sequence: str) -> None:
        """Write the command's own terminal control sequence (``\\r``, ``\\x1b[K``) as is."""
        self.stream.write(sequence)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        return self.stream.fileno()
