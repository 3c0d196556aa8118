"""Every resource method through the fake, on both clients."""

from __future__ import annotations

import pytest

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    BulkContact,
    BulkImportStatus,
    ConfigError,
    ListStatus,
    NotFoundError,
    UnprocessableEntityError,
)
from acexport.testing import FakeActiveCampaign, VirtualClock


def test_users_me(client: ActiveCampaign) -> None:
    me = client.users.me()
    assert me.id == 1
    assert me.email


def test_lists(client: ActiveCampaign, fake: FakeActiveCampaign) -> None:
    for i in range(130):  # more than one page of 100 and far more than the default 20
        fake.add_list(f"List {i}")
    lists = list(client.lists.list())
    assert len(lists) == 131
    assert len({x.id for x in lists}) == 131
    assert client.lists.get(lists[5].id).name == lists[5].name
    with pytest.raises(NotFoundError):
        client.lists.get(99_999)
    created = client.lists.create(
        "Promo", sender_url="https://shop.example.com", sender_reminder="You signed up"
    )
    assert created.id > 0
    assert created.name == "Promo"
    assert created.stringid == "promo"


def test_contacts(client: ActiveCampaign, fake: FakeActiveCampaign) -> None:
    contact = client.contacts.sync("Ann@Example.com", first_name="Ann", fields={1: "gold"})
    assert contact.id > 0
    assert contact.first_name == "Ann"
    again = client.contacts.sync("ann@example.com", last_name="Lee")
    assert again.id == contact.id
    state = fake.contact_by_email("ann@example.com")
    assert state is not None
    assert state.first_name == "Ann"  # not blanked by the second sync
    assert state.last_name == "Lee"
    assert state.fields == {1: "gold"}
    assert client.contacts.get(contact.id).email.lower() == "ann@example.com"
    found = client.contacts.find_by_email("ANN@example.com")
    assert found is not None
    assert found.id == contact.id
    assert client.contacts.find_by_email("nobody@example.com") is None

    membership = client.contacts.update_list_status(contact.id, 1, ListStatus.ACTIVE)
    assert (membership.contact_id, membership.list_id, membership.status) == (
        contact.id,
        1,
        ListStatus.ACTIVE,
    )
    assert [m.status for m in client.contacts.list_memberships(contact.id)] == [ListStatus.ACTIVE]

    tag = client.tags.create("vip")
    link = client.contacts.add_tag(contact.id, tag.id)
    assert (link.contact_id, link.tag_id) == (contact.id, tag.id)
    assert fake.contact_by_email("ann@example.com").tags == {"vip"}  # type: ignore[union-attr]
    (found,) = client.contacts.tags(contact.id)
    assert (found.id, found.tag_id) == (link.id, tag.id)
    assert found.id is not None
    client.contacts.remove_tag(found.id)
    assert client.contacts.tags(contact.id) == ()
    moved = client.contacts.change_email(contact.id, "ann.new@example.com")
    assert (moved.id, moved.email) == (contact.id, "ann.new@example.com")
    client.contacts.sync("bob@example.com")
    with pytest.raises(UnprocessableEntityError):
        client.contacts.change_email(contact.id, "bob@example.com")
    contact = client.contacts.change_email(contact.id, "ann@example.com")

    client.contacts.delete(contact.id)
    with pytest.raises(NotFoundError):
        client.contacts.get(contact.id)
    assert client.contacts.find_by_email("ann@example.com") is None


def test_contact_listing_pages_by_id(client: ActiveCampaign, fake: FakeActiveCampaign) -> None:
    for i in range(250):
        fake.add_contact(f"p{i}@example.com", lists={1: 1 if i % 2 else 2})
    assert len(list(client.contacts.list())) == 250
    active = list(client.contacts.list(list_id=1, status=ListStatus.ACTIVE))
    assert len(active) == 125
    assert [c.id for c in active] == sorted(c.id for c in active)


