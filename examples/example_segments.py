"""A ``python:`` source for examples/acexport.toml: a function called with no arguments that
returns profiles (any iterable, or an async iterable). A real one would query a warehouse."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

_SAMPLE = Path(__file__).with_name("sample_segment.csv")


def vip() -> Iterator[dict[str, str]]:
    """The platinum and gold customers of the sample file."""
    with _SAMPLE.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["Tier"] in ("platinum", "gold"):
                yield {"email": row["Email"], "name": row["FirstName"], "tier": row["Tier"]}
