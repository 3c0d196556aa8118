"""Benchmarks of the sync state (``python bench/run.py --only state``).

- unchanged: a run over N profiles that are all unchanged, against the same dry run without a
  state: CPU seconds and peak RSS, each in a fresh process; the state file's bytes per row.
- incremental: N profiles of which 1% changed, at ActiveCampaign's real limits on the fake's
  virtual clock (as ``side_by_side_real_limits``): the end-to-end time, against a full send.
- loop lag: the async exporter's event loop, watched by a task that ticks every millisecond
  during an incremental export: the longest it was kept from running.

The state is filled directly (the digests of what the exporter would send, through the
Planner) so that setting it up costs no export of N contacts through the fake.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import KEY, profiles

URL = "https://bench.api-us1.com"
ACCOUNT = URL + "/api/3"


def _mapping() -> Any:
    from acexport import FieldMapping

    return FieldMapping(
        email="Email",
        first_name="FirstName",
        last_name="LastName",
        phone="Phone",
        fields={"TIER": "Tier"},
        tags=("bench",),
    )


def _rows(n: int, changed: float = 0.0) -> Iterator[dict[str, object]]:
    """The profiles, streamed (a list of a million dicts would be most of the RSS measured);
    with ``changed``, that share of them (every k-th) has another tier than the state holds."""
    step = round(1 / changed) if changed else 0
    for i, row in enumerate(profiles(n, duplicate_fraction=0.0)):
        if step and i % step == 0:
            row["Tier"] = "changed"
        yield row


def _fake(clock: Any = None, **limits: Any) -> Any:
    from acexport.testing import FakeActiveCampaign

    fake = FakeActiveCampaign(api_key=KEY, clock=clock, lean=True, **limits)
    fake.add_list("Bench")
    fake.add_field("Tier", perstag="TIER")
    return fake


def fill_state(path: str, n: int) -> dict[str, Any]:
    """Record the N profiles as confirmed, as an export of them would have."""
    from acexport import SqliteState
    from acexport._exporter._delta import rows as stored_rows
    from acexport._exporter._pipeline import Planner

    planner = Planner(_mapping(), {"TIER": 1}, list_id=1)
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        for i, profile in enumerate(_rows(n)):
            batch = planner.feed(i, profile)
            if batch is not None:
                state.record_confirmed(stored_rows(batch))
        last = planner.close()
        if last is not None:
            state.record_confirmed(stored_rows(last))
        state.close()
    size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    return {"n": n, "bytes": size, "bytes_per_row": size / n}


def child_unchanged(n: int, path: str) -> dict[str, Any]:
    """One run in this (fresh) process: with the state at ``path``, or a dry run without one."""
    from acexport import ActiveCampaign, SegmentExporter

    fake = _fake()
    started = time.process_time()
    for _ in _rows(n):  # what generating the input costs, subtracted below
        pass
    generation = time.process_time() - started
    rss_before = _hwm_kb()
    with ActiveCampaign(URL, KEY, transport=fake.transport(), requests_per_second=None) as client:
        options: dict[str, Any] = {"state": path} if path != "-" else {"dry_run": True}
        started = time.process_time()
        report = SegmentExporter(client, 1, _mapping(), **options).export(_rows(n))
        cpu = time.process_time() - started - generation
    if path != "-":
        assert report.unchanged == n, report.summary()
    return {
        "n": n,
        "with_state": path != "-",
        "cpu_s": cpu,
        "generation_cpu_s": generation,
        "rss_before_kb": rss_before,
        "rss_peak_kb": _hwm_kb(),
        "summary": report.summary(),
    }


def _hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def incremental_real_limits(n: int, changed: float = 0.01) -> dict[str, Any]:
    """N profiles with ``changed`` of them different from the state, at the real limits."""
    from acexport import ActiveCampaign, SegmentExporter
    from acexport.testing import VirtualClock

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "state.sqlite")
        fill_state(path, n)
        clock = VirtualClock()
        fake = _fake(clock, requests_per_second=5, bulk_imports_per_minute=100, import_delay=1.0)
        rows = _rows(n, changed)
        with ActiveCampaign(
            URL, KEY, transport=fake.transport(), clock=clock, sleep=clock.sleep
        ) as client:
            wall = time.monotonic()
            report = SegmentExporter(client, 1, _mapping(), state=path).export(rows)
            wall = time.monotonic() - wall
    batches = -(-n // 250)
    return {
        "n": n,
        "changed": report.exported,
        "unchanged": report.unchanged,
        "virtual_s": clock.now(),
        "wall_s": wall,
        "requests": fake.stats.requests,
        "bulk_requests": fake.stats.bulk_requests,
        # a full send of N is N/250 bulk imports at 100 a minute (the exporter reaches 100%
        # of that budget at the real limits: tests/exporter/test_pacing.py)
        "full_send_s": batches * 60 / 100,
    }


def loop_lag(n: int, changed: float = 0.01, *, with_state: bool = True) -> dict[str, Any]:
    """The longest the async exporter kept its event loop from running a 1 ms ticker (with
    the state, or the same export without one: what the state adds is the difference)."""
    import anyio

    from acexport import AsyncActiveCampaign, AsyncSegmentExporter
    from acexport.testing import VirtualClock

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "state.sqlite")
        fill_state(path, n)
        clock = VirtualClock()
        fake = _fake(clock, requests_per_second=5, bulk_imports_per_minute=100, import_delay=1.0)
        rows = _rows(n, changed)
        gaps: list[float] = []

        async def main() -> Any:
            async with AsyncActiveCampaign(
                URL, KEY, transport=fake.transport(), clock=clock, sleep=clock.asleep
            ) as client:
                done = anyio.Event()

                async def ticker() -> None:
                    last = time.perf_counter()
                    while not done.is_set():
                        await anyio.sleep(0.001)
                        now = time.perf_counter()
                        gaps.append(now - last)
                        last = now

                async with anyio.create_task_group() as tg:
                    tg.start_soon(ticker)
                    options: dict[str, Any] = {"state": path} if with_state else {}
                    exporter = AsyncSegmentExporter(client, 1, _mapping(), **options)
                    report = await exporter.export(rows)
                    done.set()
                return report

        report = anyio.run(main)
    gaps.sort()
    return {
        "n": n,
        "with_state": with_state,
        "exported": report.exported,
        "unchanged": report.unchanged,
        "ticks": len(gaps),
        "max_gap_ms": gaps[-1] * 1000,
        "p99_gap_ms": gaps[int(len(gaps) * 0.99)] * 1000,
        "median_gap_ms": gaps[len(gaps) // 2] * 1000,
    }


if __name__ == "__main__":  # python bench/_state.py fill PATH N
    print(fill_state(sys.argv[2], int(sys.argv[3])))
