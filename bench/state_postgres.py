"""PostgreSQL state vs SQLite state: ``python bench/state_postgres.py [--rows N] [--dsn DSN]``.

The unchanged check of an incremental export is ``ListState.confirmed()`` over every profile,
250 emails a call (one planned batch). This fills an SqliteState and a PostgresState with the
same N confirmed contacts, then, in a fresh process for each store (so that its peak RSS is
the check's alone), looks up all N digests in a shuffled order, 250 a call, and reports wall
and CPU seconds, the PostgreSQL/SQLite ratio and each process's peak RSS. It also times
reading every row with scan_confirmed (what the exporter does instead when the list state can
hand its rows over), record_batch + settle_batch cycles of 250 contacts (two durable
transactions each), and the bytes each store takes per row.

Without ``--dsn`` it starts a throwaway server on 127.0.0.1 (tests/state/pgserver.py, with
fsync on: the default settings), so the server is on loopback, as the target says.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "state"))

from acexport import PostgresState, SqliteState, StoredRow  # noqa: E402
from acexport._state import StateStore  # noqa: E402

ACCOUNT = "https://acct.api-us1.com/api/3"
CHUNK = 250
_STRIDE = 1_000_003  # a prime: i -> i * STRIDE mod n visits every row once, shuffled


def email(i: int) -> str:
    return f"firstname.lastname{i}@example-{i % 97}.com"


def digest(i: int) -> bytes:
    return hashlib.blake2b(str(i).encode(), digest_size=16).digest()


def shuffled(n: int) -> Iterator[int]:
    stride = _STRIDE if n % _STRIDE else 7_919
    return ((i * stride) % n for i in range(n))


def store(kind: str, target: str) -> StateStore:
    return SqliteState(target) if kind == "sqlite" else PostgresState(target)


def peak_rss_mb() -> float:
    """This process's peak RSS. (getrusage's ru_maxrss would include the parent's peak up to
    the fork: Linux carries it across exec.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fill(kind: str, target: str, n: int) -> float:
    started = time.perf_counter()
    with store(kind, target) as s:
        state = s.open_list(ACCOUNT, 1, write=True)
        order = list(shuffled(n))
        for start in range(0, n, 10_000):
            state.record_confirmed(
                [StoredRow(email(i), digest(i)) for i in order[start : start + 10_000]]
            )
    return time.perf_counter() - started


def lookup(kind: str, target: str, n: int) -> dict[str, Any]:
    """Runs in its own process: every digest, CHUNK emails a call, shuffled."""
    with store(kind, target) as s:
        state = s.open_list(ACCOUNT, 1, write=False)
        state.confirmed([email(0)])  # connect / open before the clock starts
        wall, cpu = time.perf_counter(), time.process_time()
        found = 0
        ids = shuffled(n)
        while True:
            chunk = [email(i) for _, i in zip(range(CHUNK), ids, strict=False)]
            if not chunk:
                break
            found += len(state.confirmed(chunk))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert found == n, (found, n)
    rss = peak_rss_mb()
    return {"store": kind, "rows": n, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss}


def scan(kind: str, target: str, n: int) -> dict[str, Any]:
    """Runs in its own process: every confirmed row through scan_confirmed (10,000 a chunk)."""
    with store(kind, target) as s:
        state = s.open_list(ACCOUNT, 1, write=False)
        state.confirmed([email(0)])
        wall = time.perf_counter()
        rows = sum(len(chunk) for chunk in state.scan_confirmed())  # type: ignore[attr-defined]
        wall = time.perf_counter() - wall
    assert rows == n, (rows, n)
    return {"scan_s": wall, "scan_rss_mb": peak_rss_mb()}


def size(kind: str, target: str) -> int:
    """Bytes the state takes: the file, or the schema's tables with their indexes."""
    if kind == "sqlite":
        return sum(p.stat().st_size for p in Path(target).parent.iterdir())
    import psycopg

    dsn, schema = target.split("#", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def cycles(kind: str, target: str, count: int) -> float:
    """Seconds per record_batch + settle_batch of CHUNK contacts."""
    with store(kind, target) as s:
        state = s.open_list(ACCOUNT, 2, write=True)
        started = time.perf_counter()
        for b in range(count):
            rows = [StoredRow(email(b * CHUNK + i), digest(i)) for i in range(CHUNK)]
            state.record_batch(f"batch-{b}", rows)
            state.settle_batch(f"batch-{b}", [r.email for r in rows])
        return (time.perf_counter() - started) / count


def child(kind: str, target: str, n: int, what: str = "--lookup") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, what, kind, "--target", target, "--rows", str(n)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=100, help="batch cycles to time")
    parser.add_argument("--dsn", default=None, help="an existing server (default: a throwaway one)")
    parser.add_argument("--lookup", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--scan", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookup:
        print(json.dumps(lookup(args.lookup, args.target, args.rows)))
        return
    if args.scan:
        print(json.dumps(scan(args.scan, args.target, args.rows)))
        return

    cluster = None
    dsn = args.dsn
    if dsn is None:
        from pgserver import Cluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            sys.exit("no PostgreSQL server programs found: give --dsn, or install postgresql")
        cluster = Cluster(bindir, durable=True)
        dsn = cluster.dsn
    schema = f"bench_{int(time.time())}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            targets = {"sqlite": str(Path(tmp) / "state.db"), "postgres": f"{dsn}#{schema}"}
            results = {}
            for kind, target in targets.items():
                filled = fill(kind, target, args.rows)
                result = child(kind, target, args.rows)
                result["fill_s"] = filled
                result.update(child(kind, target, args.rows, "--scan"))
                result["bytes_per_row"] = size(kind, target) / args.rows
                result["batch_cycle_ms"] = cycles(kind, target, args.batches) * 1000
                results[kind] = result
            ratio = results["postgres"]["wall_s"] / results["sqlite"]["wall_s"]
            print(
                f"| store | fill {args.rows:,} rows | check {args.rows:,} rows, {CHUNK} a call: "
                "wall (CPU) | per second | peak RSS | scan all (peak RSS) | batch of 250 "
                "recorded+settled | bytes a row |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for kind, r in results.items():
                print(
                    f"| {kind} | {r['fill_s']:.1f} s | {r['wall_s']:.2f} s ({r['cpu_s']:.2f} s) | "
                    f"{r['rows'] / r['wall_s']:,.0f} | {r['peak_rss_mb']:.0f} MB | "
                    f"{r['scan_s']:.2f} s ({r['scan_rss_mb']:.0f} MB) | "
                    f"{r['batch_cycle_ms']:.1f} ms | {r['bytes_per_row']:.0f} |"
                )
            print(f"\nPostgreSQL / SQLite check time: {ratio:.2f}x (target: at most 3x)")
            if args.dsn is not None:  # leave nothing behind on a server that stays
                import psycopg

                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
