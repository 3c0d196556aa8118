"""Pacing at ActiveCampaign's real limits, on virtual time (deterministic, no real waiting).

Polls and submissions share the account's 5 requests/s: however slowly ActiveCampaign
processes batches, polls must never crowd out submissions, and the export must end within
the bulk-import floor plus the last batch's processing.
"""

from __future__ import annotations

import pytest

from acexport import AsyncSegmentExporter, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import MODES

BATCHES = 40
FIRST_POLL = 1.0  # ActiveCampaign answers `status: false` for about a second


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("processing", [0.0, 10.0, 50.0])
async def test_bulk_budget_is_used_whatever_the_processing_time(
    processing: float, mode: str
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
            report = SegmentExporter(client, 1, mapping).export(rows)
    else:
        async with fake.async_client() as aclient:
            report = await AsyncSegmentExporter(aclient, 1, mapping).export(rows)
    assert report.exported == len(rows)
    submitted = sorted(b.submitted_at for b in fake.batches.values())
    assert len(submitted) == BATCHES
    share = (BATCHES - 1) * 0.6 / (submitted[-1] - submitted[0])
    assert share >= 0.99
    floor = BATCHES * 0.6 + 1.0 + processing
    assert clock.now() <= floor + FIRST_POLL + 0.2 * processing + 2.0
    assert fake.stats.refused_429 == fake.stats.refused_bulk_rate == 0
