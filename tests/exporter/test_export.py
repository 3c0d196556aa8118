"""SegmentExporter and AsyncSegmentExporter through the fake (MockTransport, virtual clock).

Every scenario runs through both exporters (the ``exporting`` fixture, tests/exporter/conftest.py);
the async-only ones (async iterables) come after them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    AuthenticationError,
    ConfigError,
    ExportError,
    ExportProgress,
    ExportReport,
    FieldMapping,
    NotFoundError,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign, VirtualClock, sample_profiles
from helpers import KEY, Exporting

pytestmark = pytest.mark.anyio

MAPPING = FieldMapping(
    email="Email",
    first_name="FirstName",
    last_name="LastName",
    phone="Phone",
    fields={"TIER": "Tier", "BIRTHDAY": "Birthday"},
    tags=("seg",),
)


def _profiles(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "Email": f"user{i}@example.com",
            "FirstName": f"First{i}",
            "LastName": f"Last{i}",
            "Phone": f"+1555{i:07d}",
            "Tier": ["gold", "silver"][i % 2],
            "Birthday": dt.date(1990, 1, 1 + i % 28),
        }
        for i in range(start, start + n)
    ]


def _adds_up(report: ExportReport) -> None:
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    assert len(report.errors) == report.invalid + report.rejected + report.failed
    assert [e.index for e in report.errors] == sorted(e.index for e in report.errors)


async def _export(exporting: Exporting, profiles: Any, **kwargs: Any) -> ExportReport:
    report = await exporting.export(profiles, kwargs.pop("mapping", MAPPING), **kwargs)
    _adds_up(report)
    return report


async def test_export_lands_every_contact_with_fields_tags_and_list(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    report = await _export(exporting, _profiles(600))
    assert (report.received, report.exported, report.errors) == (600, 600, ())
    assert fake.stats.bulk_requests == 3  # 250 + 250 + 100
    c = fake.contact_by_email("user7@example.com")
    assert c is not None
    assert (c.first_name, c.last_name, c.phone) == ("First7", "Last7", "+15550000007")
    assert c.fields == {1: "silver", 2: "1990-01-08"}
    assert c.tags == {"seg"}
    assert c.lists == {1: 1}
    assert report.requests == fake.stats.requests


async def test_duplicates_first_occurrence_wins(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    rows = _profiles(20)
    rows.insert(5, {**rows[2], "Email": " USER2@Example.com ", "FirstName": "Second"})
    report = await _export(exporting, rows)
    assert (report.exported, report.duplicates) == (20, 1)
    assert fake.contact_by_email("user2@example.com").first_name == "First2"  # type: ignore[union-attr]


async def test_invalid_rows_are_reported_not_sent(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    rows = _profiles(12)
    rows[3]["Email"] = "o'brien@example.com"
    rows[4]["Email"] = "nobody@localhost"
    rows[5]["Email"] = None
    rows[6]["Tier"] = {"nested": "dict"}
    report = await _export(exporting, rows)
    assert report.invalid == 4
    assert [e.index for e in report.errors] == [3, 4, 5, 6]
    assert all(e.kind == "invalid" and e.reason for e in report.errors)
    assert fake.contact_by_email("user6@example.com") is None
    assert report.exported == 8


async def test_small_export_uses_contact_endpoints(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    report = await _export(exporting, _profiles(3))
    assert report.exported == 3
    assert fake.stats.bulk_requests == 0
    c = fake.contact_by_email("user1@example.com")
    assert c is not None
    assert (c.lists, c.tags, c.fields) == ({1: 1}, {"seg"}, {1: "silver", 2: "1990-01-02"})


@pytest.mark.parametrize("n", [3, 40])
async def test_consent_an_unsubscribed_contact_is_never_resubscribed(
    exporting: Exporting, fake: FakeActiveCampaign, n: int
) -> None:
    fake.add_contact("user1@example.com", lists={1: 2})
    report = await _export(exporting, _profiles(n))
    assert report.exported == n
    c = fake.contact_by_email("user1@example.com")
    assert c is not None
    assert c.lists == {1: 2}
    assert c.fields  # its fields were still updated
    assert fake.contact_by_email("user0@example.com").lists == {1: 1}  # type: ignore[union-attr]


async def test_excluded_contacts_are_rejected(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.exclude("user4@example.com")
    report = await _export(exporting, _profiles(30))
    assert (report.exported, report.rejected) == (29, 1)
    assert report.errors[0].index == 4
    assert report.errors[0].kind == "rejected"
    assert "exclusion" in report.errors[0].reason


async def test_an_address_the_server_refuses_rejects_only_that_row(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.reject_emails({"user5@example.com", "user260@example.com"})
    report = await _export(exporting, _profiles(300))
    assert (report.exported, report.rejected) == (298, 2)
    assert [e.index for e in report.errors] == [5, 260]
    assert all("refused" in e.reason for e in report.errors)
    assert fake.contact_by_email("user6@example.com") is not None


async def test_interrupted_batches_are_resubmitted(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.batch_outcomes(["interrupted", "failed"])
    report = await _export(exporting, _profiles(300))
    assert report.exported == 300
    assert fake.stats.bulk_requests == 4
    assert len(fake.contacts) == 300


async def test_a_batch_that_keeps_failing_is_split_and_its_halves_land(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.batch_outcomes(["interrupted"] * 3)
    report = await _export(exporting, _profiles(50), max_resubmits=2)
    assert (report.exported, report.failed) == (50, 0)
    assert [b.contacts for b in fake.batches.values()] == [50, 50, 50, 25, 25]
    assert len(fake.contacts) == 50


async def test_only_the_poison_rows_fail(exporting: Exporting, fake: FakeActiveCampaign) -> None:
    fake.faults.poison(["user17@example.com", "USER260@example.com"])
    report = await _export(exporting, _profiles(300))
    assert (report.exported, report.failed) == (298, 2)
    assert [e.index for e in report.errors] == [17, 260]
    assert all("with this contact alone" in e.reason for e in report.errors)
    assert len(fake.contacts) == 298
    assert fake.contact_by_email("user17@example.com") is None
    # batch of 250: 3 tries, 2 imports at each of 8 levels, 2 retries alone; of 50: 3 + 2*6 + 2
    assert fake.stats.bulk_requests == (3 + 16 + 2) + (3 + 12 + 2)


async def test_server_errors_are_retried_by_the_client(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(503, path="/api/3/import/bulk_import", times=2)
    fake.faults.queue("reset_after", path="/api/3/import/info", times=2)
    report = await _export(exporting, _profiles(260))
    assert report.exported == 260
    assert len(fake.contacts) == 260


async def test_no_429_when_the_limits_match(exporting: Exporting, fake: FakeActiveCampaign) -> None:
    await _export(exporting, _profiles(2500))
    stats = fake.stats
    assert (stats.refused_429, stats.refused_bulk_rate) == (0, 0)
    assert stats.bulk_requests == 10


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("bad_key", AuthenticationError),
        ("no_list", NotFoundError),
        ("unknown_field", ConfigError),
    ],
)
async def test_problems_are_found_before_any_contact_is_sent(
    exporting: Exporting,
    fake: FakeActiveCampaign,
    clock: VirtualClock,
    setup: str,
    error: type[Exception],
) -> None:
    list_id, mapping = 1, MAPPING
    if setup == "bad_key":
        await exporting.aclose()
        exporting = Exporting(exporting.mode, fake, clock, key="wrong")
    elif setup == "no_list":
        list_id = 99
    else:
        mapping = FieldMapping(email="Email", fields={"NO_SUCH_FIELD": "Tier"})
    with pytest.raises(error) as raised:
        await exporting.export(_profiles(50), mapping, list_id=list_id)
    await exporting.aclose()
    assert fake.stats.bulk_requests == 0
    assert fake.contacts == []
    if setup == "no_list":  # says which list, in acexport's words, not only the API's
        assert str(raised.value).startswith("HTTP 404: list 99 does not exist in this account")


async def test_dry_run_sends_nothing(exporting: Exporting, fake: FakeActiveCampaign) -> None:
    rows = [*_profiles(300), {"Email": "bad"}, *_profiles(1)]
    report = await _export(exporting, rows, dry_run=True)
    assert report.dry_run
    assert (report.exported, report.invalid, report.duplicates) == (300, 1, 1)
    assert fake.contacts == []
    assert fake.stats.bulk_requests == 0


async def test_progress_is_reported_at_least_once_per_batch(exporting: Exporting) -> None:
    seen: list[ExportProgress] = []
    await _export(exporting, _profiles(1000), on_progress=seen.append)
    assert len(seen) >= 4
    assert seen[-1].exported == 1000
    assert all(a.received <= b.received for a, b in itertools.pairwise(seen))


async def test_cancel_settles_what_is_in_flight(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    cancel = threading.Event()

    def on_progress(p: ExportProgress) -> None:
        if p.received >= 750:
            cancel.set()

    def endless() -> Iterator[dict[str, Any]]:
        i = 0
        while True:  # bounded by the cancel event
            yield _profiles(1, i)[0]
            i += 1

    report = await _export(exporting, endless(), on_progress=on_progress, cancel=cancel)
    assert report.cancelled
    assert report.received >= 750
    # What was submitted settled and is in the account...
    assert report.exported == len(fake.contacts) >= 250
    # ...and rows read but not yet submitted were not sent after the cancel: at most the
    # batch read ahead and the partial one, each failed with the reason.
    assert report.failed == report.received - report.exported < 2 * 250
    assert all("cancelled before it was sent" in e.reason for e in report.errors)


async def test_an_iterable_that_raises_gives_a_partial_report(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    def broken() -> Iterator[dict[str, Any]]:
        yield from _profiles(600)
        raise RuntimeError("cursor lost")

    with pytest.raises(ExportError, match="cursor lost") as info:
        await exporting.export(broken(), MAPPING)
    report = info.value.report
    _adds_up(report)
    assert report.received == 600
    assert report.exported == 500  # the two full batches sent before the failure
    assert report.failed == 100
    assert len(fake.contacts) == 500


async def test_revoked_key_mid_export_stops_with_a_partial_report(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(403, path="/api/3/import/bulk_import", times=100)
    with pytest.raises(ExportError) as info:
        await exporting.export(_profiles(600), MAPPING)
    report = info.value.report
    _adds_up(report)
    assert report.failed == report.received - report.exported


async def test_info_logs_carry_counts_not_emails(
    exporting: Exporting, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="acexport")
    profiles = list(sample_profiles(400, invalid_fraction=0.05))
    await _export(exporting, profiles)
    infos = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("exported" in m for m in infos)
    # The summary's top reasons name what is wrong ("email has no @"), never the value.
    assert any("email has no @" in m for m in infos)
    values = {str(p["Email"]).strip() for p in profiles}
    values = {v for v in values if len(v) > 2}
    assert len(values) > 300
    assert not any(v in m for m in infos for v in values)


# --- async only: async iterables ---------------------------------------------------------------


async def _agen(rows: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield row


@pytest.mark.parametrize("use_async_iterable", [False, True])
async def test_async_export(
    aclient: AsyncActiveCampaign, fake: FakeActiveCampaign, use_async_iterable: bool
) -> None:
    rows = _profiles(700)
    rows.append({**rows[0], "Email": "USER0@example.com"})
    source: Any = _agen(rows) if use_async_iterable else rows
    report = await AsyncSegmentExporter(aclient, 1, MAPPING).export(source)
    _adds_up(report)
    assert (report.exported, report.duplicates) == (700, 1)
    assert fake.contact_by_email("user699@example.com").lists == {1: 1}  # type: ignore[union-attr]
    assert fake.stats.refused_429 == 0


async def test_async_iterable_that_raises(aclient: AsyncActiveCampaign) -> None:
    async def broken() -> AsyncIterator[dict[str, Any]]:
        for row in _profiles(30):
            yield row
        raise OSError("stream closed")

    with pytest.raises(ExportError, match="stream closed") as info:
        await AsyncSegmentExporter(aclient, 1, MAPPING).export(broken())
    _adds_up(info.value.report)
    assert info.value.report.received == 30


# --- usage errors and edges found in review ------------------------------------------------


async def test_the_iterables_exception_is_the_cause(exporting: Exporting) -> None:
    def broken() -> Iterator[dict[str, Any]]:
        yield _profiles(1)[0]
        raise RuntimeError("db went away")

    with pytest.raises(ExportError) as info:
        await exporting.export(broken(), MAPPING)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "db went away"


async def test_a_cancel_set_before_the_export_reads_nothing(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    cancel = threading.Event()
    cancel.set()
    report = await _export(exporting, _profiles(50), cancel=cancel)
    assert (report.received, report.cancelled) == (0, True)
    assert fake.contacts == []


async def test_the_wrong_client_type_is_refused_at_once(
    client: ActiveCampaign, aclient: AsyncActiveCampaign
) -> None:
    with pytest.raises(ConfigError, match="AsyncSegmentExporter with AsyncActiveCampaign"):
        SegmentExporter(aclient, 1, MAPPING)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="SegmentExporter with ActiveCampaign"):
        AsyncSegmentExporter(client, 1, MAPPING)  # type: ignore[arg-type]


@pytest.mark.parametrize("single", [{"Email": "a@example.com"}, "ab", b"ab"])
async def test_a_single_profile_is_not_taken_for_a_segment(
    exporting: Exporting, fake: FakeActiveCampaign, single: Any
) -> None:
    with pytest.raises(ConfigError, match="iterable of profiles"):
        await exporting.export(single, MAPPING)
    assert fake.stats.requests == 0  # refused before the checks, too


def test_field_mapping_fields_are_read_only() -> None:
    with pytest.raises(TypeError):
        MAPPING.fields["X"] = "Y"  # type: ignore[index]


async def test_exporter_repr_names_the_list_not_the_key(exporting: Exporting) -> None:
    text = repr(exporting.exporter(1, MAPPING))
    # also shows that each mode runs its own exporter
    expected = {"sync": "SegmentExporter(", "async": "AsyncSegmentExporter("}[exporting.mode]
    assert text.startswith(expected)
    assert "list_id=1" in text
    assert KEY not in text


async def test_small_export_rejects_a_refused_contact_and_sends_the_rest(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.reject_emails({"user1@example.com"})  # the server refuses it (422 on contact/sync)
    report = await _export(exporting, _profiles(4))
    assert (report.exported, report.rejected) == (3, 1)
    assert report.errors[0].index == 1
    assert report.errors[0].kind == "rejected"
    assert "refused" in report.errors[0].reason
    assert fake.contact_by_email("user3@example.com").tags == {"seg"}  # type: ignore[union-attr]


async def test_small_export_stops_when_the_key_is_refused_mid_way(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(403, path="/api/3/contact/sync", times=10)
    with pytest.raises(ExportError) as info:
        await exporting.export(_profiles(5), MAPPING)
    report = info.value.report
    _adds_up(report)
    assert (report.received, report.failed, report.exported) == (5, 5, 0)


async def test_small_export_retries_server_errors(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(503, path="/api/3/contactLists", times=2)
    report = await _export(exporting, _profiles(3))
    assert report.exported == 3
    assert all(fake.contact_by_email(f"user{i}@example.com").lists == {1: 1} for i in range(3))  # type: ignore[union-attr]


async def test_a_misspelt_key_is_a_note_in_the_report(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    mapping = FieldMapping(email="Email", first_name="Firstname")  # the profiles say FirstName
    report = await _export(exporting, _profiles(30), mapping=mapping)
    assert report.exported == 30
    note = (
        "none of the 30 profiles read has 'Firstname' for first_name: is it spelt as in the "
        "profiles? (a missing value is left out of the contact)"
    )
    assert report.notes == (note,)
    assert report.summary().endswith("\nnote: " + note)
    assert "note: none of the 30 profiles" in report._repr_html_()
    assert (await _export(exporting, _profiles(30))).notes == ()
