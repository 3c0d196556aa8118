"""Shared helpers of the command-line tests."""

from __future__ import annotations

import csv
import re
from pathlib import Path

__all__ = [
    "KEY_ENV",
    "README_FIRST",
    "REPORT_KEYS",
    "SAMPLE",
    "SECRET",
    "SUMMARY",
    "URL_ENV",
    "clean_rows",
    "counts",
    "sandbox_export",
    "write_csv",
]


SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_segment.csv"
README_FIRST = [
    "export", str(SAMPLE), "--sandbox", "--list-id", "1", "--email", "Email",
    "--first-name", "FirstName", "--last-name", "LastName", "--phone", "Phone",
    "--field", "TIER=Tier", "--field", "BIRTHDAY=Birthday", "--tag", "sample",
]  # fmt: skip
SECRET = "SECRETKEY123"
REPORT_KEYS = {
    "list_id", "received", "exported", "duplicates", "invalid", "rejected", "failed",
    "requests", "elapsed", "dry_run", "cancelled", "errors", "unchanged", "incremental",
    "removed", "removal_errors",
    "reasons", "errors_omitted", "errors_truncated", "notes",
}  # fmt: skip
URL_ENV, KEY_ENV = "ACTIVECAMPAIGN_API_URL", "ACTIVECAMPAIGN_API_KEY"
SUMMARY = re.compile(
    r"exported (\d+) of (\d+) profiles to list 1: (?:\d+ unchanged, )?(\d+) duplicates, "
    r"(\d+) invalid, "
    r"(\d+) rejected, (\d+) failed"
)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def clean_rows(n: int) -> list[dict[str, str]]:
    return [
        {"Email": f"person{i}@example.com", "FirstName": f"P{i}", "Tier": "gold"} for i in range(n)
    ]


def sandbox_export(path: Path | str, *extra: str) -> list[str]:
    return ["export", str(path), "--sandbox", "--list-id", "1", "--email", "Email", *extra]


def counts(stdout: str) -> tuple[int, ...]:
    match = SUMMARY.search(stdout)
    assert match, stdout
    return tuple(int(g) for g in match.groups())
