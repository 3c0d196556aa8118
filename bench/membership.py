"""Requests and virtual time of taking leavers off a list (docs/performance.md, membership).

Run: ``PYTHONPATH=src python bench/membership.py`` (about 10 s). Through the fake at
ActiveCampaign's limits (5 requests/s, 100 bulk imports/min) on a virtual clock: export N
profiles with a state, then export an empty segment with ``on_leave`` (``max_leave=1.0``).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from acexport import ActiveCampaign, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "bench-key"


def _account() -> tuple[VirtualClock, FakeActiveCampaign, ActiveCampaign]:
    clock = VirtualClock()
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=5, bulk_imports_per_minute=100, clock=clock
    )
    fake.add_list("L")
    client = ActiveCampaign(
        "https://acct.api-us1.com", KEY, transport=fake.transport(), clock=clock, sleep=clock.sleep
    )
    return clock, fake, client


def _rows(n: int) -> list[dict[str, str]]:
    return [{"Email": f"p{i}@example.com"} for i in range(n)]


def measure(on_leave: str, leavers: int, tags: tuple[str, ...], folder: Path) -> str:
    clock, fake, client = _account()
    mapping = FieldMapping(email="Email", tags=tags)
    state = folder / f"{on_leave}-{leavers}-{len(tags)}.sqlite"
    with client:
        SegmentExporter(client, 1, mapping, state=state).export(_rows(leavers))
        bulk, requests, start, wall = (
            fake.stats.bulk_requests,
            fake.stats.requests,
            clock(),
            time.perf_counter(),
        )
        report = SegmentExporter(
            client, 1, mapping, state=state, on_leave=on_leave, max_leave=1.0
        ).export([])
    made = fake.stats.requests - requests
    return (
        f"| {on_leave} | {len(tags)} | {report.removed:,} | {fake.stats.bulk_requests - bulk} "
        f"| {math.ceil(leavers / 250) if on_leave == 'unsubscribe' else '-'} "
        f"| {made:,} | {made / leavers:.3f} "
        f"| {clock() - start:.1f} | {time.perf_counter() - wall:.2f} |"
    )


def main() -> None:
    print(
        "| on_leave | tags | removed | bulk imports | ceil(n/250) | requests | per leaver "
        "| virtual s | wall s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        print(measure("unsubscribe", 10_000, (), Path(folder)))
        print(measure("untag", 1_000, ("seg",), Path(folder)))
        print(measure("untag", 1_000, ("seg", "seg2"), Path(folder)))


if __name__ == "__main__":
    main()
