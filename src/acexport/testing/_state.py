"""The fake's data: public snapshot types and the private mutable store (no locking here)."""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import attrs

__all__ = ["FakeBatch", "FakeContact", "FakeStats"]

BatchStatus: TypeAlias = bool | str
"""``False`` (not started yet), ``"active"``, or a terminal ``"completed"``/``"failed"``/
``"interrupted"``: exactly what ``/import/info`` shows as ``status``."""

_WALL_START = datetime.datetime(
    2025, 1, 6, 9, 0, tzinfo=datetime.timezone(-datetime.timedelta(hours=5))
)


def _int_str(value: Mapping[int, str]) -> Mapping[int, str]:
    return dict(value)


def _int_int(value: Mapping[int, int]) -> Mapping[int, int]:
    return dict(value)


def _endpoint_counts(value: Mapping[tuple[str, str], int]) -> Mapping[tuple[str, str], int]:
    return dict(value)


def _str_int(value: Mapping[str, int]) -> Mapping[str, int]:
    return dict(value)


def _frozen_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class FakeContact:
    """A snapshot of one contact in the fake (later changes do not show in it).

    ``fields`` maps custom-field id to value; ``tags`` holds tag *names*; ``lists`` maps list
    id to the contact's status on it (0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced).
    """

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    fields: Mapping[int, str] = attrs.field(factory=dict, converter=_int_str)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_set)
    lists: Mapping[int, int] = attrs.field(factory=dict, converter=_int_int)


@attrs.frozen
class FakeBatch:
    """A snapshot of one accepted bulk-import batch.

    ``status`` is what ``/import/info`` shows now (``False``, ``"active"`` or terminal);
    ``outcome`` is the terminal status it has or will have. ``success`` holds the ids
    (strings) of contacts the batch created; ``failure`` the emails it failed (excluded
    addresses). Both stay empty until the batch ends. ``exclude_automations`` has one flag per
    contact (the contact's own flag, else the request's top-level one, else ``False``).
    Times are on the fake's clock.
    """

    id: str
    status: BatchStatus
    outcome: str
    contacts: int
    emails: tuple[str, ...]
    exclude_automations: tuple[bool, ...]
    success: tuple[str, ...]
    failure: tuple[str, ...]
    submitted_at: float
    active_at: float
    finishes_at: float

    @property
    def finished(self) -> bool:
        """Whether the batch has reached its terminal status."""
        return self.status in ("completed", "failed", "interrupted")


@attrs.frozen
class FakeStats:
    """A snapshot of the fake's request counters (see ``FakeActiveCampaign.stats``).

    - ``requests``: every request received, refused or faulted ones included.
    - ``by_endpoint``: ``(method, path template)`` to count, e.g.
      ``("POST", "/api/3/import/bulk_import")``; unknown paths count under their own path.
    - ``refused_403``: wrong or missing ``Api-Token``.
    - ``refused_429``: refused by the ``requests_per_second`` bucket (not injected 429s).
    - ``refused_bulk_rate``: bulk imports refused by the ``bulk_imports_per_minute`` buckets.
    - ``bulk_requests`` / ``bulk_contacts``: bulk imports accepted (queued) and their contacts.
    - ``faults``: injected faults by name (``"503"``, ``"reset_after"``...).
    - ``max_concurrent``: the most requests in flight at once (meaningful in server mode).
    """

    requests: int = 0
    by_endpoint: Mapping[tuple[str, str], int] = attrs.field(
        factory=dict, converter=_endpoint_counts
    )
    refused_403: int = 0
    refused_429: int = 0
    refused_bulk_rate: int = 0
    bulk_requests: int = 0
    bulk_contacts: int = 0
    faults: Mapping[str, int] = attrs.field(factory=dict, converter=_str_int)
    max_concurrent: int = 0

    def calls(self, method: str, path: str) -> int:
        """How many requests hit ``method`` + ``path`` (a template such as ``/api/3/lists``)."""
        return self.by_endpoint.get((method.upper(), path), 0)


# Mutable records ------------------------------------------------------------------------


@attrs.define
class _Contact:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    cdate: float
    udate: float


@attrs.define
class _List:
    id: int
    name: str
    stringid: str
    sender_url: str
    sender_reminder: str
    cdate: float


