"""Concurrency against the loopback server: shared clients, limits matched, nothing lost.

The fake's limits are scaled up (rps 200, 4000 bulk imports/min) and the clients use the same
limits: the client-side limiter must keep every concurrent export under them (0 refusals).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ExportReport,
    FieldMapping,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign
from helpers import KEY

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

RPS, BULK_PM = 200, 4000
MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("load",))


@pytest.fixture
def live() -> Iterator[tuple[FakeActiveCampaign, str]]:
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PM, import_delay=0.05
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    with fake.serve() as server:
        yield fake, server.url


def _slice(k: int, n: int) -> list[dict[str, Any]]:
    return [{"Email": f"s{k}-{i}@example.com", "Name": f"S{k}", "Tier": str(k)} for i in range(n)]


def _adds_up(r: ExportReport) -> None:
    assert r.received == r.exported + r.duplicates + r.invalid + r.rejected + r.failed


def test_one_sync_client_eight_threads(live: tuple[FakeActiveCampaign, str]) -> None:
    fake, url = live
    reports: list[ExportReport] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with ActiveCampaign(
        url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PM
    ) as client:

        def work(k: int) -> None:
            try:
                report = SegmentExporter(client, 1, MAPPING, poll_interval=0.05).export(
                    _slice(k, 600)
                )
            except BaseException as exc:  # collected and re-raised in the main thread
                with lock:
                    errors.append(exc)
                return
            with lock:
                reports.append(report)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=45)
        assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(reports) == 8
    for r in reports:
        _adds_up(r)
        assert r.exported == 600
    stats = fake.stats
    assert (stats.refused_429, stats.refused_bulk_rate) == (0, 0)
    assert len(fake.contacts) == 8 * 600
    assert fake.contact_by_email("s7-599@example.com").lists == {1: 1}  # type: ignore[union-attr]


@pytest.mark.parametrize("exports", [30])
def test_many_async_exports_share_one_client(
    live: tuple[FakeActiveCampaign, str], exports: int
) -> None:
    fake, url = live
    reports: list[ExportReport] = []

    async def main() -> None:
        async with AsyncActiveCampaign(
            url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PM
        ) as client:

            async def one(k: int) -> None:
                exporter = AsyncSegmentExporter(client, 1, MAPPING, poll_interval=0.05)
                reports.append(await exporter.export(_slice(k, 120)))

            with anyio.fail_after(45):
                async with anyio.create_task_group() as tg:
                    for k in range(exports):
                        tg.start_soon(one, k)

    anyio.run(main)
    assert len(reports) == exports
    for r in reports:
        _adds_up(r)
        assert r.exported == 120
    stats = fake.stats
    assert (stats.refused_429, stats.refused_bulk_rate) == (0, 0)
    assert len(fake.contacts) == exports * 120
