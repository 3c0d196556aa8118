"""Helpers shared by the tests (importable as ``helpers``: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from acexport import ActiveCampaign, AsyncActiveCampaign
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "SECRET-KEY-7f3a9c-do-not-log"


def make_client(fake: FakeActiveCampaign, clock: VirtualClock, **kwargs: object) -> ActiveCampaign:
    return ActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        transport=fake.transport(),
        clock=clock,
        **{"sleep": clock.sleep, **kwargs},  # type: ignore[arg-type]
    )


def make_async_client(
    fake: FakeActiveCampaign, clock: VirtualClock, **kwargs: object
) -> AsyncActiveCampaign:
    return AsyncActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        transport=fake.transport(),
        clock=clock,
        **{"sleep": clock.asleep, **kwargs},  # type: ignore[arg-type]
    )
