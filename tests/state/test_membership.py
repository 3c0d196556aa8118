"""Segment membership over time (``on_leave``), through the fake (sync and async, virtual time).

A leaver is a contact an earlier run exported (the state confirmed it) that is not among this
run's valid rows. Only leavers are touched; the guard (``max_leave``) stops a broken segment
from unsubscribing everyone; a run that stopped early removes nobody.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterator
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
)
from acexport._state import open_store
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import make_async_client, make_client

MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"})
TAGGED = FieldMapping(email="Email", first_name="Name", tags=("segment:vip",))
ACCOUNT = "https://acct.api-us1.com/api/3"

Run = Callable[..., ExportReport]


def profiles(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"Email": f"p{i}@example.com", "Name": f"P{i}", "Tier": "gold"}
        for i in range(start, start + n)
    ]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, fake: FakeActiveCampaign, clock: VirtualClock) -> Run:
    def sync(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        with make_client(fake, clock) as client:
            return SegmentExporter(client, 1, mapping, **options).export(rows)

    def asynchronous(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        async def main() -> ExportReport:
            async with make_async_client(fake, clock) as client:
                return await AsyncSegmentExporter(client, 1, mapping, **options).export(rows)

        return anyio.run(main)

    return sync if request.param == "sync" else asynchronous


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
    ]
)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the runs of one test keep their state: an SQLite file, or a schema of its own in
    the throwaway PostgreSQL cluster (tests/state/conftest.py)."""
    if request.param == "sqlite":
        return str(tmp_path / "s.sqlite")
    cluster = request.getfixturevalue("pg_cluster")
    return f"{cluster.dsn}#t_{secrets.token_hex(6)}"


def adds_up(report: ExportReport) -> None:
    assert report.received == (
        report.exported
        + report.unchanged
        + report.duplicates
        + report.invalid
        + report.rejected
        + report.failed
    )


def status(fake: FakeActiveCampaign, email: str) -> int | None:
    contact = fake.contact_by_email(email)
    assert contact is not None, email
    return contact.lists.get(1)


def tags(fake: FakeActiveCampaign, email: str) -> frozenset[str]:
    contact = fake.contact_by_email(email)
    assert contact is not None, email
    return contact.tags


def tracked(state: str) -> list[str]:
    with open_store(state) as store:
        lst = store.open_list(ACCOUNT, 1, write=False)
        return [c.email for c in lst.tracked("", 1_000_000)]


# --- unsubscribe -----------------------------------------------------------------------------


