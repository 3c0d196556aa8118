"""JSON Lines: one profile per line.

The first object is read when the file is opened: a first line that is not a JSON object
(a CSV given ``--format jsonl``, say) or a first object without a mapped key is a usage
error, as a CSV without a mapped column is. Later lines that are not JSON objects, or not
text in the file's encoding, become invalid rows naming the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from .._errors import UsageError
from ._common import BadProfile, Where, json_kind
from ._lines import Lines

__all__ = ["jsonl"]


def jsonl(lines: Lines, columns: Sequence[str], where: Where | None = None) -> Iterator[object]:
    """Read up to the first object (checking it now) and return every profile; with
    ``where``, keep it told of each profile's line."""
    name = lines.name
    numbered = enumerate(lines, 1)
    try:
        for number, line in numbered:  # noqa: B007 - number is used after the break
            if line.strip():
                break
        else:
            raise UsageError(f"{name} is empty: JSON Lines holds one JSON object per line")
    except ValueError as exc:
        raise UsageError(f"cannot read {name}: {exc}") from None
    bad = lines.take_bad(number)
    if bad is not None:
        raise UsageError(f"{name}: {bad}")
    try:
        first = json.loads(line)
    except ValueError:
        looks_csv = not line.lstrip().startswith(("{", "["))
        hint = " (it looks like CSV: name it .csv or pass --format csv)" if looks_csv else ""
        raise UsageError(
            f"{name} is not JSON Lines: line {number} is not a JSON object{hint}"
        ) from None
    if not isinstance(first, dict):
        hint = (
            " (a JSON array: name it .json or pass --format json)"
            if line.lstrip()[0] == "["
            else ""
        )
        raise UsageError(
            f"{name} is not JSON Lines: line {number} is {json_kind(first)}, not a JSON "
            f"object{hint}"
        )
    absent = [c for c in dict.fromkeys(columns) if c not in first]
    if absent:
        keys = list(first)
        shown = ", ".join(repr(k) for k in keys[:30])
        more = f" and {len(keys) - 30} more" if len(keys) > 30 else ""
        raise UsageError(
            f"the first object in {name} (line {number}) has no key "
            f"{', '.join(repr(c) for c in absent)}; its keys are {shown or 'none'}{more}"
        )
    return _profiles(first, number, numbered, lines, where or Where())


def _profiles(
    first: dict[str, object],
    first_number: int,
    numbered: Iterator[tuple[int, str]],
    lines: Lines,
    where: Where,
) -> Iterator[object]:
    where.row = first_number
    yield first
    bad = lines.bad
    for number, line in numbered:
        if not line.strip():
            continue
        where.row = number
        if bad and bad[0][0] <= number:
            yield BadProfile(lines.take_bad(number) or "", text=line.rstrip("\r\n"))
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield BadProfile(f"line {number} is not valid JSON", text=line.rstrip("\r\n"))
            continue
        if isinstance(value, dict):
            yield value
        else:
            yield BadProfile(
                f"line {number} is {json_kind(value)}, not a JSON object",
                text=line.rstrip("\r\n"),
            )