@attrs.define
class _Field:
    id: int
    title: str
    type: str
    perstag: str


@attrs.define
class _Tag:
    id: int
    name: str
    tag_type: str
    description: str
    cdate: float


@attrs.define
class _ContactList:
    id: int
    contact: int
    list: int
    status: int
    sourceid: int
    sdate: float


@attrs.define
class _FieldValue:
    id: int
    contact: int
    field: int
    value: str
    cdate: float
    udate: float


@attrs.define
class _ContactTag:
    id: int
    contact: int
    tag: int
    cdate: float


@attrs.define
class _BulkItem:
    email: str
    values: dict[str, str]  # first_name / last_name / phone, only those sent
    fields: list[tuple[int, str]]
    tags: list[str]
    subscribe: list[int]
    unsubscribe: list[int]
    exclude_automations: bool


@attrs.define
class _Batch:
    id: str
    seq: int
    items: list[_BulkItem]
    submitted_at: float
    active_at: float
    finishes_at: float
    outcome: str
    applied_fraction: float
    applied: bool = False
    success: list[str] = attrs.Factory(list)
    failure: list[str] = attrs.Factory(list)

    def status(self, now: float) -> BatchStatus:
        if self.applied:
            return self.outcome
        if now < self.active_at:
            return False
        return "active"

    def snapshot(self, now: float) -> FakeBatch:
        return FakeBatch(
            id=self.id,
            status=self.status(now),
            outcome=self.outcome,
            contacts=len(self.items),
            emails=tuple(item.email for item in self.items),
            exclude_automations=tuple(item.exclude_automations for item in self.items),
            success=tuple(self.success),
            failure=tuple(self.failure),
            submitted_at=self.submitted_at,
            active_at=self.active_at,
            finishes_at=self.finishes_at,
        )


def slug(text: str) -> str:
    """``"Name of List"`` -> ``"name-of-list"`` (ActiveCampaign's ``stringid`` style)."""
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part) or "list"


def perstag_for(title: str) -> str:
    """``"Customer tier"`` -> ``"CUSTOMER_TIER"``."""
    out = "".join(ch.upper() if ch.isalnum() else "_" for ch in title)
    return "_".join(part for part in out.split("_") if part) or "FIELD"


