"""Batches that fail by chance are absorbed: a 20,000-profile export under 15% failed or
interrupted batches loses no row (before splitting, seed 11 lost 250)."""

from __future__ import annotations

import random

from acexport import FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock


def test_fifteen_percent_failed_batches_lose_no_row() -> None:
    seed = 11  # a run that failed 250 rows when batches were only resubmitted whole
    clock = VirtualClock()
    fake = FakeActiveCampaign("k", clock=clock, import_delay=1.0, seed=seed)
    fake.add_list("L")
    rng = random.Random(seed)
    outcomes = []
    for _ in range(2000):
        roll = rng.random()
        outcomes.append("failed" if roll < 0.075 else "interrupted" if roll < 0.15 else "completed")
    fake.faults.batch_outcomes(outcomes, applied_fraction=0.5)
    with fake.client() as client:
        report = SegmentExporter(client, 1, FieldMapping(email="e")).export(
            {"e": f"u{i}@example.com"} for i in range(20_000)
        )
    assert (report.exported, report.failed) == (20_000, 0)
    assert len(fake.contacts) == 20_000
    assert fake.stats.bulk_requests < 80 * 1.5  # 80 batches, resubmits and halves
