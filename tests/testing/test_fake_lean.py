"""The lean fake (``FakeActiveCampaign(lean=True)``, what ``--sandbox`` runs on).

It must still answer everything an export needs (ids, emails, list statuses, batch results),
validate bulk imports as the full fake does, and only drop what bulk imports send besides.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acexport import ExportReport, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock, sample_profiles

MAPPING = FieldMapping(
    email="Email",
    first_name="FirstName",
    last_name="LastName",
    phone="Phone",
    fields={"TIER": "Tier", "BIRTHDAY": "Birthday"},
    tags=["sample"],
)


def _account(*, lean: bool) -> tuple[FakeActiveCampaign, int]:
    fake = FakeActiveCampaign(clock=VirtualClock(), lean=lean)
    list_id = fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date")
    return fake, list_id


def _export(fake: FakeActiveCampaign, list_id: int, rows: list[dict[str, Any]]) -> ExportReport:
    with fake.client() as client:
        return SegmentExporter(client, list_id, MAPPING).export(rows)


def _adds_up(r: ExportReport) -> None:
    assert r.received == r.exported + r.duplicates + r.invalid + r.rejected + r.failed


def _rows(n: int) -> list[dict[str, Any]]:
    return list(sample_profiles(n, duplicate_fraction=0.1, invalid_fraction=0.05, seed=11))


def test_an_export_through_the_lean_fake_adds_up_and_every_contact_exists() -> None:
    fake, list_id = _account(lean=True)
    fake.add_contact("left@example.com", lists={list_id: 2})  # unsubscribed: must stay so
    fake.exclude("excluded@example.com")
    rows = _rows(1_200)
    rows += [{"Email": "LEFT@example.com"}, {"Email": "excluded@example.com"}]

    report = _export(fake, list_id, rows)

    _adds_up(report)
    assert report.received == len(rows)
    assert report.exported > 1_000
    assert report.invalid > 0
    assert report.duplicates > 0
    rejected = [e for e in report.errors if e.kind == "rejected"]  # from the batch's failure
    assert [e.email for e in rejected] == ["excluded@example.com"]
    assert report.failed == 0
    contacts = {c.email.lower(): c for c in fake.contacts}
    assert len(contacts) == report.exported  # the excluded one is not; "left" was already there
    for index, row in enumerate(rows):
        email = str(row["Email"]).lower()
        if any(e.index == index for e in report.errors) or email == "left@example.com":
            continue
        contact = contacts.get(email) or fake.contact_by_email(email)
        assert contact is not None, email
        assert contact.lists == {list_id: 1}
    assert fake.contact_by_email("left@example.com").lists == {list_id: 2}  # type: ignore[union-attr]


def test_the_lean_fake_answers_the_export_as_the_full_fake_does() -> None:
    rows = _rows(700)
    lean, lean_list = _account(lean=True)
    full, full_list = _account(lean=False)

    lean_report = _export(lean, lean_list, rows)
    full_report = _export(full, full_list, rows)

    def outcome(r: ExportReport) -> tuple[Any, ...]:
        errors = [(e.index, e.kind, e.reason) for e in r.errors]
        return (r.received, r.exported, r.duplicates, r.invalid, r.rejected, r.failed, errors)

    assert outcome(lean_report) == outcome(full_report)
    assert [(c.id, c.email, c.lists) for c in lean.contacts] == [
        (c.id, c.email, c.lists) for c in full.contacts
    ]
    assert lean.stats.bulk_contacts == full.stats.bulk_contacts > 0


def test_lean_bulk_imports_drop_names_fields_tags_and_applied_items() -> None:
    fake, list_id = _account(lean=True)
    report = _export(fake, list_id, _rows(300))

    assert report.exported > 10  # the bulk path, not the per-contact one
    contact = fake.contacts[0]
    assert (contact.first_name, contact.last_name, contact.phone) == ("", "", "")
    assert contact.fields == {}
    assert contact.tags == frozenset()
    batches = list(fake.batches.values())
    assert batches
    assert all(b.finished for b in batches)
    assert sum(b.contacts for b in batches) == fake.stats.bulk_contacts
    assert sum(len(b.success) for b in batches) == report.exported
    assert all(b.emails == () and b.exclude_automations == () for b in batches)


def test_the_full_fake_keeps_what_bulk_imports_send() -> None:
    # The other side of the test above: the same export, without lean, keeps it all.
    fake, list_id = _account(lean=False)
    _export(fake, list_id, _rows(300))

    contact = fake.contacts[0]
    assert contact.first_name
    assert contact.phone
    assert len(contact.fields) == 2
    assert contact.tags == {"sample"}
    batch = next(iter(fake.batches.values()))
    assert len(batch.emails) == batch.contacts


def test_a_small_export_through_the_lean_fake_keeps_everything() -> None:
    # Fewer than 10 contacts go through contact/sync, contactLists and contactTags, which a
    # lean fake keeps in full.
    fake, list_id = _account(lean=True)
    rows = [{"Email": "ada@example.com", "FirstName": "Ada", "Tier": "gold"}]

    report = _export(fake, list_id, rows)

    assert report.exported == 1
    ada = fake.contact_by_email("ada@example.com")
    assert ada is not None
    assert (ada.first_name, ada.lists, ada.tags) == ("Ada", {list_id: 1}, {"sample"})
    assert list(ada.fields.values()) == ["gold"]


@pytest.mark.parametrize(
    "contact",
    [
        {"email": "a@example.com", "fields": [{"id": 99, "value": "x"}]},
        {"email": "a@example.com", "tags": [""]},
        {"email": "a@example.com", "first_name": ["not", "a", "name"]},
        {"email": "not-an-email"},
    ],
)
def test_the_lean_fake_validates_bulk_imports_as_the_full_one(contact: dict[str, Any]) -> None:
    replies = []
    for lean in (True, False):
        fake = FakeActiveCampaign("k", lean=lean)
        fake.add_field("Tier")
        with httpx.Client(transport=fake.transport(), headers={"Api-Token": "k"}) as http:
            response = http.post("https://a/api/3/import/bulk_import", json={"contacts": [contact]})
        replies.append((response.status_code, response.json()))
        assert fake.batches == {}
    assert replies[0] == replies[1]
    assert replies[0][0] == 400
