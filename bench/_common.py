"""Shared helpers for the benchmarks: results file, machine info, tables, profile generator."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "results.jsonl"
PLOT = ROOT / "docs" / "performance.png"

KEY = "bench-key"
SCALE = 20
RPS = 5 * SCALE  # ActiveCampaign: 5 requests/s
BULK_PER_MINUTE = 100 * SCALE  # ActiveCampaign: 100 bulk imports/min
LATENCY = 0.02
IMPORT_DELAY = 0.1
BATCH = 250


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
    }


def record(run_id: str, bench: str, **fields: Any) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "run_id": run_id,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "bench": bench,
        **fields,
        **machine(),
    }
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=False) + "\n")


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (printed to stdout and pasted into docs/performance.md)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [f"### {title}", ""]
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |")
        if n == 0:
            lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def mapping_and_ids() -> tuple[Any, dict[int | str, int]]:
    from acexport import FieldMapping

    mapping = FieldMapping(
        email="Email",
        first_name="FirstName",
        last_name="LastName",
        phone="Phone",
        fields={1: "Tier"},
        tags=("bench",),
    )
    return mapping, {1: 1}


def profiles(n: int, duplicate_fraction: float = 0.1) -> Iterator[dict[str, object]]:
    """The profiles every benchmark uses: ``acexport.testing.sample_profiles``."""
    from acexport.testing import sample_profiles

    return sample_profiles(n, duplicate_fraction=duplicate_fraction, seed=1)


def argv_python() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve().parent / "run.py")]
