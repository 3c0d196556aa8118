"""FakeActiveCampaign.client() / async_client(): clients on the fake's transport and clock."""

from __future__ import annotations

import time

import pytest

from acexport import FieldMapping, SegmentExporter
from acexport._async_client import caller_of as async_caller_of
from acexport._client import caller_of
from acexport.testing import FakeActiveCampaign, VirtualClock


def test_client_runs_on_virtual_time() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(requests_per_second=5, bulk_imports_per_minute=100, clock=clock)
    fake.add_list("L")
    rows = [{"Email": f"u{i}@example.com"} for i in range(2000)]
    started = time.monotonic()
    with fake.client() as client:
        report = SegmentExporter(client, 1, FieldMapping(email="Email")).export(rows)
        http = caller_of(client).http
    assert http.is_closed
    assert report.exported == 2000
    assert clock.now() >= 8 * 0.6  # eight batches at 100 a minute, in virtual seconds
    assert time.monotonic() - started < 5  # ...and little real time
    assert fake.stats.refused_429 == 0


@pytest.mark.anyio
async def test_async_client_uses_the_fake_key_and_clock() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(api_key="my-key", clock=clock)
    async with fake.async_client(max_retries=0) as client:
        assert (await client.users.me()).id == 1
    assert async_caller_of(client).http.is_closed
