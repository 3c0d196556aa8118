"""Incremental exports and resume, through the fake (sync and async, virtual time).

Every rule of docs/state.md: a contact exactly as the state confirmed it is not sent again
(``unchanged``); what changed goes in full batches; rows not exported are not recorded; a
full refresh sends everything; a dry run reads the state and writes nothing; a run settles the
batches an earlier run left open before it sends; two writers are refused; a state that fails
mid-run ends the export with a report that adds up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from acexport import (
    AsyncSegmentExporter,
    ConfigError,
    ExportError,
    ExportReport,
    FieldMapping,
    SegmentExporter,
    SqliteState,
    StateError,
    StateStore,
)
from acexport._state import ListState, ListSummary, OpenBatch, StoredRow
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_async_client, make_client

MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"})
ACCOUNT = "https://acct.api-us1.com/api/3"  # the helpers' clients


def profiles(n: int, *, tier: str = "gold", start: int = 0) -> list[dict[str, Any]]:
    return [
        {"Email": f"p{i}@example.com", "Name": f"P{i}", "Tier": tier}
        for i in range(start, start + n)
    ]


Run = Callable[..., ExportReport]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, fake: FakeActiveCampaign, clock: VirtualClock) -> Run:
    """Export through SegmentExporter or AsyncSegmentExporter (the same scenario each)."""

    def sync(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        with make_client(fake, clock) as client:
            return SegmentExporter(client, 1, mapping, **options).export(rows)

    def asynchronous(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        async def main() -> ExportReport:
            async with make_async_client(fake, clock) as client:
                return await AsyncSegmentExporter(client, 1, mapping, **options).export(rows)

        return anyio.run(main)

    return sync if request.param == "sync" else asynchronous


def adds_up(report: ExportReport) -> None:
    assert report.received == (
        report.exported
        + report.unchanged
        + report.duplicates
        + report.invalid
        + report.rejected
        + report.failed
    )
    assert len(report.errors) == report.invalid + report.rejected + report.failed


def test_a_second_run_sends_nothing_that_did_not_change(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "state" / "vip.sqlite"  # its folder is created
    first = run(profiles(1000), state=state)
    assert (first.exported, first.unchanged, first.incremental) == (1000, 0, True)
    sent = fake.stats.bulk_requests
    second = run(profiles(1000), state=state)
    adds_up(second)
    assert (second.exported, second.unchanged) == (0, 1000)
    assert fake.stats.bulk_requests == sent  # nothing was submitted
    assert "1000 unchanged" in second.summary()
    assert "unchanged" in second._repr_html_()
    assert oct(state.stat().st_mode & 0o777) == "0o600"


def test_what_changed_goes_again_in_full_batches(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(1000), state=state)
    before = (fake.stats.bulk_requests, fake.stats.bulk_contacts)
    rows = profiles(1000)
    for row in rows[::3]:  # 334 changed, spread over every planned batch
        row["Tier"] = "silver"
    report = run(rows, state=state)
    adds_up(report)
    assert (report.exported, report.unchanged) == (334, 666)
    # 334 changed rows in two bulk imports (250 + 84), not one per planned batch of 250
    assert fake.stats.bulk_requests - before[0] == 2
    assert fake.stats.bulk_contacts - before[1] == 334
    contact = fake.contact_by_email("p3@example.com")
    assert contact is not None
    assert "silver" in contact.fields.values()


def test_spaces_and_case_of_the_key_do_not_make_a_row_changed(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(50), state=state)
    rows = profiles(50)
    for row in rows:
        row["Email"] = f"  {row['Email']}\t"
    report = run(rows, state=state)
    assert (report.exported, report.unchanged) == (0, 50)


def test_a_changed_mapping_sends_everything_again(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(50), state=state)
    tagged = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("vip",))
    report = run(profiles(50), tagged, state=state)
    assert (report.exported, report.unchanged) == (50, 0)
    assert run(profiles(50), tagged, state=state).unchanged == 50


def test_a_few_changed_rows_take_the_contact_endpoints(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(300), state=state)
    bulk = fake.stats.bulk_requests
    rows = profiles(300)
    rows[7]["Name"] = "Renamed"
    report = run(rows, state=state)
    assert (report.exported, report.unchanged) == (1, 299)
    assert fake.stats.bulk_requests == bulk  # under 10 contacts: contact/sync, not bulk
    contact = fake.contact_by_email("p7@example.com")
    assert contact is not None
    assert contact.first_name == "Renamed"
    # ... and the small path records what it confirmed, too
    assert run(rows, state=state).unchanged == 300


def test_rows_not_exported_are_not_recorded(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    fake.exclude("p5@example.com")  # ActiveCampaign refuses it in the batch
    rows = [*profiles(40), {"Email": "not-an-email", "Name": "x", "Tier": "t"}]
    first = run(rows, state=state)
    assert (first.exported, first.rejected, first.invalid) == (39, 1, 1)
    second = run(rows, state=state)
    adds_up(second)
    # the refused and the invalid rows are tried again; the rest are unchanged (the one
    # refused row goes alone, so by contact/sync, which the fake's exclusion list allows)
    assert (second.unchanged, second.exported + second.rejected, second.invalid) == (39, 1, 1)


def test_full_refresh_sends_everything_and_records_it(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(300), state=state)
    contacts = fake.stats.bulk_contacts
    report = run(profiles(300), state=state, full_refresh=True)
    assert (report.exported, report.unchanged) == (300, 0)
    assert fake.stats.bulk_contacts - contacts == 300
    assert run(profiles(300), state=state).unchanged == 300


def test_a_dry_run_reads_the_state_and_writes_nothing(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(300), state=state)
    with SqliteState(state) as store:
        before = store.summaries()
    requests = fake.stats.bulk_requests
    rows = profiles(300)
    rows[0]["Tier"] = "bronze"
    report = run([*rows, *profiles(20, start=300)], state=state, dry_run=True)
    assert (report.exported, report.unchanged, report.dry_run) == (21, 299, True)
    assert fake.stats.bulk_requests == requests
    with SqliteState(state) as store:
        assert store.summaries() == before  # not even the run was recorded


def test_a_dry_run_on_a_missing_state_leaves_nothing_behind(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "new" / "s.sqlite"
    report = run(profiles(30), state=state, dry_run=True)
    assert (report.exported, report.unchanged) == (30, 0)
    assert not state.exists()


def test_a_run_settles_the_batches_an_earlier_run_left_open(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    """The first run's batches never finish in time (its process is gone, or it gave up):
    they stay open in the state; the next run polls them, and does not send their rows."""
    state = tmp_path / "s.sqlite"
    fake.faults.queue("info_false", path="/api/3/import/info", times=1_000_000)
    first = run(profiles(500), state=state, settle_timeout=5.0)
    assert first.failed == 500  # not confirmed in time: failed in this run's report
    with SqliteState(state) as store:
        assert len(store.open_list(ACCOUNT, 1, write=False).open_batches()) == 2
    fake.faults.clear()
    submitted = fake.stats.bulk_requests
    second = run(profiles(500), state=state)
    adds_up(second)
    assert (second.exported, second.unchanged) == (0, 500)
    assert fake.stats.bulk_requests == submitted  # polled, not resubmitted
    with SqliteState(state) as store:
        (summary,) = store.summaries()
    assert (summary.confirmed, summary.open_batches) == (500, 0)


def test_a_second_writer_is_refused_at_once(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with SqliteState(state) as store:
        store.open_list(ACCOUNT, 1, write=True)  # held until the store closes
        with pytest.raises(ConfigError, match=str(state)):
            run(profiles(20), state=state)
        # a dry run needs no lock
        assert run(profiles(20), state=state, dry_run=True).exported == 20


def test_a_file_that_is_not_a_state_is_refused_untouched(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    state.write_bytes(b"name,email\nada,ada@example.com\n")
    with pytest.raises(ConfigError, match=str(state)):
        run(profiles(20), state=state)
    assert state.read_bytes() == b"name,email\nada,ada@example.com\n"


class _FailingStore:
    """A StateStore whose writes start failing after ``good`` of them (a disk filling up)."""

    def __init__(self, inner: SqliteState, good: int) -> None:
        self.inner, self.good = inner, good

    @property
    def location(self) -> str:
        return self.inner.location

    def open_list(self, account: str, list_id: int, *, write: bool) -> ListState:
        return _FailingList(self.inner.open_list(account, list_id, write=write), self)

    def summaries(self) -> list[ListSummary]:
        return self.inner.summaries()

    def forget(self, email: str) -> int:
        return self.inner.forget(email)

    def close(self) -> None:
        self.inner.close()


class _FailingList:
    def __init__(self, inner: ListState, store: _FailingStore) -> None:
        self.inner, self.store = inner, store

    def _write(self) -> None:
        self.store.good -= 1
        if self.store.good < 0:
            raise StateError("disk full (simulated)")

    def confirmed(self, emails: Sequence[str]) -> dict[str, bytes]:
        return self.inner.confirmed(emails)

    def open_batches(self) -> list[OpenBatch]:
        return self.inner.open_batches()

    def record_batch(self, batch_id: str, rows: Sequence[StoredRow]) -> None:
        self._write()
        self.inner.record_batch(batch_id, rows)

    def settle_batch(self, batch_id: str, confirmed: Any) -> None:
        self._write()
        self.inner.settle_batch(batch_id, confirmed)

    def record_confirmed(self, rows: Sequence[StoredRow]) -> None:
        self._write()
        self.inner.record_confirmed(rows)

    def record_run(self, summary: Any) -> None:
        self._write()
        self.inner.record_run(summary)

    def close(self) -> None:
        self.inner.close()


def test_a_state_that_fails_mid_run_stops_the_export_with_a_report_that_adds_up(
    run: Run, tmp_path: Path
) -> None:
    inner = SqliteState(tmp_path / "s.sqlite")
    store = _FailingStore(inner, good=3)
    assert isinstance(store, StateStore)  # the protocol is all it takes
    with pytest.raises(ExportError, match="disk full") as caught:
        run(profiles(2000), state=store)
    report = caught.value.report
    adds_up(report)
    assert report.failed > 0
    inner.close()
    # what was confirmed before the failure is kept: a rerun does not send it again
    again = run(profiles(2000), state=tmp_path / "s.sqlite")
    adds_up(again)
    assert again.unchanged > 0
    assert again.exported + again.unchanged == 2000


def test_a_store_given_by_the_caller_is_left_open(run: Run, tmp_path: Path) -> None:
    with SqliteState(tmp_path / "s.sqlite") as store:
        run(profiles(20), state=store)
        assert run(profiles(20), state=store).unchanged == 20
        assert store.summaries()[0].confirmed == 20


def test_state_must_be_a_path_or_a_store(fake: FakeActiveCampaign, clock: VirtualClock) -> None:
    with (
        make_client(fake, clock) as client,
        pytest.raises(ConfigError, match="state must be a path"),
    ):
        SegmentExporter(client, 1, MAPPING, state=42)  # type: ignore[arg-type]


def test_the_key_is_not_in_the_state(run: Run, tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    run(profiles(300), state=state)
    for name in os.listdir(tmp_path):
        assert KEY.encode() not in (tmp_path / name).read_bytes()


def test_split_batches_leave_the_state_settled_and_only_the_poison_row_goes_again(
    run: Run, fake: FakeActiveCampaign, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    fake.faults.poison(["p7@example.com"])
    first = run(profiles(300), state=state)
    adds_up(first)
    assert (first.exported, first.failed) == (299, 1)
    before = (fake.stats.bulk_requests, fake.stats.bulk_contacts)
    second = run(profiles(300), state=state)  # every split half was recorded and settled
    adds_up(second)
    # only the poison row went again: alone, by the small path (the fake's poison is bulk-only)
    assert (second.exported, second.unchanged, second.failed) == (1, 299, 0)
    assert (fake.stats.bulk_requests, fake.stats.bulk_contacts) == before
