"""assert_type checks of the public API: type-checked by ``nox -s typecheck``, never run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
from typing_extensions import assert_type

from acexport import (
    ActiveCampaign,
    APIConnectionError,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    BulkContact,
    BulkImportInfo,
    Contact,
    ContactList,
    ContactTag,
    CustomField,
    ExportError,
    ExportReport,
    FieldMapping,
    ListMembership,
    ListState,
    ListStatus,
    ListSummary,
    OpenBatch,
    RateLimitError,
    RemovalError,
    RowError,
    SegmentExporter,
    SqliteState,
    StateStore,
    StoredRow,
    Tag,
    User,
)
from acexport.testing import VirtualClock


def sync_client(client: ActiveCampaign) -> None:
    assert_type(client.users.me(), User)
    assert_type(client.lists.list(), Iterator[ContactList])
    assert_type(client.lists.get(1), ContactList)
    assert_type(client.contacts.sync("a@b.co", fields={1: "x"}), Contact)
    assert_type(client.contacts.find_by_email("a@b.co"), Contact | None)
    assert_type(client.contacts.list(list_id=1, status=ListStatus.ACTIVE), Iterator[Contact])
    assert_type(client.contacts.update_list_status(1, 2, ListStatus.ACTIVE), ListMembership)
    assert_type(client.contacts.list_memberships(1), Sequence[ListMembership])
    assert_type(client.contacts.add_tag(1, 2), ContactTag)
    assert_type(client.contacts.delete(1), None)
    assert_type(client.fields.list(), Iterator[CustomField])
    assert_type(client.tags.list(search="x"), Iterator[Tag])
    assert_type(client.tags.create("x"), Tag)
    assert_type(client.imports.bulk([BulkContact("a@b.co")]), str)
    assert_type(client.imports.info("id"), BulkImportInfo)
    assert_type(client.requests_made, int)
    assert_type(client.contacts.update_list_status(1, 2, ListStatus.ACTIVE).id, int | None)
    assert_type(client.contacts.add_tag(1, 2).id, int | None)


def connection_error(error: APIConnectionError) -> None:
    assert_type(error.recoverable, bool)


async def async_client(client: AsyncActiveCampaign) -> None:
    assert_type(await client.users.me(), User)
    assert_type(client.lists.list(), AsyncIterator[ContactList])
    assert_type(await client.contacts.sync("a@b.co"), Contact)
    assert_type(await client.contacts.find_by_email("a@b.co"), Contact | None)
    assert_type(client.contacts.list(), AsyncIterator[Contact])
    assert_type(await client.imports.bulk([BulkContact("a@b.co")]), str)
    assert_type(await client.imports.info("id"), BulkImportInfo)


def exporters(client: ActiveCampaign, aclient: AsyncActiveCampaign) -> None:
    mapping = FieldMapping(email="Email", first_name=lambda p: "x", fields={"TIER": "Tier"})
    report = SegmentExporter(client, 1, mapping, dry_run=True).export([{"Email": "a@b.co"}])
    assert_type(report, ExportReport)
    assert_type(report.errors, tuple[RowError, ...])
    assert_type(report.ok, bool)
    assert_type(report.reasons, Mapping[str, int])
    assert_type(report.errors_omitted, int)
    assert_type(report.errors_truncated, bool)
    assert_type(report.top_reasons(3), list[tuple[str, int]])
    assert_type(report.errors[0].profile, object)
    exporter = AsyncSegmentExporter(aclient, 1, mapping, on_error=print)
    assert_type(exporter.report, ExportReport | None)
    incremental = SegmentExporter(client, 1, mapping, state="state.sqlite", full_refresh=True)
    assert_type(incremental.export([]).unchanged, int)
    SegmentExporter(client, 1, mapping, state=SqliteState("s.sqlite"))
    SegmentExporter(client, 1, mapping, dry_run="yes")  # type: ignore[arg-type]
    SegmentExporter(aclient, 1, mapping)  # type: ignore[arg-type]

    keyed = FieldMapping(email="Email", key="CustomerId", tags=("vip",))
    left = SegmentExporter(client, 1, keyed, state="s.db", on_leave="untag", max_leave=0.2)
    assert_type(left.export([]).removed, int)
    assert_type(left.export([]).removal_errors, tuple[RemovalError, ...])
    assert_type(left.export([]).removal_failed, int)


def client_time(transport: httpx.MockTransport) -> None:
    clock = VirtualClock()
    ActiveCampaign("https://a.example.com", "k", clock=clock, sleep=clock.sleep)
    AsyncActiveCampaign("https://a.example.com", "k", clock=clock, sleep=clock.asleep)
    ActiveCampaign("https://a.example.com", "k", transport=transport)
    AsyncActiveCampaign("https://a.example.com", "k", sleep=clock.sleep)  # type: ignore[arg-type]


def errors(exc: RateLimitError, exp: ExportError) -> None:
    assert_type(exc.retry_after, float | None)
    assert_type(exc.status_code, int)
    assert_type(exc.errors, tuple[str, ...])
    assert_type(exp.report, ExportReport)


def state(path: Path) -> None:
    store: StateStore = SqliteState(path)
    assert_type(store.location, str)
    lst = store.open_list("https://acct.api-us1.com/api/3", 1, write=True)
    assert_type(lst, ListState)
    assert_type(lst.confirmed(["a@b.co"]), dict[str, bytes])
    assert_type(lst.open_batches(), list[OpenBatch])
    lst.record_batch("1", [StoredRow("a@b.co", bytes(16))])
    lst.settle_batch("1", {"a@b.co"})
    assert_type(store.summaries(), list[ListSummary])
    assert_type(store.forget("a@b.co"), int)
    with SqliteState(str(path)) as sqlite_store:
        assert_type(sqlite_store, SqliteState)