def test_fields_and_tags(client: ActiveCampaign) -> None:
    fields = list(client.fields.list())
    assert {(f.title, f.perstag) for f in fields} == {("Tier", "TIER"), ("Birthday", "BIRTHDAY")}
    for name in ("alpha", "alphabet", "beta"):
        client.tags.create(name)
    assert {t.name for t in client.tags.list(search="alpha")} == {"alpha", "alphabet"}
    assert len(list(client.tags.list())) == 3
    with pytest.raises(UnprocessableEntityError):
        client.tags.create("ALPHA")  # ActiveCampaign refuses duplicate names, any case


def test_bulk_import_and_info(
    client: ActiveCampaign, fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    contacts = [
        BulkContact(
            f"b{i}@example.com",
            first_name=f"B{i}",
            fields={1: "silver"},
            tags=["bulk"],
            subscribe=[1],
        )
        for i in range(20)
    ]
    batch_id = client.imports.bulk(contacts, exclude_automations=True)
    first = client.imports.info(batch_id)
    assert first.status is None  # status: false right after submission
    assert not first.finished
    clock.advance(5)
    done = client.imports.info(batch_id)
    assert done.status is BulkImportStatus.COMPLETED
    assert len(done.succeeded_ids) == 20
    state = fake.contact_by_email("b3@example.com")
    assert state is not None
    assert state.lists == {1: 1}
    assert state.fields == {1: "silver"}
    assert state.tags == {"bulk"}


def test_bulk_import_refuses_oversized_batches_before_sending(
    client: ActiveCampaign, fake: FakeActiveCampaign
) -> None:
    before = fake.stats.requests
    with pytest.raises(ConfigError, match="250"):
        client.imports.bulk([BulkContact(f"x{i}@example.com") for i in range(251)])
    assert fake.stats.requests == before


@pytest.mark.anyio
async def test_async_resources(
    aclient: AsyncActiveCampaign, fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    me = await aclient.users.me()
    assert me.id == 1
    for i in range(30):
        fake.add_list(f"L{i}")
    assert len([x async for x in aclient.lists.list()]) == 31
    contact = await aclient.contacts.sync("zed@example.com", phone="+15550100")
    assert (await aclient.contacts.get(contact.id)).phone == "+15550100"
    assert (await aclient.contacts.find_by_email("ZED@example.com")) is not None
    await aclient.contacts.update_list_status(contact.id, 1, ListStatus.UNSUBSCRIBED)
    assert [m.status for m in await aclient.contacts.list_memberships(contact.id)] == [
        ListStatus.UNSUBSCRIBED
    ]
    tag = await aclient.tags.create("async")
    await aclient.contacts.add_tag(contact.id, tag.id)
    assert [t.name async for t in aclient.tags.list(search="asy")] == ["async"]
    assert len([f async for f in aclient.fields.list()]) == 2
    assert len([c async for c in aclient.contacts.list(list_id=1)]) == 1
    batch_id = await aclient.imports.bulk(
        [BulkContact(f"a{i}@example.com", subscribe=[1]) for i in range(3)]
    )
    clock.advance(5)
    assert (await aclient.imports.info(batch_id)).status is BulkImportStatus.COMPLETED
    with pytest.raises(NotFoundError):
        await aclient.lists.get(404)
    await aclient.contacts.delete(contact.id)
    assert await aclient.contacts.find_by_email("zed@example.com") is None


def test_client_takes_field_ids_and_statuses_with_clear_errors(client: ActiveCampaign) -> None:
    with pytest.raises(ConfigError, match=r"client\.fields\.list\(\)"):
        client.contacts.sync("g@example.com", fields={"TIER": "x"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="ListStatus"):
        client.contacts.update_list_status(1, 1, "active")  # type: ignore[arg-type]
    assert (
        client.contacts.update_list_status(
            client.contacts.sync("h@example.com").id,
            1,
            1,  # type: ignore[arg-type]
        ).status
        is ListStatus.ACTIVE
    )