def test_leavers_are_unsubscribed_in_bulk_and_forgotten(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    fake.add_contact("hand@example.com", lists={1: 1}, tags=("segment:vip",))
    run(profiles(100), state=state)
    bulk = fake.stats.bulk_requests
    report = run(profiles(95), state=state, on_leave="unsubscribe")
    adds_up(report)
    assert (report.received, report.unchanged, report.removed, report.removal_failed) == (
        95,
        95,
        5,
        0,
    )
    assert fake.stats.bulk_requests - bulk == 1  # 5 leavers: one bulk import, not 5 calls
    for i in range(95, 100):
        assert status(fake, f"p{i}@example.com") == 2
    assert status(fake, "p0@example.com") == 1
    assert status(fake, "hand@example.com") == 1  # added by hand: never touched
    assert "removed 5 leavers" in report.summary()
    assert len(tracked(state)) == 95
    again = run(profiles(95), state=state, on_leave="unsubscribe")
    assert again.removed == 0


def test_unsubscribed_leavers_are_not_resubscribed_on_reentry(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(100), state=state)
    run(profiles(95), state=state, on_leave="unsubscribe")
    back = run(profiles(100), state=state, on_leave="unsubscribe")
    assert (back.exported, back.unchanged, back.removed) == (5, 95, 0)
    assert status(fake, "p99@example.com") == 2  # ActiveCampaign's consent rule holds


def test_a_leaver_who_unsubscribed_themselves_stays_unsubscribed(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(100), state=state)
    with make_client(fake, VirtualClock()) as client:
        found = client.contacts.find_by_email("p99@example.com")
        assert found is not None
        from acexport import ListStatus

        client.contacts.update_list_status(found.id, 1, ListStatus.UNSUBSCRIBED)
    report = run(profiles(95), state=state, on_leave="unsubscribe")
    assert (report.removed, report.removal_failed) == (5, 0)
    assert status(fake, "p99@example.com") == 2


def test_a_refused_removal_stays_tracked_and_is_tried_next_run(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(100), state=state)
    fake.exclude("p97@example.com")  # bulk imports now skip it (in the batch's failures)
    report = run(profiles(95), state=state, on_leave="unsubscribe")
    adds_up(report)
    assert (report.removed, report.removal_failed) == (4, 1)
    (error,) = report.removal_errors
    assert error.email == "p97@example.com"
    assert "refused" in error.reason
    assert "1 removals failed" in report.summary()
    assert "p97@example.com" in tracked(state)
    retry = run(profiles(95), state=state, on_leave="unsubscribe")
    assert (retry.removed, retry.removal_failed) == (0, 1)  # tried again, still refused


# --- the guard and early stops ---------------------------------------------------------------


def test_an_empty_segment_trips_the_guard_and_removes_nobody(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(100), state=state)
    bulk = fake.stats.bulk_requests
    with pytest.raises(ExportError) as caught:
        run([], state=state, on_leave="unsubscribe")
    message = str(caught.value)
    assert "100 of the 100" in message
    assert "max_leave=0.1" in message
    report = caught.value.report
    assert report is not None
    adds_up(report)
    assert (report.received, report.removed) == (0, 0)
    assert fake.stats.bulk_requests == bulk
    assert status(fake, "p0@example.com") == 1
    assert len(tracked(state)) == 100


def test_the_guard_counts_against_max_leave(run: Run, state: str) -> None:
    run(profiles(100), state=state)
    with pytest.raises(ExportError, match="11 of the 100"):
        run(profiles(89), state=state, on_leave="unsubscribe")
    assert run(profiles(89), state=state, on_leave="unsubscribe", max_leave=0.2).removed == 11


def test_a_run_that_stopped_early_removes_nobody(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(600), state=state)

    def broken() -> Iterator[dict[str, Any]]:
        yield from profiles(300)
        raise OSError("the warehouse connection dropped")

    with pytest.raises(ExportError, match="warehouse"):
        run(broken(), state=state, on_leave="unsubscribe", max_leave=1.0)
    assert len(tracked(state)) == 600
    assert status(fake, "p599@example.com") == 1


def test_a_cancelled_run_removes_nobody(run: Run, fake: FakeActiveCampaign, state: str) -> None:
    import threading

    run(profiles(600), state=state)
    cancel = threading.Event()

    def rows() -> Iterator[dict[str, Any]]:
        for i, row in enumerate(profiles(600)):
            if i == 300:
                cancel.set()
            yield row

    report = run(rows(), state=state, on_leave="unsubscribe", max_leave=1.0, cancel=cancel)
    assert report.cancelled
    assert report.removed == 0
    assert len(tracked(state)) == 600
    assert status(fake, "p599@example.com") == 1


def test_a_row_refused_for_another_value_is_not_a_leaver(run: Run, state: str) -> None:
    run(profiles(100), state=state)
    rows = profiles(100)
    rows[3]["Name"] = "bad\x00name"  # invalid, but p3 is still in the segment
    report = run(rows, state=state, on_leave="unsubscribe")
    assert (report.invalid, report.removed) == (1, 0)


def test_a_dry_run_counts_leavers_and_removes_nobody(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(100), state=state)
    bulk = fake.stats.bulk_requests
    report = run(profiles(95), state=state, on_leave="unsubscribe", dry_run=True)
    assert (report.dry_run, report.removed) == (True, 5)
    assert "would remove 5 leavers" in report.summary()
    assert fake.stats.bulk_requests == bulk
    assert status(fake, "p99@example.com") == 1
    assert len(tracked(state)) == 100


# --- untag ------------------------------------------------------------------------------------


def test_untag_removes_only_the_mappings_tags_and_keeps_the_subscription(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    fake.add_contact("hand@example.com", lists={1: 1}, tags=("segment:vip",))
    run(profiles(20), TAGGED, state=state)
    fake.add_tag("friend")
    with make_client(fake, VirtualClock()) as client:
        found = client.contacts.find_by_email("p19@example.com")
        assert found is not None
        friend = next(t for t in client.tags.list("friend") if t.name == "friend")
        client.contacts.add_tag(found.id, friend.id)
    before = dict(fake.stats.by_endpoint)
    report = run(profiles(18), TAGGED, state=state, on_leave="untag", max_leave=0.1)
    adds_up(report)
    assert (report.removed, report.removal_failed) == (2, 0)
    assert tags(fake, "p19@example.com") == {"friend"}  # a hand-made tag stays
    assert tags(fake, "p18@example.com") == frozenset()
    assert status(fake, "p19@example.com") == 1  # still subscribed
    assert tags(fake, "hand@example.com") == {"segment:vip"}  # not a leaver: untouched
    assert tags(fake, "p0@example.com") == {"segment:vip"}
    # 2 leavers: 1 tag lookup, then per leaver: find by email, its contactTags, 1 delete
    made = {k: v - before.get(k, 0) for k, v in fake.stats.by_endpoint.items()}
    assert made[("GET", "/api/3/tags")] == 1
    assert made[("GET", "/api/3/contacts")] == 2
    assert made[("GET", "/api/3/contacts/{id}/contactTags")] == 2
    assert made[("DELETE", "/api/3/contactTags/{id}")] == 2
    assert len(tracked(state)) == 18
    back = run(profiles(20), TAGGED, state=state, on_leave="untag", max_leave=0.1)
    assert (back.exported, back.unchanged) == (2, 18)
    assert "segment:vip" in tags(fake, "p19@example.com")  # re-entry tags them again


def test_untag_survives_a_contact_deleted_by_hand(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(20), TAGGED, state=state)
    with make_client(fake, VirtualClock()) as client:
        found = client.contacts.find_by_email("p19@example.com")
        assert found is not None
        client.contacts.delete(found.id)
    report = run(profiles(18), TAGGED, state=state, on_leave="untag", max_leave=0.1)
    assert (report.removed, report.removal_failed) == (2, 0)
    assert fake.contact_by_email("p19@example.com") is None  # not re-created
    assert "p19@example.com" not in tracked(state)


# --- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_leave": "unsubscribe"}, "needs a state"),
        ({"on_leave": "archive", "state": "x.db"}, "on_leave must be"),
        ({"on_leave": "untag", "state": "x.db"}, "has none"),
        ({"on_leave": "unsubscribe", "state": "x.db", "max_leave": 1.5}, "max_leave"),
        ({"on_leave": "unsubscribe", "state": "x.db", "max_leave": True}, "max_leave"),
    ],
)
def test_bad_options_are_refused_at_once(
    fake: FakeActiveCampaign, clock: VirtualClock, options: dict[str, Any], message: str
) -> None:
    with make_client(fake, clock) as client, pytest.raises(ConfigError, match=message):
        SegmentExporter(client, 1, MAPPING, **options)