class Store:
    """All of the fake's data, plus the operations both the API and the seed methods use.

    Not thread-safe: the owning ``FakeActiveCampaign`` holds its lock around every call.
    """

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.contacts: dict[int, _Contact] = {}
        self.email_index: dict[str, int] = {}
        self.lists: dict[int, _List] = {}
        self.fields: dict[int, _Field] = {}
        self.tags: dict[int, _Tag] = {}
        self.tag_index: dict[str, int] = {}
        self.contact_lists: dict[int, _ContactList] = {}
        self.contact_list_index: dict[tuple[int, int], int] = {}
        self.field_values: dict[int, _FieldValue] = {}
        self.field_value_index: dict[tuple[int, int], int] = {}
        self.contact_tags: dict[int, _ContactTag] = {}
        self.contact_tag_index: dict[tuple[int, int], int] = {}
        self.batches: dict[str, _Batch] = {}
        self.excluded: set[str] = set()
        self.rejected: list[Callable[[str], bool]] = []
        self._next: dict[str, int] = {}

    # ids and times ------------------------------------------------------------------------

    def new_id(self, kind: str, table: Mapping[int, Any], wanted: int | None = None) -> int:
        if wanted is not None:
            if wanted in table:
                raise ValueError(f"{kind} id {wanted} already exists")
            if wanted < 1:
                raise ValueError(f"{kind} id must be >= 1")
            self._next[kind] = max(self._next.get(kind, 1), wanted + 1)
            return wanted
        value = self._next.get(kind, 1)
        while value in table:
            value += 1
        self._next[kind] = value + 1
        return value

    def iso(self, t: float) -> str:
        return (_WALL_START + datetime.timedelta(seconds=max(0.0, t - self.t0))).isoformat()

    # rules --------------------------------------------------------------------------------

    def is_excluded(self, email: str) -> bool:
        return email.lower() in self.excluded

    def is_rejected(self, email: str) -> bool:
        return any(predicate(email) for predicate in self.rejected)

    # contacts -----------------------------------------------------------------------------

    def find_contact(self, email: str) -> _Contact | None:
        cid = self.email_index.get(email.lower())
        return None if cid is None else self.contacts[cid]

    def create_contact(self, email: str, now: float, wanted: int | None = None) -> _Contact:
        if email.lower() in self.email_index:
            raise ValueError(f"a contact with email {email!r} already exists")
        cid = self.new_id("contact", self.contacts, wanted)
        contact = _Contact(cid, email, "", "", "", now, now)
        self.contacts[cid] = contact
        self.email_index[email.lower()] = cid
        return contact

    def change_email(self, contact: _Contact, email: str) -> None:
        del self.email_index[contact.email.lower()]
        contact.email = email
        self.email_index[email.lower()] = contact.id

    def delete_contact(self, cid: int) -> None:
        contact = self.contacts.pop(cid)
        del self.email_index[contact.email.lower()]
        for table, index in (
            (self.contact_lists, self.contact_list_index),
            (self.field_values, self.field_value_index),
            (self.contact_tags, self.contact_tag_index),
        ):
            for key in [key for key in index if key[0] == cid]:
                del table[index.pop(key)]

    def set_field_value(self, cid: int, field_id: int, value: str, now: float) -> _FieldValue:
        key = (cid, field_id)
        existing = self.field_value_index.get(key)
        if existing is not None:
            record = self.field_values[existing]
            record.value = value
            record.udate = now
            return record
        fid = self.new_id("fieldValue", self.field_values)
        record = _FieldValue(fid, cid, field_id, value, now, now)
        self.field_values[fid] = record
        self.field_value_index[key] = fid
        return record

    def set_list_status(
        self, cid: int, list_id: int, status: int, now: float, sourceid: int = 0
    ) -> _ContactList:
        key = (cid, list_id)
        existing = self.contact_list_index.get(key)
        if existing is not None:
            record = self.contact_lists[existing]
            if record.status != status:
                record.sdate = now
            record.status = status
            record.sourceid = sourceid
            return record
        mid = self.new_id("contactList", self.contact_lists)
        record = _ContactList(mid, cid, list_id, status, sourceid, now)
        self.contact_lists[mid] = record
        self.contact_list_index[key] = mid
        return record

    def list_status(self, cid: int, list_id: int) -> int | None:
        existing = self.contact_list_index.get((cid, list_id))
        return None if existing is None else self.contact_lists[existing].status

    # tags ---------------------------------------------------------------------------------

    def find_tag(self, name: str) -> _Tag | None:
        tid = self.tag_index.get(name.lower())
        return None if tid is None else self.tags[tid]

    def create_tag(
        self, name: str, now: float, tag_type: str = "contact", description: str = ""
    ) -> _Tag:
        tid = self.new_id("tag", self.tags)
        tag = _Tag(tid, name, tag_type, description, now)
        self.tags[tid] = tag
        self.tag_index[name.lower()] = tid
        return tag

    def link_tag(self, cid: int, tag_id: int, now: float) -> _ContactTag:
        key = (cid, tag_id)
        existing = self.contact_tag_index.get(key)
        if existing is not None:
            return self.contact_tags[existing]
        lid = self.new_id("contactTag", self.contact_tags)
        link = _ContactTag(lid, cid, tag_id, now)
        self.contact_tags[lid] = link
        self.contact_tag_index[key] = lid
        return link

    # batches ------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Apply every batch whose processing has finished by ``now``, in finishing order."""
        due = [b for b in self.batches.values() if not b.applied and b.finishes_at <= now]
        for batch in sorted(due, key=lambda b: (b.finishes_at, b.seq)):
            self.apply_batch(batch)

    def apply_batch(self, batch: _Batch) -> None:
        count = len(batch.items)
        if batch.outcome != "completed":
            count = math.floor(count * batch.applied_fraction)
        now = batch.finishes_at
        for item in batch.items[:count]:
            if self.is_excluded(item.email):
                batch.failure.append(item.email)
                continue
            contact = self.find_contact(item.email)
            if contact is None:
                contact = self.create_contact(item.email, now)
                batch.success.append(str(contact.id))
            for key, value in item.values.items():
                setattr(contact, key, value)
            contact.udate = now
            for field_id, value in item.fields:
                self.set_field_value(contact.id, field_id, value, now)
            for name in item.tags:
                tag = self.find_tag(name) or self.create_tag(name, now)
                self.link_tag(contact.id, tag.id, now)
            for list_id in item.subscribe:
                # Bulk import never re-subscribes someone who unsubscribed (AC's rule).
                if self.list_status(contact.id, list_id) != 2:
                    self.set_list_status(contact.id, list_id, 1, now)
            for list_id in item.unsubscribe:
                self.set_list_status(contact.id, list_id, 2, now)
        batch.applied = True

    # snapshots and JSON -------------------------------------------------------------------

    def snapshot(self, contact: _Contact) -> FakeContact:
        return self.snapshots([contact])[0]

    def snapshots(self, contacts: Iterable[_Contact]) -> list[FakeContact]:
        """Snapshots of ``contacts``, reading each index once (not once per contact)."""
        wanted = {c.id: c for c in contacts}
        fields: dict[int, dict[int, str]] = {cid: {} for cid in wanted}
        tags: dict[int, set[str]] = {cid: set() for cid in wanted}
        lists: dict[int, dict[int, int]] = {cid: {} for cid in wanted}
        for (cid, field_id), fid in self.field_value_index.items():
            if cid in wanted:
                fields[cid][field_id] = self.field_values[fid].value
        for cid, tag_id in self.contact_tag_index:
            if cid in wanted:
                tags[cid].add(self.tags[tag_id].name)
        for (cid, list_id), mid in self.contact_list_index.items():
            if cid in wanted:
                lists[cid][list_id] = self.contact_lists[mid].status
        return [
            FakeContact(
                id=cid,
                email=c.email,
                first_name=c.first_name,
                last_name=c.last_name,
                phone=c.phone,
                fields=fields[cid],
                tags=frozenset(tags[cid]),
                lists=lists[cid],
            )
            for cid, c in wanted.items()
        ]

    def contact_json(self, contact: _Contact) -> dict[str, Any]:
        digest = hashlib.md5(contact.email.lower().encode(), usedforsecurity=False).hexdigest()
        return {
            "email": contact.email,
            "phone": contact.phone,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "email_empty": False,
            "cdate": self.iso(contact.cdate),
            "udate": self.iso(contact.udate),
            "orgid": "",
            "orgname": "",
            "hash": digest,
            "fieldValues": [
                str(fid) for key, fid in self.field_value_index.items() if key[0] == contact.id
            ],
            "id": str(contact.id),
            "organization": "",
        }

    def list_json(self, item: _List) -> dict[str, Any]:
        return {
            "name": item.name,
            "stringid": item.stringid,
            "sender_url": item.sender_url,
            "sender_reminder": item.sender_reminder,
            "cdate": self.iso(item.cdate),
            "udate": self.iso(item.cdate),
            "id": str(item.id),
        }

    def field_json(self, item: _Field) -> dict[str, Any]:
        return {
            "title": item.title,
            "descript": "",
            "type": item.type,
            "isrequired": "0",
            "perstag": item.perstag,
            "defval": "",
            "visible": "1",
            "ordernum": str(item.id),
            "options": [],
            "relations": [],
            "id": str(item.id),
        }

    def tag_json(self, item: _Tag) -> dict[str, Any]:
        return {
            "tagType": item.tag_type,
            "tag": item.name,
            "description": item.description,
            "cdate": self.iso(item.cdate),
            "id": str(item.id),
        }

    def contact_list_json(self, item: _ContactList, *, int_status: bool = False) -> dict[str, Any]:
        return {
            "contact": str(item.contact),
            "list": str(item.list),
            "status": item.status if int_status else str(item.status),
            "sourceid": str(item.sourceid),
            "sdate": self.iso(item.sdate),
            "unsubreason": "",
            "id": str(item.id),
        }

    def field_value_json(self, item: _FieldValue) -> dict[str, Any]:
        return {
            "contact": str(item.contact),
            "field": str(item.field),
            "value": item.value,
            "cdate": self.iso(item.cdate),
            "udate": self.iso(item.udate),
            "id": str(item.id),
            "owner": str(item.contact),
        }

    def contact_tag_json(self, item: _ContactTag) -> dict[str, Any]:
        return {
            "contact": str(item.contact),
            "tag": str(item.tag),
            "cdate": self.iso(item.cdate),
            "id": str(item.id),
        }
