"""Fault injection through the in-process transport (sync and async httpx clients)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from acexport.testing import FakeActiveCampaign, Fault, VirtualClock

KEY = "k"
SYNC = {"contact": {"email": "a@example.com"}}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> FakeActiveCampaign:
    return FakeActiveCampaign(KEY, clock=clock, import_delay=1.0)


@pytest.fixture
def client(fake: FakeActiveCampaign) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    ) as client:
        yield client


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_faults_are_not_applied(
    fake: FakeActiveCampaign, client: httpx.Client, status: int
) -> None:
    fake.faults.queue(status, path="/api/3/contact/sync")
    response = client.post("/contact/sync", json=SYNC)
    assert response.status_code == status
    assert "message" in response.json()
    assert fake.contacts == []
    assert client.post("/contact/sync", json=SYNC).status_code == 201  # used up
    assert fake.stats.faults == {str(status): 1}


def test_429_fault_has_retry_after(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue(429)
    response = client.get("/users/me")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert fake.stats.refused_429 == 0  # injected, not the bucket


def test_path_method_and_times_matching(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue(503, path="/api/3/contacts", method="get", times=2)
    assert client.get("/users/me").status_code == 200
    assert client.post("/contacts", json=SYNC).status_code == 201  # method differs
    cid = fake.contacts[0].id
    assert client.get(f"/contacts/{cid}").status_code == 503  # prefix of the path
    assert fake.faults.pending == 1
    assert client.get("/contacts").status_code == 503
    assert client.get("/contacts").status_code == 200
    assert fake.faults.pending == 0


def test_reset_before_is_connect_error_and_not_applied(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    fake.faults.queue("reset_before")
    with pytest.raises(httpx.ConnectError):
        client.post("/contact/sync", json=SYNC)
    assert fake.contacts == []


def test_reset_after_is_read_error_but_applied(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    fake.faults.queue("reset_after")
    with pytest.raises(httpx.ReadError):
        client.post("/contact/sync", json=SYNC)
    assert fake.contact_by_email("a@example.com") is not None
    assert fake.stats.faults == {"reset_after": 1}


def test_html_and_truncated(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue("html")
    fake.faults.queue("truncated")
    html = client.get("/users/me")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert b"<html" in html.content
    truncated = client.get("/users/me")
    assert truncated.status_code == 200
    assert truncated.content == b'{"contact": {"id"'
    with pytest.raises(json.JSONDecodeError):
        truncated.json()


def test_bulk_rate_only_hits_bulk_import(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue("bulk_rate")
    assert client.get("/users/me").status_code == 200  # not matched, not used up
    response = client.post("/import/bulk_import", json={"contacts": [{"email": "a@example.com"}]})
    assert response.status_code == 400
    assert response.json()["message"] == "Rate limit exceeded."
    assert fake.batches == {}


def test_info_false(fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock) -> None:
    batch_id = client.post(
        "/import/bulk_import", json={"contacts": [{"email": "a@example.com"}]}
    ).json()["batchId"]
    clock.advance(5)
    fake.faults.queue("info_false")
    params = {"batchId": batch_id}
    assert client.get("/import/info", params=params).json()["status"] is False
    assert client.get("/import/info", params=params).json()["status"] == "completed"


def test_slow_is_ignored_on_a_virtual_clock_in_transport_mode(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    fake.faults.slow_seconds = 5
    fake.faults.queue("slow")
    started = time.monotonic()
    assert client.get("/users/me").status_code == 200
    assert time.monotonic() - started < 1
    assert fake.stats.faults == {"slow": 1}


def test_slow_and_latency_sleep_on_the_real_clock() -> None:
    fake = FakeActiveCampaign(KEY, latency=0.02)
    fake.faults.slow_seconds = 0.03
    fake.faults.queue("slow")
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    ) as client:
        started = time.monotonic()
        assert client.get("/users/me").status_code == 200
    assert time.monotonic() - started >= 0.05


def test_probabilistic_rates_are_seeded(clock: VirtualClock) -> None:
    def run(seed: int) -> list[int]:
        fake = FakeActiveCampaign(KEY, clock=clock, seed=seed)
        rates: dict[Fault, float] = {"503": 0.3, 500: 0.2}  # names or codes
        fake.faults.set_rates(rates)
        with httpx.Client(
            transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
        ) as client:
            return [client.get("/users/me").status_code for _ in range(200)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 < first.count(503) < 90
    assert 15 < first.count(500) < 70


def test_rates_limited_to_paths(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.set_rates({"reset_before": 1.0}, paths=["/api/3/import"])
    assert client.get("/users/me").status_code == 200
    with pytest.raises(httpx.ConnectError):
        client.get("/import/info", params={"batchId": "x"})
    fake.faults.set_rates({})
    assert client.get("/import/info", params={"batchId": "x"}).status_code == 404


def test_scripted_faults_win_over_rates(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.set_rates({"503": 1.0})
    fake.faults.queue(502)
    assert client.get("/users/me").status_code == 502
    assert client.get("/users/me").status_code == 503
    fake.faults.clear()
    assert client.get("/users/me").status_code == 200


@pytest.mark.parametrize("bad", [200, 600, "nope", True])
def test_unknown_faults_are_refused(fake: FakeActiveCampaign, bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        fake.faults.queue(bad)  # type: ignore[arg-type]


def test_bad_knobs_are_refused(fake: FakeActiveCampaign) -> None:
    with pytest.raises(ValueError, match="sum"):
        fake.faults.set_rates({"503": 0.7, "500": 0.5})
    with pytest.raises(ValueError, match="outcome"):
        fake.faults.batch_outcomes(["exploded"])
    with pytest.raises(ValueError, match="times"):
        fake.faults.queue(503, times=0)


def test_async_client_with_the_sync_handler(fake: FakeActiveCampaign) -> None:
    fake.faults.queue("reset_after", path="/api/3/contact/sync")

    async def main() -> tuple[int, int]:
        async with httpx.AsyncClient(
            transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
        ) as client:
            with pytest.raises(httpx.ReadError):
                await client.post("/contact/sync", json=SYNC)
            again = await client.post("/contact/sync", json=SYNC)
            me = await client.get("/users/me")
            return again.status_code, me.status_code

    assert asyncio.run(main()) == (200, 200)  # the reset request was applied: now an update


def test_virtual_clock_asleep_advances() -> None:
    clock = VirtualClock(5)

    async def main() -> None:
        await clock.asleep(2.5)

    asyncio.run(main())
    assert clock() == 7.5
    clock.sleep(-1)
    assert clock.now() == 7.5
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)
