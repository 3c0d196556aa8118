"""Fixtures shared by the client, exporter and integration tests, and the socket guard's hooks
(see tests/_socket_guard.py: outside tests marked ``integration``, real sockets fail the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import pytest

from _socket_guard import guarded
from acexport import ActiveCampaign, AsyncActiveCampaign
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_async_client, make_client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from guarded(item))


# --- fixtures --------------------------------------------------------------------------------


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
