"""Wire shapes of every endpoint of the fake, through raw httpx requests on its transport."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "test-key"


@pytest.fixture
def fake() -> FakeActiveCampaign:
    return FakeActiveCampaign(KEY, clock=VirtualClock())


@pytest.fixture
def client(fake: FakeActiveCampaign) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=fake.transport(),
        base_url="https://acct.api-us1.com/api/3",
        headers={"Api-Token": KEY},
    ) as client:
        yield client


def test_missing_or_wrong_key_is_403(fake: FakeActiveCampaign) -> None:
    with httpx.Client(transport=fake.transport(), base_url="https://a/api/3") as anon:
        assert anon.get("/users/me").status_code == 403
        response = anon.get("/users/me", headers={"Api-Token": "wrong"})
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert fake.stats.refused_403 == 2


def test_users_me(client: httpx.Client) -> None:
    response = client.get("/users/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "user": {
            "id": "1",
            "username": "admin",
            "email": "admin@example.com",
            "firstName": "Ada",
            "lastName": "Admin",
        }
    }


def test_unknown_path_and_wrong_method_are_404(client: httpx.Client) -> None:
    for response in (client.get("/nothing/here"), client.get("/contact/sync")):
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}


def test_lists_index_get_and_create(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    list_id = fake.add_list("Newsletter")
    body = client.get("/lists").json()
    assert body["meta"] == {"total": "1"}
    assert body["lists"][0]["id"] == str(list_id)
    assert body["lists"][0]["name"] == "Newsletter"
    assert body["lists"][0]["stringid"] == "newsletter"

    assert client.get(f"/lists/{list_id}").json()["list"]["id"] == str(list_id)
    missing = client.get("/lists/7")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No Result found for _List with id 7"}

    payload = {
        "list": {
            "name": "Name of List",
            "stringid": "Name-of-list",
            "sender_url": "https://example.com",
            "sender_reminder": "You signed up",
        }
    }
    created = client.post("/lists", json=payload)
    assert created.status_code == 201
    new = created.json()["list"]
    assert new["id"] == str(list_id + 1)
    assert new["name"] == "Name of List"
    assert client.get("/lists", params={"filters[name]": "Name of List"}).json()["meta"] == {
        "total": "1"
    }


def test_create_list_missing_required_is_422(client: httpx.Client) -> None:
    response = client.post("/lists", json={"list": {"name": "x", "stringid": "x"}})
    assert response.status_code == 422
    pointers = [e["source"]["pointer"] for e in response.json()["errors"]]
    assert pointers == ["/data/attributes/sender_url", "/data/attributes/sender_reminder"]


def test_contact_sync_creates_then_updates_provided_keys_only(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    tier = fake.add_field("Tier", perstag="TIER")
    created = client.post(
        "/contact/sync",
        json={
            "contact": {
                "email": "Jane@Example.com",
                "firstName": "Jane",
                "lastName": "Doe",
                "phone": "+15550100",
                "fieldValues": [{"field": str(tier), "value": "gold"}],
            }
        },
    )
    assert created.status_code == 201
    body = created.json()
    contact_id = body["contact"]["id"]
    assert isinstance(contact_id, str)
    assert body["contact"]["email"] == "Jane@Example.com"
    assert body["fieldValues"][0]["field"] == str(tier)
    assert body["fieldValues"][0]["value"] == "gold"

    updated = client.post(
        "/contact/sync", json={"contact": {"email": "jane@example.com", "lastName": "Roe"}}
    )
    assert updated.status_code == 200
    assert updated.json()["contact"]["id"] == contact_id
    snap = fake.contact_by_email("JANE@example.com")
    assert snap is not None
    assert (snap.first_name, snap.last_name, snap.phone) == ("Jane", "Roe", "+15550100")
    assert snap.fields == {tier: "gold"}
    assert len(fake.contacts) == 1


@pytest.mark.parametrize(
    "email",
    ["no-at.example.com", "a@b@example.com", "@example.com", "o'neil@example.com",
     "a b@example.com", "x@localhost", "x@example.c", "", None, 42],
)  # fmt: skip
def test_contact_sync_invalid_email_is_422(client: httpx.Client, email: object) -> None:
    response = client.post("/contact/sync", json={"contact": {"email": email}})
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "title": "Contact Email is not valid",
                "code": "email_invalid",
                "source": {"pointer": "/data/attributes/email"},
            }
        ]
    }


def test_contact_sync_unknown_field_and_rejected_email(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    response = client.post(
        "/contact/sync",
        json={
            "contact": {"email": "a@example.com", "fieldValues": [{"field": "99", "value": "x"}]}
        },
    )
    assert response.status_code == 422
    assert "errors" in response.json()
    fake.reject_emails({"Blocked@Example.com"})
    fake.reject_emails(lambda email: email.endswith("@spam.example"))
    for email in ("blocked@example.com", "x@spam.example"):
        refused = client.post("/contact/sync", json={"contact": {"email": email}})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["code"] == "email_invalid"
    assert fake.contacts == []


def test_contact_sync_accepts_excluded_email(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    fake.exclude("ex@example.com")
    assert (
        client.post("/contact/sync", json={"contact": {"email": "ex@example.com"}}).status_code
        == 201
    )


def test_contact_sync_bad_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/contact/sync", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_post_contacts_and_duplicate(client: httpx.Client) -> None:
    created = client.post("/contacts", json={"contact": {"email": "a@example.com"}})
    assert created.status_code == 201
    duplicate = client.post("/contacts", json={"contact": {"email": "A@EXAMPLE.com"}})
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "errors": [
            {
                "title": "Email address already exists in the system",
                "detail": "",
                "code": "duplicate",
                "source": {"pointer": "/data/attributes/email"},
            }
        ]
    }


def test_get_put_delete_contact(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    list_id = fake.add_list("L")
    cid = fake.add_contact("a@example.com", first_name="A", lists={list_id: 1})
    got = client.get(f"/contacts/{cid}")
    assert got.status_code == 200
    assert got.json()["contact"]["id"] == str(cid)
    assert got.json()["contactLists"][0]["status"] == "1"

    missing = client.get("/contacts/999")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No Result found for Subscriber with id 999"}

    put = client.put(f"/contacts/{cid}", json={"contact": {"firstName": "B"}})
    assert put.status_code == 200
    assert put.json()["contact"]["firstName"] == "B"

    assert client.delete(f"/contacts/{cid}").json() == {}
    gone = client.delete(f"/contacts/{cid}")
    assert gone.status_code == 404
    assert gone.json() == {"message": f"No result found for contact with id {cid}"}
    assert fake.contacts == []


def test_contact_sub_resources(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    list_id = fake.add_list("L")
    field_id = fake.add_field("Tier")
    cid = fake.add_contact(
        "a@example.com", fields={field_id: "gold"}, lists={list_id: 2}, tags=["vip"]
    )
    memberships = client.get(f"/contacts/{cid}/contactLists").json()["contactLists"]
    assert memberships == [
        {
            "contact": str(cid),
            "list": str(list_id),
            "status": "2",
            "sourceid": "0",
            "sdate": memberships[0]["sdate"],
            "unsubreason": "",
            "id": memberships[0]["id"],
        }
    ]
    values = client.get(f"/contacts/{cid}/fieldValues").json()["fieldValues"]
    assert [(v["field"], v["value"]) for v in values] == [(str(field_id), "gold")]
    tags = client.get(f"/contacts/{cid}/contactTags").json()["contactTags"]
    assert [(t["contact"], t["tag"]) for t in tags] == [(str(cid), "1")]
    assert client.get("/contacts/999/contactTags").status_code == 404


def test_contacts_filters(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    list_id = fake.add_list("L")
    a = fake.add_contact("a@example.com", lists={list_id: 1})
    b = fake.add_contact("b@example.com", lists={list_id: 2})
    c = fake.add_contact("c@example.com")

    def ids(**params: str | int) -> list[str]:
        return [x["id"] for x in client.get("/contacts", params=params).json()["contacts"]]

    assert ids(email="B@EXAMPLE.COM") == [str(b)]
    assert ids(email="nobody@example.com") == []
    assert ids(listid=list_id) == [str(a), str(b)]
    assert ids(listid=list_id, status=1) == [str(a)]
    assert ids(listid=list_id, status=-1) == [str(a), str(b)]
    assert ids(id_greater=a) == [str(b), str(c)]
    assert ids(**{"orders[id]": "DESC"}) == [str(c), str(b), str(a)]
    body = client.get("/contacts", params={"email": "a@example.com"}).json()
    assert body["meta"]["total"] == "1"


def test_contact_lists_sets_status_and_can_resubscribe(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    list_id = fake.add_list("L")
    cid = fake.add_contact("a@example.com", lists={list_id: 2})
    response = client.post(
        "/contactLists", json={"contactList": {"list": list_id, "contact": cid, "status": 1}}
    )
    assert response.status_code == 200
    body = response.json()["contactList"]
    assert (body["contact"], body["list"], body["status"]) == (str(cid), str(list_id), 1)
    assert isinstance(body["id"], str)
    snap = fake.contact_by_email("a@example.com")
    assert snap is not None
    assert snap.lists == {list_id: 1}

    unknown_list = client.post(
        "/contactLists", json={"contactList": {"list": 99, "contact": cid, "status": 1}}
    )
    assert unknown_list.status_code == 404
    assert unknown_list.json()["errors"][0]["detail"] == "List not found"
    unknown_contact = client.post(
        "/contactLists", json={"contactList": {"list": list_id, "contact": 99, "status": 1}}
    )
    assert unknown_contact.status_code == 404
    assert unknown_contact.json()["errors"][0]["status"] == 404


def test_fields_index(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.add_field("Tier", perstag="TIER", id=2)
    body = client.get("/fields").json()
    assert body["meta"] == {"total": "1"}
    field = body["fields"][0]
    assert {k: field[k] for k in ("id", "title", "type", "perstag")} == {
        "id": "2",
        "title": "Tier",
        "type": "text",
        "perstag": "TIER",
    }
    assert fake.add_field("Customer tier") == 3
    assert (
        client.get("/fields", params={"filters[perstag]": "CUSTOMER_TIER"}).json()["fields"][0][
            "id"
        ]
        == "3"
    )


def test_tags_search_create_duplicate(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.add_tag("VIP customer")
    fake.add_tag("newsletter")
    found = client.get("/tags", params={"search": "vip"}).json()
    assert found["meta"] == {"total": "1"}
    assert found["tags"][0]["tag"] == "VIP customer"
    assert found["tags"][0]["tagType"] == "contact"
    assert found["tags"][0]["description"] == ""
    created = client.post("/tags", json={"tag": {"tag": "x", "tagType": "contact"}})
    assert created.status_code == 201
    assert created.json()["tag"]["id"] == "3"
    duplicate = client.post("/tags", json={"tag": {"tag": "NEWSLETTER", "tagType": "contact"}})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"]


def test_contact_tags(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    cid = fake.add_contact("a@example.com")
    tag = fake.add_tag("vip")
    payload = {"contactTag": {"contact": str(cid), "tag": str(tag)}}
    first = client.post("/contactTags", json=payload)
    assert first.status_code == 201
    link = first.json()["contactTag"]
    assert (link["contact"], link["tag"]) == (str(cid), str(tag))
    again = client.post("/contactTags", json=payload)
    assert again.status_code == 201
    assert again.json()["contactTag"]["id"] == link["id"]  # the existing link, not a new one

    unknown = client.post("/contactTags", json={"contactTag": {"contact": "99", "tag": str(tag)}})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "errors": [{"status": 404, "title": "Not Found", "detail": "Contact not found"}]
    }
    missing = client.post("/contactTags", json={"contactTag": {"tag": str(tag)}})
    assert missing.status_code == 422

    assert client.delete(f"/contactTags/{link['id']}").json() == {}
    snap = fake.contact_by_email("a@example.com")
    assert snap is not None
    assert snap.tags == set()


def test_default_page_truncates_at_20_and_limit_100_pages(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    for i in range(230):
        fake.add_contact(f"user{i}@example.com")
        fake.add_tag(f"tag{i}")
    for path, key in (("/contacts", "contacts"), ("/tags", "tags")):
        body = client.get(path).json()
        assert len(body[key]) == 20
        assert body["meta"]["total"] == "230"
        seen: list[str] = []
        for offset in range(0, 1000, 100):
            chunk = client.get(path, params={"limit": 100, "offset": offset}).json()[key]
            if not chunk:
                break
            assert len(chunk) <= 100
            seen.extend(item["id"] for item in chunk)
        assert len(seen) == len(set(seen)) == 230
        assert len(client.get(path, params={"limit": 1000}).json()[key]) == 100


def test_lists_and_fields_paginate(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    for i in range(25):
        fake.add_list(f"List {i}")
        fake.add_field(f"Field {i}")
    assert len(client.get("/lists").json()["lists"]) == 20
    assert len(client.get("/lists", params={"offset": 20}).json()["lists"]) == 5
    assert len(client.get("/fields").json()["fields"]) == 20
    assert client.get("/fields").json()["meta"]["total"] == "25"


def test_stats_count_by_template(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    cid = fake.add_contact("a@example.com")
    client.get(f"/contacts/{cid}")
    client.get("/contacts/999")
    stats = fake.stats
    assert stats.requests == 2
    assert stats.calls("GET", "/api/3/contacts/{id}") == 2
    fake.reset_stats()
    assert fake.stats.requests == 0


def test_seed_methods_validate(fake: FakeActiveCampaign) -> None:
    fake.add_contact("a@example.com")
    with pytest.raises(ValueError, match="already exists"):
        fake.add_contact("A@example.com")
    with pytest.raises(ValueError, match="unknown field"):
        fake.add_contact("b@example.com", fields={5: "x"})
    with pytest.raises(ValueError, match="unknown list"):
        fake.add_contact("b@example.com", lists={5: 1})
    assert fake.add_list("x", id=10) == 10
    with pytest.raises(ValueError, match="already exists"):
        fake.add_list("y", id=10)
    assert fake.add_list("z") == 11
    assert fake.add_tag("Vip") == fake.add_tag("VIP")


def test_concurrent_syncs_from_threads_stay_consistent(fake: FakeActiveCampaign) -> None:
    errors: list[BaseException] = []
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    ) as shared:

        def worker(n: int) -> None:
            try:
                for i in range(25):
                    email = f"user{(n * 7 + i) % 40}@Example.com"
                    body = {"contact": {"email": email if n % 2 else email.lower()}}
                    assert shared.post("/contact/sync", json=body).status_code in (200, 201)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert errors == []
    assert len(fake.contacts) == 40
    assert fake.stats.calls("POST", "/api/3/contact/sync") == 200