def test_ten_thousand_leavers_take_forty_bulk_imports(
    fake: FakeActiveCampaign, clock: VirtualClock, state: str
) -> None:
    with make_client(fake, clock) as client:
        SegmentExporter(client, 1, MAPPING, state=state).export(profiles(10_000))
        bulk = fake.stats.bulk_requests
        exporter = SegmentExporter(client, 1, MAPPING, state=state, on_leave="unsubscribe")
        with pytest.raises(ExportError):  # the guard first
            exporter.export([])
        report = SegmentExporter(
            client, 1, MAPPING, state=state, on_leave="unsubscribe", max_leave=1.0
        ).export([])
    assert report.removed == 10_000
    assert fake.stats.bulk_requests - bulk == math.ceil(10_000 / 250)
    assert sum(1 for c in fake.contacts if c.lists.get(1) == 2) == 10_000
    assert tracked(state) == []


# --- identity keys ----------------------------------------------------------------------------

KEYED = FieldMapping(email="Email", first_name="Name", key="Id", tags=("segment:vip",))


def keyed(n: int) -> list[dict[str, Any]]:
    return [{"Id": i, "Email": f"p{i}@example.com", "Name": f"P{i}"} for i in range(n)]


def test_a_changed_email_is_changed_in_place(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(keyed(40), KEYED, state=state)
    before = fake.contact_by_email("p3@example.com")
    assert before is not None
    contacts = len(fake.contacts)
    rows = keyed(40)
    rows[3]["Email"] = "New3@example.com"
    puts = fake.stats.by_endpoint.get(("PUT", "/api/3/contacts/{id}"), 0)
    report = run(rows, KEYED, state=state, on_leave="unsubscribe")
    adds_up(report)
    assert (report.exported, report.unchanged, report.removed) == (1, 39, 0)
    assert fake.stats.by_endpoint[("PUT", "/api/3/contacts/{id}")] - puts == 1
    after = fake.contact_by_email("new3@example.com")
    assert after is not None
    assert after.id == before.id  # the same contact: its id, lists and tags kept
    assert after.lists == {1: 1}
    assert after.tags == {"segment:vip"}
    assert fake.contact_by_email("p3@example.com") is None
    assert len(fake.contacts) == contacts
    assert "p3@example.com" not in tracked(state)
    assert "new3@example.com" in tracked(state)
    assert run(rows, KEYED, state=state, on_leave="unsubscribe").unchanged == 40


def test_a_changed_email_onto_another_contact_is_rejected_and_nothing_merged(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(keyed(40), KEYED, state=state)
    fake.add_contact("taken@example.com", first_name="Someone", lists={1: 1})
    rows = keyed(40)
    rows[3]["Email"] = "taken@example.com"
    report = run(rows, KEYED, state=state, on_leave="unsubscribe")
    adds_up(report)
    assert (report.rejected, report.unchanged, report.removed) == (1, 39, 0)
    (error,) = report.errors
    assert error.email == "taken@example.com"
    assert "already belongs to another ActiveCampaign contact" in error.reason
    old = fake.contact_by_email("p3@example.com")
    assert old is not None
    assert old.lists == {1: 1}  # not a leaver: the person is still in the segment
    taken = fake.contact_by_email("taken@example.com")
    assert taken is not None
    assert (taken.first_name, taken.tags) == ("Someone", frozenset())
    assert "p3@example.com" in tracked(state)


def test_a_dry_run_changes_no_email_and_finds_no_leaver(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(keyed(40), KEYED, state=state)
    rows = keyed(40)
    rows[3]["Email"] = "new3@example.com"
    report = run(rows, KEYED, state=state, dry_run=True, on_leave="unsubscribe")
    assert (report.exported, report.removed) == (1, 0)  # a dry run: no PUT, no leaver
    assert fake.stats.by_endpoint.get(("PUT", "/api/3/contacts/{id}"), 0) == 0
    assert fake.contact_by_email("p3@example.com") is not None


def test_one_key_with_two_emails_in_one_run_changes_the_email_once(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(keyed(40), KEYED, state=state)
    rows = keyed(40)
    rows[3]["Email"] = "new3@example.com"
    rows.append({"Id": 3, "Email": "other3@example.com", "Name": "P3"})  # the same customer
    rows.append({"Id": 3, "Email": "NEW3@example.com", "Name": "P3"})  # same key, same email
    puts = fake.stats.by_endpoint.get(("PUT", "/api/3/contacts/{id}"), 0)
    report = run(rows, KEYED, state=state, on_leave="unsubscribe")
    adds_up(report)
    assert (report.exported, report.unchanged, report.invalid, report.duplicates) == (1, 39, 1, 1)
    assert fake.stats.by_endpoint[("PUT", "/api/3/contacts/{id}")] - puts == 1
    (error,) = report.errors
    assert (error.index, error.email) == (40, "other3@example.com")
    assert error.reason == "key '3' was already read in this export with another email"
    assert fake.contact_by_email("new3@example.com") is not None
    assert fake.contact_by_email("other3@example.com") is None
    assert report.removed == 0


def test_without_a_state_one_key_with_two_emails_is_two_contacts(
    run: Run, fake: FakeActiveCampaign
) -> None:
    rows = [*keyed(3), {"Id": 1, "Email": "other1@example.com", "Name": "P1"}]
    report = run(rows, KEYED)
    adds_up(report)
    assert (report.exported, report.invalid) == (4, 0)
    assert fake.contact_by_email("other1@example.com") is not None


def test_a_key_that_is_not_text_or_a_number_refuses_the_row(run: Run, state: str) -> None:
    rows = keyed(12)
    rows[5]["Id"] = ["not", "a", "key"]
    report = run(rows, KEYED, state=state)
    assert (report.invalid, report.exported) == (1, 11)
    assert "key ('Id') is list" in report.errors[0].reason


def test_a_failed_untag_keeps_the_leaver_and_remembers_its_contact_id(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(20), TAGGED, state=state)
    # every attempt (the first and its 6 retries) at the leaver's contactTags fails
    fake.faults.queue(500, path="/api/3/contacts/{id}/contactTags", times=7)
    report = run(profiles(19), TAGGED, state=state, on_leave="untag", max_leave=0.1)
    assert (report.removed, report.removal_failed) == (0, 1)
    (error,) = report.removal_errors
    assert error.email == "p19@example.com"
    assert error.reason.startswith("untagging failed")
    assert tags(fake, "p19@example.com") == {"segment:vip"}
    with open_store(state) as store:
        (leaver,) = [
            c for c in store.open_list(ACCOUNT, 1, write=False).tracked("", 100) if c.contact_id
        ]
    assert leaver.email == "p19@example.com"
    before = dict(fake.stats.by_endpoint)
    retry = run(profiles(19), TAGGED, state=state, on_leave="untag", max_leave=0.1)
    assert (retry.removed, retry.removal_failed) == (1, 0)
    made = {k: v - before.get(k, 0) for k, v in fake.stats.by_endpoint.items()}
    assert made.get(("GET", "/api/3/contacts"), 0) == 0  # the id was known: no lookup
    assert tags(fake, "p19@example.com") == frozenset()


def test_cancelling_during_removal_leaves_the_rest_tracked(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    run(profiles(20), TAGGED, state=state)
    deletes = ("DELETE", "/api/3/contactTags/{id}")

    class AfterFirstUntag:
        def is_set(self) -> bool:
            return fake.stats.by_endpoint.get(deletes, 0) >= 1

    report = run(
        profiles(16), TAGGED, state=state, on_leave="untag", max_leave=0.2, cancel=AfterFirstUntag()
    )
    assert report.cancelled
    assert (report.removed, report.removal_failed) == (1, 3)
    assert all("cancelled" in e.reason for e in report.removal_errors)
    assert len(tracked(state)) == 19


def test_adding_a_key_to_the_mapping_sends_every_row_once_to_record_the_keys(
    run: Run, fake: FakeActiveCampaign, state: str
) -> None:
    unkeyed = FieldMapping(email="Email", first_name="Name", tags=("segment:vip",))
    run(keyed(40), unkeyed, state=state)
    assert run(keyed(40), KEYED, state=state).exported == 40  # the keys are recorded now
    rows = keyed(40)
    rows[7]["Email"] = "new7@example.com"
    report = run(rows, KEYED, state=state, on_leave="unsubscribe")
    assert (report.exported, report.unchanged, report.removed) == (1, 39, 0)
    assert fake.contact_by_email("p7@example.com") is None
