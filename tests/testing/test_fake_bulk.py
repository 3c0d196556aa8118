"""Bulk import in the fake: validation, batch lifecycle, outcomes, AC's subscription rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from acexport import BulkContact, BulkImportStatus
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "k"
INVALID = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> FakeActiveCampaign:
    return FakeActiveCampaign(KEY, clock=clock, import_delay=1.0, import_seconds_per_contact=0.5)


@pytest.fixture
def client(fake: FakeActiveCampaign) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    ) as client:
        yield client


def _import(client: httpx.Client, contacts: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return client.post("/import/bulk_import", json={"contacts": contacts, **extra})


def _info(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    response = client.get("/import/info", params={"batchId": batch_id})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_batch_lifecycle_false_active_completed(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    list_id = fake.add_list("Newsletter")
    tier = fake.add_field("Tier")
    existing = fake.add_contact("old@example.com", first_name="Old")
    fake.add_tag("VIP")
    contacts = [
        {
            "email": "new@example.com",
            "first_name": "New",
            "last_name": "Person",
            "phone": "+15550101",
            "fields": [{"id": tier, "value": "gold"}],
            "tags": ["vip", "Fresh"],
            "subscribe": [{"listid": list_id}],
        },
        {"email": "OLD@example.com", "last_name": "Timer", "subscribe": [{"listid": list_id}]},
    ]
    accepted = _import(client, contacts, exclude_automations=True)
    assert accepted.status_code == 200
    body = accepted.json()
    assert body["Success"] == 1
    assert body["queued_contacts"] == 2
    assert body["message"] == "Contact import queued"
    batch_id = body["batchId"]
    assert len(batch_id) == 36

    assert _info(client, batch_id) == {"status": False, "success": [], "failure": []}
    assert fake.contact_by_email("new@example.com") is None  # nothing applied yet
    clock.advance(1.0)
    assert _info(client, batch_id)["status"] == "active"
    clock.advance(0.99)
    assert _info(client, batch_id)["status"] == "active"
    assert fake.contact_by_email("new@example.com") is None
    clock.advance(0.01)
    done = _info(client, batch_id)
    assert done["status"] == "completed"
    new = fake.contact_by_email("NEW@example.com")
    assert new is not None
    assert done == {"status": "completed", "success": [str(new.id)], "failure": []}
    assert (new.first_name, new.last_name, new.phone) == ("New", "Person", "+15550101")
    assert new.fields == {tier: "gold"}
    assert new.tags == {"VIP", "Fresh"}  # matched case-insensitively, the new one created
    assert new.lists == {list_id: 1}
    old = fake.contact_by_email("old@example.com")
    assert old is not None
    assert (old.id, old.first_name, old.last_name) == (existing, "Old", "Timer")
    batch = fake.batches[batch_id]
    assert batch.finished
    assert batch.exclude_automations == (True, True)
    assert batch.finishes_at == pytest.approx(2.0)


def test_batch_applies_lazily_on_inspection(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    batch_id = _import(client, [{"email": "a@example.com"}]).json()["batchId"]
    assert fake.batches[batch_id].status is False
    clock.advance(5)
    assert fake.contact_by_email("a@example.com") is not None
    assert fake.batches[batch_id].status == "completed"


def test_bulk_never_resubscribes_an_unsubscribed_contact(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    news, promo, other = fake.add_list("News"), fake.add_list("Promo"), fake.add_list("Other")
    fake.add_contact("gone@example.com", lists={news: 2, promo: 0})
    _import(
        client,
        [
            {
                "email": "gone@example.com",
                "subscribe": [{"listid": news}, {"listid": promo}],
                "unsubscribe": [{"listid": other}],
            }
        ],
    )
    clock.advance(10)
    snap = fake.contact_by_email("gone@example.com")
    assert snap is not None
    assert snap.lists == {news: 2, promo: 1, other: 2}


def test_exclusion_list_goes_to_failure(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    fake.exclude("Blocked@example.com")
    batch_id = _import(
        client, [{"email": "blocked@example.com"}, {"email": "fine@example.com"}]
    ).json()["batchId"]
    clock.advance(10)
    info = _info(client, batch_id)
    fine = fake.contact_by_email("fine@example.com")
    assert fine is not None
    assert info == {
        "status": "completed",
        "success": [str(fine.id)],
        "failure": ["blocked@example.com"],
    }
    assert fake.contact_by_email("blocked@example.com") is None


def test_success_lists_only_newly_created_ids(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    fake.add_contact("old@example.com")
    batch_id = _import(
        client,
        [{"email": "old@example.com"}, {"email": "n@example.com"}, {"email": "N@EXAMPLE.COM"}],
    ).json()["batchId"]
    clock.advance(10)
    new = fake.contact_by_email("n@example.com")
    assert new is not None
    assert _info(client, batch_id)["success"] == [str(new.id)]
    assert len(fake.contacts) == 2


@pytest.mark.parametrize("outcome", ["interrupted", "failed"])
def test_failed_and_interrupted_batches_apply_a_fraction(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock, outcome: str
) -> None:
    fake.faults.batch_outcomes([outcome], applied_fraction=0.5)
    contacts = [{"email": f"u{i}@example.com"} for i in range(4)]
    first = _import(client, contacts).json()["batchId"]
    second = _import(client, [{"email": "after@example.com"}]).json()["batchId"]
    clock.advance(10)
    info = _info(client, first)
    assert info["status"] == outcome
    assert len(info["success"]) == 2
    assert info["failure"] == []
    emails = {c.email for c in fake.contacts}
    assert emails == {"u0@example.com", "u1@example.com", "after@example.com"}
    assert _info(client, second)["status"] == "completed"  # outcomes apply once, in order


def test_validation_rejects_whole_batch_and_names_indexes(
    fake: FakeActiveCampaign, client: httpx.Client, clock: VirtualClock
) -> None:
    list_id = fake.add_list("L")
    fake.reject_emails({"refused@example.com"})
    contacts: list[dict[str, Any]] = [
        {"email": "ok@example.com", "subscribe": [{"listid": list_id}]},
        {"email": "bad'quote@example.com"},
        {"email": "refused@example.com"},
        {"email": "ok2@example.com", "fields": [{"id": 42, "value": "x"}]},
        {"email": "ok3@example.com", "subscribe": [{"listid": 77}]},
        {"first_name": "no email"},
    ]
    response = _import(client, contacts)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] == 0
    assert body["message"] == INVALID
    assert [r["contact"] for r in body["failureReasons"]] == [1, 2, 3, 4, 5]
    assert body["failureReasons"][0]["failureReason"] == "Field\u2018 email\u2019 incorrect format"
    assert fake.batches == {}
    clock.advance(10)
    assert fake.contacts == []
    assert fake.stats.bulk_requests == 0


def test_size_limits(client: httpx.Client, fake: FakeActiveCampaign) -> None:
    too_many = _import(client, [{"email": f"u{i}@example.com"} for i in range(251)])
    assert too_many.status_code == 400
    assert too_many.json()["success"] == 0
    assert _import(client, [{"email": f"u{i}@example.com"} for i in range(250)]).status_code == 200

    big = {"contacts": [{"email": "a@example.com", "first_name": "x" * 400_000}]}
    too_big = client.post(
        "/import/bulk_import",
        content=json.dumps(big).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 400
    assert too_big.json()["failureReasons"]
    assert _import(client, []).status_code == 400
    assert len(fake.batches) == 1


def test_exclude_automations_per_contact_and_top_level(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    batch_id = _import(
        client,
        [{"email": "a@example.com", "exclude_automations": False}, {"email": "b@example.com"}],
        exclude_automations=True,
    ).json()["batchId"]
    assert fake.batches[batch_id].exclude_automations == (False, True)
    other = _import(
        client,
        [{"email": "c@example.com", "exclude_automations": "true"}, {"email": "d@example.com"}],
    ).json()["batchId"]
    assert fake.batches[other].exclude_automations == (True, False)


def test_import_info_errors(client: httpx.Client) -> None:
    missing = client.get("/import/info")
    assert missing.status_code == 400
    assert missing.json() == {"success": 0, "message": "'batchId' is a required field."}
    unknown = client.get("/import/info", params={"batchId": "nope"})
    assert unknown.status_code == 404
    assert "message" in unknown.json()


def test_zero_delay_batch_completes_on_next_request() -> None:
    fake = FakeActiveCampaign(KEY, clock=VirtualClock(), import_delay=0)
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    ) as client:
        batch_id = _import(client, [{"email": "a@example.com"}]).json()["batchId"]
        assert _info(client, batch_id)["status"] == "completed"


def test_batch_ids_are_deterministic_per_seed() -> None:
    def first_id(seed: int) -> str:
        fake = FakeActiveCampaign(KEY, clock=VirtualClock(), seed=seed)
        with httpx.Client(
            transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
        ) as client:
            return str(_import(client, [{"email": "a@example.com"}]).json()["batchId"])

    assert first_id(1) == first_id(1)
    assert first_id(1) != first_id(2)


def test_a_poisoned_address_fails_every_batch_that_holds_it() -> None:
    fake = FakeActiveCampaign(import_delay=0)
    fake.add_list("L")
    fake.faults.batch_outcomes(["interrupted"])
    fake.faults.poison(["Bad@Example.com"])
    with fake.client() as client:
        poisoned = client.imports.bulk(
            [BulkContact("x@example.com"), BulkContact("bad@example.com")]
        )
        clean = client.imports.bulk([BulkContact("y@example.com"), BulkContact("z@example.com")])
        infos = [client.imports.info(b) for b in (poisoned, clean)]
    assert [i.status for i in infos] == [BulkImportStatus.FAILED, BulkImportStatus.INTERRUPTED]
    assert infos[0].failed_emails == ()  # no reason per contact, as ActiveCampaign
    assert fake.contact_by_email("x@example.com") is None  # nothing of it applied
    fake.faults.clear()
    with fake.client() as client:
        again = client.imports.bulk([BulkContact("bad@example.com"), BulkContact("w@example.com")])
        assert client.imports.info(again).status is BulkImportStatus.COMPLETED
