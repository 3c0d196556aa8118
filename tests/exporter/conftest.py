"""The ``exporting`` fixture: every exporter scenario runs through both exporters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import MODES, Exporting


@pytest.fixture(params=MODES)
async def exporting(
    request: pytest.FixtureRequest, fake: FakeActiveCampaign, clock: VirtualClock
) -> AsyncIterator[Exporting]:
    """An :class:`Exporting` in mode ``sync`` and in mode ``async`` (the test runs twice)."""
    runner = Exporting(request.param, fake, clock)
    yield runner
    await runner.aclose()
