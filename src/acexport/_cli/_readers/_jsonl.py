"""JSON Lines: one profile per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

from ._common import BadProfile, json_kind, not_utf8

__all__ = ["jsonl"]


def jsonl(text: TextIO, name: str) -> Iterator[object]:
    try:
        yield from _jsonl_lines(text)
    except UnicodeDecodeError:
        raise not_utf8(name) from None


def _jsonl_lines(text: TextIO) -> Iterator[object]:
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield BadProfile(f"line {number} is not valid JSON")
            continue
        if isinstance(value, dict):
            yield value
        else:
            yield BadProfile(f"line {number} is {json_kind(value)}, not a JSON object")
