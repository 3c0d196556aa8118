"""The state's membership reads, SQLite vs PostgreSQL: ``python bench/state_membership.py
[--rows N] [--dsn DSN]``.

Fills each store with N confirmed contacts that carry a customer key, then times what a run
with ``on_leave`` / ``FieldMapping(key=...)`` asks of it: one walk over every tracked contact,
1,000 a ``tracked()`` page (the exporter walks twice: counting leavers, then collecting them),
and ``emails_of_keys()`` for 100,000 keys, 250 a call (one planned batch). Without ``--dsn``
it starts a throwaway server on 127.0.0.1 (tests/state/pgserver.py, default settings).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "state"))

from acexport import PostgresState, SqliteState, StoredRow  # noqa: E402
from acexport._state import StateStore  # noqa: E402

ACCOUNT = "https://acct.api-us1.com/api/3"
PAGE = 1_000
KEYS_PER_CALL = 250


def measure(name: str, store: StateStore, n: int) -> None:
    with store:
        state = store.open_list(ACCOUNT, 1, write=True)
        start = time.perf_counter()
        for first in range(0, n, 10_000):
            state.record_confirmed(
                [
                    StoredRow(
                        f"person{i:08d}@example.com",
                        hashlib.blake2b(str(i).encode(), digest_size=16).digest(),
                        key=f"cust-{i}",
                    )
                    for i in range(first, min(n, first + 10_000))
                ]
            )
        fill = time.perf_counter() - start

        start, cpu = time.perf_counter(), time.process_time()
        seen, after = 0, ""
        while page := state.tracked(after, PAGE):
            seen += len(page)
            after = page[-1].email
        walk, walk_cpu = time.perf_counter() - start, time.process_time() - cpu
        if seen != n:
            raise SystemExit(f"{name}: the walk saw {seen:,} contacts of {n:,}")

        asked = min(n, 100_000)
        start, cpu = time.perf_counter(), time.process_time()
        found = 0
        for first in range(0, asked, KEYS_PER_CALL):
            keys = [f"cust-{i}" for i in range(first, min(asked, first + KEYS_PER_CALL))]
            found += len(state.emails_of_keys(keys))
        keys_wall, keys_cpu = time.perf_counter() - start, time.process_time() - cpu
        if found != asked:
            raise SystemExit(f"{name}: emails_of_keys found {found:,} of {asked:,}")
    print(
        f"{name:10} fill {fill:6.1f} s | tracked walk of {n:,}: {walk:5.2f} s ({walk_cpu:.2f} s "
        f"CPU) | emails_of_keys {asked:,} keys: {keys_wall:5.2f} s ({keys_cpu:.2f} s CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dsn", default=None, help="an existing server (default: a throwaway one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", SqliteState(Path(tmp) / "state.db"), args.rows)
    if args.dsn is not None:
        measure("PostgreSQL", PostgresState(args.dsn, schema="bench_membership"), args.rows)
        return
    from pgserver import Cluster, find_bindir, missing_reason

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(missing_reason())
    cluster = Cluster(bindir)
    try:
        measure("PostgreSQL", PostgresState(cluster.dsn, schema="bench_membership"), args.rows)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
