"""Both clients and both exporters against the fake's real HTTP server on 127.0.0.1.

Real sockets, real time: the fake's limits are scaled up (same proportions as ActiveCampaign's,
x20) and every run is bounded by pytest-timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from acexport import (
    ActiveCampaign,
    APIConnectionError,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ExportReport,
    FieldMapping,
    ListStatus,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign, FakeServer
from helpers import KEY

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCALE = 20
RPS = 5 * SCALE
BULK_PER_MINUTE = 100 * SCALE
MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("it",))


@pytest.fixture
def fake() -> FakeActiveCampaign:
    fake = FakeActiveCampaign(
        api_key=KEY,
        requests_per_second=RPS,
        bulk_imports_per_minute=BULK_PER_MINUTE,
        import_delay=0.05,
        latency=0.002,
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    return fake


@pytest.fixture
def server(fake: FakeActiveCampaign) -> Iterator[FakeServer]:
    with fake.serve() as server:
        yield server


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"Email": f"p{i}@example.com", "Name": f"P{i}", "Tier": "gold"} for i in range(n)]


def _adds_up(r: ExportReport) -> None:
    assert r.received == r.exported + r.duplicates + r.invalid + r.rejected + r.failed


def _client(url: str, **kw: Any) -> ActiveCampaign:
    return ActiveCampaign(
        url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PER_MINUTE, **kw
    )


def test_sync_client_over_a_socket(server: FakeServer, fake: FakeActiveCampaign) -> None:
    with _client(server.url) as client:
        assert client.users.me().id == 1
        contact = client.contacts.sync("a@example.com", first_name="A", fields={1: "x"})
        client.contacts.update_list_status(contact.id, 1, ListStatus.ACTIVE)
        assert [c.id for c in client.contacts.list(list_id=1)] == [contact.id]
        assert [f.perstag for f in client.fields.list()] == ["TIER"]
    assert fake.contact_by_email("a@example.com").lists == {1: 1}  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_async_client_over_a_socket(server: FakeServer) -> None:
    async with AsyncActiveCampaign(server.url, KEY) as client:
        assert (await client.users.me()).id == 1
        assert [x.name async for x in client.lists.list()] == ["Newsletter"]


def test_sync_export_with_faults(server: FakeServer, fake: FakeActiveCampaign) -> None:
    fake.faults.queue(503, path="/api/3/import/bulk_import")
    fake.faults.queue("reset_after", path="/api/3/import/info", times=2)
    fake.faults.queue("reset_before", path="/api/3/import/bulk_import")
    fake.faults.batch_outcomes(["interrupted"])
    fake.exclude("p7@example.com")
    rows = _rows(1200)
    rows.append({"Email": "P3@EXAMPLE.com", "Name": "dup"})
    with _client(server.url) as client:
        report = SegmentExporter(client, 1, MAPPING, poll_interval=0.05).export(rows)
    _adds_up(report)
    assert (report.exported, report.duplicates, report.rejected, report.failed) == (1199, 1, 1, 0)
    assert len(fake.contacts) == 1199
    assert fake.stats.refused_429 == 0
    assert fake.stats.refused_bulk_rate == 0


@pytest.mark.anyio
async def test_async_export_with_faults(server: FakeServer, fake: FakeActiveCampaign) -> None:
    fake.faults.queue(502, path="/api/3/import/bulk_import")
    fake.faults.queue("html", path="/api/3/import/info")
    fake.faults.queue(429, path="/api/3/import/info")
    fake.reject_emails({"p10@example.com"})
    async with AsyncActiveCampaign(
        server.url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PER_MINUTE
    ) as client:
        report = await AsyncSegmentExporter(client, 1, MAPPING, poll_interval=0.05).export(
            _rows(800)
        )
    _adds_up(report)
    assert (report.exported, report.rejected) == (799, 1)
    assert report.errors[0].index == 10
    c = fake.contact_by_email("p799@example.com")
    assert c is not None
    assert (c.lists, c.tags, c.fields) == ({1: 1}, {"it"}, {1: "gold"})


def test_connection_refused_is_an_api_connection_error() -> None:
    with (
        ActiveCampaign("http://127.0.0.1:9", KEY, max_retries=1, max_retry_wait=0.5) as client,
        pytest.raises(APIConnectionError),
    ):
        client.users.me()
