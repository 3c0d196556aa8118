"""Helpers shared by the tests (importable as ``helpers``: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import httpx

from acexport import ActiveCampaign, AsyncActiveCampaign
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "SECRET-KEY-7f3a9c-do-not-log"


def make_client(fake: FakeActiveCampaign, clock: VirtualClock, **kwargs: object) -> ActiveCampaign:
    client = ActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        http_client=httpx.Client(transport=fake.transport()),
        **kwargs,  # type: ignore[arg-type]
    )
    client._set_clock(clock)
    client._sleep = clock.sleep
    return client


def make_async_client(
    fake: FakeActiveCampaign, clock: VirtualClock, **kwargs: object
) -> AsyncActiveCampaign:
    client = AsyncActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        http_client=httpx.AsyncClient(transport=fake.transport()),
        **kwargs,  # type: ignore[arg-type]
    )
    client._set_clock(clock)
    client._sleep = clock.asleep
    return client
