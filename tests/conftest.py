"""Fixtures shared by the client, exporter and integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from acexport import ActiveCampaign, AsyncActiveCampaign
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_async_client, make_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> FakeActiveCampaign:
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=5, bulk_imports_per_minute=100, clock=clock
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date")
    return fake


@pytest.fixture
def client(fake: FakeActiveCampaign, clock: VirtualClock) -> Iterator[ActiveCampaign]:
    c = make_client(fake, clock)
    yield c
    c.close()


@pytest.fixture
async def aclient(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> AsyncIterator[AsyncActiveCampaign]:
    c = make_async_client(fake, clock)
    yield c
    await c.close()
