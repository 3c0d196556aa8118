"""Helpers shared by the tests (importable as ``helpers``: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from typing import Any

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ExportReport,
    FieldMapping,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "SECRET-KEY-7f3a9c-do-not-log"


def make_client(
    fake: FakeActiveCampaign, clock: VirtualClock, key: str = KEY, **kwargs: object
) -> ActiveCampaign:
    return ActiveCampaign(
        "https://acct.api-us1.com",
        key,
        transport=fake.transport(),
        clock=clock,
        **{"sleep": clock.sleep, **kwargs},  # type: ignore[arg-type]
    )


def make_async_client(
    fake: FakeActiveCampaign, clock: VirtualClock, key: str = KEY, **kwargs: object
) -> AsyncActiveCampaign:
    return AsyncActiveCampaign(
        "https://acct.api-us1.com",
        key,
        transport=fake.transport(),
        clock=clock,
        **{"sleep": clock.asleep, **kwargs},  # type: ignore[arg-type]
    )


MODES = ("sync", "async")


class Exporting:
    """One export scenario, run through ``SegmentExporter`` (``mode="sync"``) or
    ``AsyncSegmentExporter`` (``mode="async"``) on a client of ``fake`` and ``clock``.

    Tests are ``async def`` (anyio's plugin) and ``await exporting.export(...)`` either way: in
    sync mode the sync exporter runs to the end inside the coroutine (nothing else runs on the
    event loop meanwhile), in async mode the async one is awaited.
    """

    def __init__(
        self, mode: str, fake: FakeActiveCampaign, clock: VirtualClock, **client_kwargs: object
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.client: ActiveCampaign | AsyncActiveCampaign = (
            make_client(fake, clock, **client_kwargs)
            if mode == "sync"
            else make_async_client(fake, clock, **client_kwargs)
        )

    def exporter(
        self, list_id: int, mapping: FieldMapping, **kwargs: Any
    ) -> SegmentExporter | AsyncSegmentExporter:
        if isinstance(self.client, ActiveCampaign):
            return SegmentExporter(self.client, list_id, mapping, **kwargs)
        return AsyncSegmentExporter(self.client, list_id, mapping, **kwargs)

    async def run(
        self, exporter: SegmentExporter | AsyncSegmentExporter, profiles: Any
    ) -> ExportReport:
        """``exporter.export(profiles)``, awaited if the exporter is the async one."""
        if isinstance(exporter, SegmentExporter):
            return exporter.export(profiles)
        return await exporter.export(profiles)

    async def export(
        self, profiles: Any, mapping: FieldMapping, *, list_id: int = 1, **kwargs: Any
    ) -> ExportReport:
        """A new exporter's ``export(profiles)``; ``kwargs`` are the exporter's options."""
        return await self.run(self.exporter(list_id, mapping, **kwargs), profiles)

    async def aclose(self) -> None:
        if isinstance(self.client, ActiveCampaign):
            self.client.close()
        else:
            await self.client.close()
