"""Readers of profiles files: CSV, JSON Lines and JSON arrays, from a file or standard input."""

from __future__ import annotations

from ._common import BadProfile
from ._source import FORMATS, Input

__all__ = ["FORMATS", "BadProfile", "Input"]
