"""End-to-end benchmarks against the loopback fake (``acexport.testing``), limits scaled 20x."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _common import BULK_PER_MINUTE, IMPORT_DELAY, KEY, LATENCY, RPS, profiles

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    FieldMapping,
    ListStatus,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign

# No tags: the per-contact path would need a third request per contact for them.
MAPPING = FieldMapping(
    email="Email",
    first_name="FirstName",
    last_name="LastName",
    phone="Phone",
    fields={"TIER": "Tier"},
)


def new_fake() -> tuple[FakeActiveCampaign, int, int]:
    fake = FakeActiveCampaign(
        api_key=KEY,
        requests_per_second=RPS,
        bulk_imports_per_minute=BULK_PER_MINUTE,
        latency=LATENCY,
        import_delay=IMPORT_DELAY,
    )
    list_id = fake.add_list("Bench")
    field_id = fake.add_field("Tier", perstag="TIER")
    return fake, list_id, field_id


def _batch_timeline(fake: FakeActiveCampaign, t0: float) -> dict[str, Any]:
    batches = sorted(fake.batches.values(), key=lambda b: b.submitted_at)
    return {
        "submitted": [round(b.submitted_at - t0, 4) for b in batches],
        "finished": [round(b.finishes_at - t0, 4) for b in batches],
        "contacts": [b.contacts for b in batches],
    }


def _summary(
    kind: str, n: int, report: Any, fake: FakeActiveCampaign, t0: float, wall: float
) -> dict[str, Any]:
    tl = _batch_timeline(fake, t0)
    sub = tl["submitted"]
    nb = len(sub)
    span = sub[-1] - sub[0] if nb > 1 else 0.0
    achieved_per_min = (nb - 1) / span * 60 if span > 0 else float("nan")
    last = max(fake.batches.values(), key=lambda b: b.submitted_at)
    last_processing = last.finishes_at - last.submitted_at
    floor = nb * 60 / BULK_PER_MINUTE + last_processing
    st = fake.stats
    return {
        "exporter": kind,
        "n": n,
        "exported": report.exported,
        "duplicates": report.duplicates,
        "batches": nb,
        "wall_s": wall,
        "submit_span_s": span,
        "batches_per_min": achieved_per_min,
        "budget_share": achieved_per_min / BULK_PER_MINUTE,
        "floor_s": floor,
        "wall_over_floor": wall / floor,
        "requests": st.requests,
        "report_requests": report.requests,
        "refused_429": st.refused_429,
        "refused_bulk_rate": st.refused_bulk_rate,
        "refusals": st.refused_429 + st.refused_bulk_rate,
        "timeline": tl,
    }


def export_sync(
    n: int, rows: list[dict[str, object]] | None = None, poll: float = 0.1
) -> dict[str, Any]:
    fake, list_id, _ = new_fake()
    rows = rows if rows is not None else list(profiles(n))
    with (
        fake.serve() as server,
        ActiveCampaign(
            server.url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PER_MINUTE
        ) as client,
    ):
        exporter = SegmentExporter(client, list_id, MAPPING, poll_interval=poll)
        t0 = time.monotonic()
        report = exporter.export(rows)
        wall = time.monotonic() - t0
    return _summary("SegmentExporter", n, report, fake, t0, wall)


def export_async(n: int, poll: float = 0.1) -> dict[str, Any]:
    fake, list_id, _ = new_fake()
    rows = list(profiles(n))

    async def main() -> tuple[Any, float, float]:
        async with AsyncActiveCampaign(
            server.url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PER_MINUTE
        ) as client:
            exporter = AsyncSegmentExporter(client, list_id, MAPPING, poll_interval=poll)
            t0 = time.monotonic()
            report = await exporter.export(rows)
            return report, t0, time.monotonic() - t0

    with fake.serve() as server:
        report, t0, wall = asyncio.run(main())
    return _summary("AsyncSegmentExporter", n, report, fake, t0, wall)


def side_by_side(n: int, time_budget: float) -> dict[str, Any]:
    rows = list(profiles(n, duplicate_fraction=0.0))
    # Per contact: contact/sync + contactLists for each profile, same client limits and retries.
    fake, list_id, field_id = new_fake()
    landed: list[float] = []
    with (
        fake.serve() as server,
        ActiveCampaign(
            server.url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PER_MINUTE
        ) as client,
    ):
        t0 = time.monotonic()
        deadline = t0 + time_budget
        for p in rows:
            if time.monotonic() > deadline:
                break
            c = client.contacts.sync(
                str(p["Email"]),
                first_name=str(p["FirstName"]),
                last_name=str(p["LastName"]),
                phone=str(p["Phone"]),
                fields={field_id: str(p["Tier"])},
            )
            client.contacts.update_list_status(c.id, list_id, ListStatus.ACTIVE)
            landed.append(time.monotonic() - t0)
        per_wall = time.monotonic() - t0
    done = len(landed)
    per = {
        "path": "per contact",
        "n": n,
        "done": done,
        "wall_s": per_wall,
        "wall_s_for_n": per_wall * n / done if done else float("nan"),
        "requests": fake.stats.requests,
        "requests_for_n": fake.stats.requests * n / done if done else float("nan"),
        "refusals": fake.stats.refused_429 + fake.stats.refused_bulk_rate,
        "landed": [round(t, 4) for t in landed],
    }
    bulk = export_sync(n, rows=rows)
    return {"per_contact": per, "exporter": bulk}


def side_by_side_real_limits(n: int) -> dict[str, Any]:
    """Both paths at ActiveCampaign's real limits (5 requests/s, 100 bulk imports/min), on the
    fake's virtual clock: the same client code, its rate limiter and waits, with no real
    waiting, so hours of per-contact sending take seconds to measure. No latency is modelled
    (virtual time only advances while the client waits for its limits)."""
    from acexport.testing import VirtualClock

    rows = list(profiles(n, duplicate_fraction=0.0))
    results: dict[str, Any] = {}
    for path in ("per contact", "exporter"):
        clock = VirtualClock()
        fake = FakeActiveCampaign(
            api_key=KEY,
            requests_per_second=5,
            bulk_imports_per_minute=100,
            import_delay=1.0,
            clock=clock,
        )
        list_id = fake.add_list("Bench")
        field_id = fake.add_field("Tier", perstag="TIER")
        with fake.client() as client:
            if path == "exporter":
                report = SegmentExporter(client, list_id, MAPPING).export(rows)
                assert report.exported == n
            else:
                for p in rows:
                    c = client.contacts.sync(
                        str(p["Email"]),
                        first_name=str(p["FirstName"]),
                        last_name=str(p["LastName"]),
                        phone=str(p["Phone"]),
                        fields={field_id: str(p["Tier"])},
                    )
                    client.contacts.update_list_status(c.id, list_id, ListStatus.ACTIVE)
        results[path] = {
            "virtual_s": clock.now(),
            "requests": fake.stats.requests,
            "refusals": fake.stats.refused_429 + fake.stats.refused_bulk_rate,
        }
    return results
