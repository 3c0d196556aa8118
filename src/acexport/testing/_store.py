"""The fake account's data: :class:`Store`, its tables and the operations on them.

Endpoint handlers (``_endpoints_*.py``) and ``FakeActiveCampaign``'s seed methods both change
the account through these operations, so ActiveCampaign's rules (emails match any case; bulk
import never re-subscribes an unsubscribed contact...) are written once. Applying a finished
bulk-import batch lives here too, and so does the lean mode (:attr:`Store.lean`). No locking:
the owner holds its lock around every call.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._email import is_valid_email
from ._records import (
    BatchRecord,
    ContactListRecord,
    ContactRecord,
    ContactTagRecord,
    FieldRecord,
    FieldValueRecord,
    ListRecord,
    TagRecord,
)
from ._snapshots import FakeContact

__all__ = ["Store"]

_WALL_START = datetime.datetime(
    2025, 1, 6, 9, 0, tzinfo=datetime.timezone(-datetime.timedelta(hours=5))
)


def _email_key(email: str) -> str:
    """``email`` lower-cased, as the index keys it: the same string when it is already so."""
    key = email.lower()
    return email if key == email else key


class Store:
    """All of the fake's data, plus the operations both the API and the seed methods use.

    Tables map id to record; the ``*_index`` dicts find a record by its natural key (a
    lower-cased email, a lower-cased tag name, ``(contact id, list/field/tag id)``).
    Not thread-safe: the owning ``FakeActiveCampaign`` holds its lock around every call.

    ``lean``: bulk imports keep only what an export needs answered: each contact's id and
    email, its list statuses, and each batch's counts and results. The names, phone, field
    values and tags they send are validated, then dropped (no tag is created or linked), and a
    batch's contacts are dropped once it is applied. What the per-contact endpoints and the
    seed methods write is kept in full.
    """

    def __init__(self, t0: float, *, lean: bool = False) -> None:
        self.t0 = t0
        self.lean = lean
        self.contacts: dict[int, ContactRecord] = {}
        self.email_index: dict[str, int] = {}
        self.lists: dict[int, ListRecord] = {}
        self.fields: dict[int, FieldRecord] = {}
        self.tags: dict[int, TagRecord] = {}
        self.tag_index: dict[str, int] = {}
        self.contact_lists: dict[int, ContactListRecord] = {}
        self.contact_list_index: dict[tuple[int, int], int] = {}
        self.field_values: dict[int, FieldValueRecord] = {}
        self.field_value_index: dict[tuple[int, int], int] = {}
        self.contact_tags: dict[int, ContactTagRecord] = {}
        self.contact_tag_index: dict[tuple[int, int], int] = {}
        self.batches: dict[str, BatchRecord] = {}
        self._unapplied: list[BatchRecord] = []
        self.excluded: set[str] = set()
        self.rejected: list[Callable[[str], bool]] = []
        self._next: dict[str, int] = {}

    # ids and times ------------------------------------------------------------------------

    def new_id(self, kind: str, table: Mapping[int, Any], wanted: int | None = None) -> int:
        """The next free id of ``kind`` in ``table``, or ``wanted`` if it is free."""
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
        """A time on the fake's clock as the ISO 8601 wall time ActiveCampaign shows."""
        return (_WALL_START + datetime.timedelta(seconds=max(0.0, t - self.t0))).isoformat()

    # rules --------------------------------------------------------------------------------

    def is_excluded(self, email: str) -> bool:
        """Whether ``email`` is on the account's exclusion list."""
        return email.lower() in self.excluded

    def is_rejected(self, email: str) -> bool:
        """Whether a ``reject_emails`` rule refuses ``email``."""
        return any(predicate(email) for predicate in self.rejected)

    def refuses_email(self, email: object) -> bool:
        """Whether the API refuses ``email`` as invalid (malformed, or a rejection rule)."""
        return not is_valid_email(email) or self.is_rejected(str(email))

    # contacts -----------------------------------------------------------------------------

    def find_contact(self, email: str) -> ContactRecord | None:
        """The contact with ``email`` (any case), or ``None``."""
        cid = self.email_index.get(email.lower())
        return None if cid is None else self.contacts[cid]

    def create_contact(self, email: str, now: float, wanted: int | None = None) -> ContactRecord:
        """A new contact; ``ValueError`` if ``email`` (any case) is taken."""
        key = _email_key(email)
        if key in self.email_index:
            raise ValueError(f"a contact with email {email!r} already exists")
        cid = self.new_id("contact", self.contacts, wanted)
        contact = ContactRecord(cid, email, "", "", "", now, now)
        self.contacts[cid] = contact
        self.email_index[key] = cid
        return contact

    def change_email(self, contact: ContactRecord, email: str) -> None:
        """Give ``contact`` a new email (the caller checked that it is free)."""
        del self.email_index[contact.email.lower()]
        contact.email = email
        self.email_index[_email_key(email)] = contact.id

    def delete_contact(self, cid: int) -> None:
        """Delete a contact with its memberships, field values and tag links."""
        contact = self.contacts.pop(cid)
        del self.email_index[contact.email.lower()]
        for table, index in (
            (self.contact_lists, self.contact_list_index),
            (self.field_values, self.field_value_index),
            (self.contact_tags, self.contact_tag_index),
        ):
            for key in [key for key in index if key[0] == cid]:
                del table[index.pop(key)]

    def set_field_value(self, cid: int, field_id: int, value: str, now: float) -> None:
        """Set (create or overwrite) a contact's value of a custom field."""
        key = (cid, field_id)
        existing = self.field_value_index.get(key)
        if existing is not None:
            record = self.field_values[existing]
            record.value = value
            record.udate = now
            return
        fid = self.new_id("fieldValue", self.field_values)
        self.field_values[fid] = FieldValueRecord(fid, cid, field_id, value, now, now)
        self.field_value_index[key] = fid

    def field_values_of(self, cid: int) -> list[FieldValueRecord]:
        """A contact's field values."""
        return [
            self.field_values[fid] for key, fid in self.field_value_index.items() if key[0] == cid
        ]

    def set_list_status(
        self, cid: int, list_id: int, status: int, now: float, sourceid: int = 0
    ) -> ContactListRecord:
        """Set a contact's status on a list, creating the membership if need be."""
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
        record = ContactListRecord(mid, cid, list_id, status, sourceid, now)
        self.contact_lists[mid] = record
        self.contact_list_index[key] = mid
        return record

    def list_status(self, cid: int, list_id: int) -> int | None:
        """A contact's status on a list, ``None`` if it is not on it."""
        existing = self.contact_list_index.get((cid, list_id))
        return None if existing is None else self.contact_lists[existing].status

    # tags ---------------------------------------------------------------------------------

    def find_tag(self, name: str) -> TagRecord | None:
        """The tag named ``name`` (any case), or ``None``."""
        tid = self.tag_index.get(name.lower())
        return None if tid is None else self.tags[tid]

    def create_tag(
        self, name: str, now: float, tag_type: str = "contact", description: str = ""
    ) -> TagRecord:
        """A new tag (the caller checked the name is free)."""
        tid = self.new_id("tag", self.tags)
        tag = TagRecord(tid, name, tag_type, description, now)
        self.tags[tid] = tag
        self.tag_index[name.lower()] = tid
        return tag

    def link_tag(self, cid: int, tag_id: int, now: float) -> ContactTagRecord:
        """Tag a contact; an existing link is returned as it is."""
        key = (cid, tag_id)
        existing = self.contact_tag_index.get(key)
        if existing is not None:
            return self.contact_tags[existing]
        lid = self.new_id("contactTag", self.contact_tags)
        link = ContactTagRecord(lid, cid, tag_id, now)
        self.contact_tags[lid] = link
        self.contact_tag_index[key] = lid
        return link

    def unlink_tag(self, link: ContactTagRecord) -> None:
        """Remove a tag link."""
        del self.contact_tags[link.id]
        del self.contact_tag_index[(link.contact, link.tag)]

    # batches ------------------------------------------------------------------------------

    def add_batch(self, batch: BatchRecord) -> None:
        """Accept a batch; it is applied once the clock passes its ``finishes_at``."""
        self.batches[batch.id] = batch
        self._unapplied.append(batch)

    def apply_finished_batches(self, now: float) -> None:
        """Apply every batch whose processing has finished by ``now``, in finishing order."""
        if not self._unapplied:
            return
        due = [b for b in self._unapplied if b.finishes_at <= now]
        if not due:
            return
        self._unapplied = [b for b in self._unapplied if b.finishes_at > now]
        for batch in sorted(due, key=lambda b: (b.finishes_at, b.seq)):
            self.apply_batch(batch)

    def apply_batch(self, batch: BatchRecord) -> None:
        """Write a batch's contacts into the account (all, or the applied part of a failed one)."""
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
                batch.success.append(contact.id)
            for key, value in item.values:
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
        if self.lean:
            batch.items = []

    # snapshots ----------------------------------------------------------------------------

    def snapshot(self, contact: ContactRecord) -> FakeContact:
        """A frozen copy of ``contact`` with its fields, tags and lists."""
        return self.snapshots([contact])[0]

    def snapshots(self, contacts: Iterable[ContactRecord]) -> list[FakeContact]:
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
