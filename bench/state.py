"""Benchmark of the sync state store: ``python bench/state.py [--rows N] [--dir DIR]``.

Fills a fresh SqliteState with N confirmed contacts (emails like
``firstname.lastname1234@example.com``, written in random order), then measures what the
exporter will do with it: look up digests in chunks of 1,000 (rows/s), record and settle
batches of 250 (batches/s, each two durable transactions), the file size per row, and the
time to open (with its integrity check), summarise and forget one person. Prints a Markdown
table; CPU seconds are shown next to wall seconds since a busy machine inflates the latter.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from acexport import SqliteState, StoredRow

ACCOUNT = "https://acct.api-us1.com/api/3"
FIRST = (
    "alexandre charlotte benjamin margaux guillaume camille antoine mathilde sebastien "
    "juliette christophe pauline maximilien eleonore francois"
)
LAST = (
    "lefebvre rousseau fontaine chevalier mercier garnier lambert bonnet girard dupont "
    "lemaire morel fournier roussel"
)


def emails(n: int) -> list[str]:
    first, last = FIRST.split(), LAST.split()
    pairs = len(first) * len(last)
    out = [
        f"{first[i % len(first)]}.{last[(i // len(first)) % len(last)]}{1000 + i // pairs}"
        "@example.com"
        for i in range(n)
    ]
    random.Random(0).shuffle(out)
    return out


def digest(email: str, version: str = "") -> bytes:
    return hashlib.blake2b(f"{email}|{version}".encode(), digest_size=16).digest()


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=100, help="batch cycles to time")
    parser.add_argument("--dir", default=None, help="where to put the file (default: a temp dir)")
    args = parser.parse_args()
    n = args.rows
    addresses = emails(n)
    rows: list[list[Any]] = []

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "state.db"

        def fill() -> None:
            with SqliteState(path) as store:
                state = store.open_list(ACCOUNT, 1, write=True)
                for chunk in chunks(addresses, 50_000):
                    state.record_confirmed([StoredRow(e, digest(e)) for e in chunk])

        wall, cpu, _ = timed(fill)
        rows.append(["fill (record_confirmed, 50,000 per call)", n, wall, cpu, n / wall])
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        bytes_per_row = size / n

        def open_state() -> tuple[SqliteState, Any]:
            store = SqliteState(path)
            return store, store.open_list(ACCOUNT, 1, write=True)

        wall, cpu, (store, state) = timed(open_state)
        rows.append(["open for writing (with quick_check)", n, wall, cpu, None])

        lookups = addresses[:]
        random.Random(1).shuffle(lookups)

        def lookup() -> int:
            return sum(len(state.confirmed(chunk)) for chunk in chunks(lookups, 1_000))

        for label in ("confirmed, chunks of 1,000 (first pass)", "confirmed (second pass)"):
            wall, cpu, found = timed(lookup)
            assert found == n, found
            rows.append([label, n, wall, cpu, n / wall])

        def cycle() -> None:
            for b in range(args.batches):
                batch = addresses[b * 250 : (b + 1) * 250]
                state.record_batch(f"bench-{b}", [StoredRow(e, digest(e, "v2")) for e in batch])
                state.settle_batch(f"bench-{b}", batch[:240])

        wall, cpu, _ = timed(cycle)
        cycled = 250 * args.batches
        rows.append(
            [
                f"record_batch + settle_batch x{args.batches} (250 rows)",
                cycled,
                wall,
                cpu,
                cycled / wall,
            ]
        )
        wall, cpu, _ = timed(store.summaries)
        rows.append(["summaries", n, wall, cpu, None])
        wall, cpu, removed = timed(lambda: store.forget(addresses[0]))
        assert removed == 1
        rows.append(["forget one person", n, wall, cpu, None])
        store.close()

    print(
        f"SqliteState in {args.dir or tempfile.gettempdir()}, {n:,} confirmed rows, SQLite "
        f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n"
    )
    print("| step | rows | wall s | CPU s | rows/s (wall) |")
    print("|---|---:|---:|---:|---:|")
    for label, count, wall, cpu, rate in rows:
        shown = "" if rate is None else f"{rate:,.0f}"
        print(f"| {label} | {count:,} | {wall:.2f} | {cpu:.2f} | {shown} |")
    print(
        f"\nfile size: {size:,} bytes = {bytes_per_row:.1f} bytes per confirmed row "
        f"(emails average {sum(map(len, addresses)) / n:.1f} characters)"
    )


if __name__ == "__main__":
    main()
