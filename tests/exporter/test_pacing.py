"""Pacing at ActiveCampaign's real limits, on virtual time (no real waiting).

Polls and submissions share the account's 5 requests/s: however slowly ActiveCampaign
processes batches, polls must never crowd out submissions, and the export must end within
the bulk-import floor plus the last batch's processing.

The async exporter runs on one thread, so on a :class:`VirtualClock` its run is deterministic;
so is the sync exporter with one worker thread. With several worker threads (the sync
default), the driver's loop waits for answers in real time while a worker's wait for its
rate-limit slot takes no real time at all: in virtual time the loop may see a poll's due time
up to one bulk-import slot late. That is an artefact of the virtual clock (in real time the
loop wakes when the poll is due), so that variant is allowed one slot of lateness per poll of
the last batch, and its timing is not compared exactly.
"""

from __future__ import annotations

import attrs
import pytest

from acexport import AsyncSegmentExporter, FieldMapping, SegmentExporter
from acexport._exporter._schedule import Scheduler
from acexport.testing import FakeActiveCampaign, VirtualClock

BATCHES = 40
FIRST_POLL = 1.0  # ActiveCampaign answers `status: false` for about a second
BULK_SLOT = 60 / 100  # 100 bulk imports a minute


def polls_to_see(seconds: float) -> int:
    """How many polls the Scheduler's default cadence makes of one batch before one lands
    ``seconds`` or more after its submission (as ``Scheduler.polled`` spaces them)."""
    defaults = attrs.fields(Scheduler)
    interval, longest = defaults.poll_interval.default, defaults.max_poll_interval.default
    at, polls = defaults.first_poll.default, 1
    while at < seconds:
        at += min(longest, interval * (1 + polls // 5))
        polls += 1
    return polls


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "concurrency"), [("sync", 1), ("sync", 4), ("async", 1), ("async", 4)]
)
@pytest.mark.parametrize("processing", [0.0, 10.0, 50.0])
async def test_bulk_budget_is_used_whatever_the_processing_time(
    processing: float, mode: str, concurrency: int
) -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(
        requests_per_second=5,
        bulk_imports_per_minute=100,
        import_delay=1.0,
        import_seconds_per_contact=processing / 250,
        clock=clock,
    )
    fake.add_list("L")
    rows = [{"Email": f"u{i}@example.com"} for i in range(BATCHES * 250)]
    mapping = FieldMapping(email="Email")
    if mode == "sync":
        with fake.client() as client:
            exporter = SegmentExporter(client, 1, mapping, concurrency=concurrency)
            report = exporter.export(rows)
    else:
        async with fake.async_client() as aclient:
            aexporter = AsyncSegmentExporter(aclient, 1, mapping, concurrency=concurrency)
            report = await aexporter.export(rows)
    assert report.exported == len(rows)
    submitted = sorted(b.submitted_at for b in fake.batches.values())
    assert len(submitted) == BATCHES
    share = (BATCHES - 1) * BULK_SLOT / (submitted[-1] - submitted[0])
    assert share >= 0.99
    floor = BATCHES * BULK_SLOT + 1.0 + processing
    bound = floor + FIRST_POLL + 0.2 * processing + 2.0
    if mode == "sync" and concurrency > 1:
        bound += BULK_SLOT * polls_to_see(FIRST_POLL + processing)
    assert clock.now() <= bound
    assert fake.stats.refused_429 == fake.stats.refused_bulk_rate == 0


def test_polls_to_see_follows_the_scheduler_cadence() -> None:
    # 1, 3, 5, 7, 9, then every 4 s: 13.
    assert [polls_to_see(s) for s in (0.5, 1.0, 9.0, 9.5, 13.0)] == [1, 1, 5, 6, 6]
