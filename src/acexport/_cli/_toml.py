"""Reading the saved-exports file: TOML parsed (``tomllib``, or ``tomli`` before Python 3.11)
and the line of each table and key found by scanning the text, for error messages."""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the dependency tomli (same API)
    tomllib = importlib.import_module("tomli")

from .._exceptions import ConfigError

__all__ = ["Lines", "read_toml"]

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _dotted(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` -> ``("a", "b.c", "d")``."""
    parts = re.findall(r"""\s*("[^"]*"|'[^']*'|[^.\s]+)\s*(?:\.|$)""", text)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


class Lines:
    """Where each table and key of the file is, by its dotted path (best effort: a key inside
    an inline table or a multi-line value is found at its table's line)."""

    def __init__(self, text: str) -> None:
        self._at: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header is not None:
                table = _dotted(header.group(1))
                self._at.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key is not None:
                self._at.setdefault((*table, *_dotted(key.group(1))), number)

    def of(self, *path: str) -> int | None:
        """The line of ``path``: where it is, else where the first table inside it is (a
        table declared only through its subtables), else its nearest enclosing table."""
        if not path:
            return None
        line = self._at.get(tuple(path))
        if line is not None:
            return line
        inside = [n for p, n in self._at.items() if p[: len(path)] == tuple(path)]
        if inside:
            return min(inside)
        return self.of(*path[:-1])


def read_toml(path: str) -> tuple[dict[str, Any], Lines]:
    """The parsed file and its lines; a file that cannot be read or parsed is a ConfigError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the saved-exports file: {exc.strerror or exc} (name another "
            "with --config FILE)"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return data, Lines(text)
