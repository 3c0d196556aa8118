"""The fake's mutable records: one class per kind of thing the fake account holds.

Each record is one row of a table in :class:`~acexport.testing._store.Store` (contacts, lists,
fields, tags, list memberships, field values, tag links, bulk-import batches). Times are on the
fake's clock; ``_wire.py`` renders records as ActiveCampaign's JSON, and ``_snapshots.py``
holds the frozen public copies tests see.
"""

from __future__ import annotations

import attrs

from ._snapshots import BatchStatus, FakeBatch

__all__ = [
    "BatchRecord",
    "BulkItem",
    "ContactListRecord",
    "ContactRecord",
    "ContactTagRecord",
    "FieldRecord",
    "FieldValueRecord",
    "ListRecord",
    "TagRecord",
    "perstag_for",
    "slug",
]


@attrs.define
class ContactRecord:
    """A contact (``/contacts``)."""

    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    cdate: float
    udate: float


@attrs.define
class ListRecord:
    """A list (``/lists``)."""

    id: int
    name: str
    stringid: str
    sender_url: str
    sender_reminder: str
    cdate: float


@attrs.define
class FieldRecord:
    """A custom contact field (``/fields``)."""

    id: int
    title: str
    type: str
    perstag: str
    #: option values (dropdown, radio, listbox, checkbox), in order
    options: tuple[str, ...] = ()


@attrs.define
class TagRecord:
    """A tag (``/tags``)."""

    id: int
    name: str
    tag_type: str
    description: str
    cdate: float


@attrs.define
class ContactListRecord:
    """A contact's membership of a list and its status on it (``/contactLists``)."""

    id: int
    contact: int
    list: int
    status: int
    sourceid: int
    sdate: float


@attrs.define
class FieldValueRecord:
    """A contact's value of one custom field (``/fieldValues``)."""

    id: int
    contact: int
    field: int
    value: str
    cdate: float
    udate: float


@attrs.define
class ContactTagRecord:
    """A link between a contact and a tag (``/contactTags``)."""

    id: int
    contact: int
    tag: int
    cdate: float


@attrs.define
class BulkItem:
    """One contact of a bulk-import request, validated, waiting for its batch to be applied.

    A lean store keeps only ``email``, the list changes and ``exclude_automations``: ``values``,
    ``fields`` and ``tags`` stay empty (the empty tuple costs nothing per item).
    """

    email: str
    values: tuple[tuple[str, str], ...]  # (first_name / last_name / phone, value), those sent
    fields: tuple[tuple[int, str], ...]
    tags: tuple[str, ...]
    subscribe: tuple[int, ...]
    unsubscribe: tuple[int, ...]
    exclude_automations: bool


@attrs.define
class BatchRecord:
    """An accepted bulk-import batch: its contacts, its timeline and (once applied) its result.

    ``success`` holds the ids of the contacts it created (``/import/info`` shows them as
    strings). A lean store empties ``items`` once the batch is applied; ``contacts`` keeps
    their number.
    """

    id: str
    seq: int
    items: list[BulkItem]
    contacts: int
    submitted_at: float
    active_at: float
    finishes_at: float
    outcome: str
    applied_fraction: float
    applied: bool = False
    success: list[int] = attrs.Factory(list)
    failure: list[str] = attrs.Factory(list)

    def status(self, now: float) -> BatchStatus:
        """What ``/import/info`` shows as ``status`` at ``now``."""
        if self.applied:
            return self.outcome
        if now < self.active_at:
            return False
        return "active"

    def snapshot(self, now: float) -> FakeBatch:
        """A frozen copy as of ``now``."""
        return FakeBatch(
            id=self.id,
            status=self.status(now),
            outcome=self.outcome,
            contacts=self.contacts,
            emails=tuple(item.email for item in self.items),
            exclude_automations=tuple(item.exclude_automations for item in self.items),
            success=tuple(str(cid) for cid in self.success),
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
