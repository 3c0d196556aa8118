"""The values the client returns and takes: frozen attrs classes, ids as ints.

ActiveCampaign sends ids as strings (``"id": "113"``); :mod:`acexport._serde` turns them into
ints on the way in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

__all__ = [
    "BulkContact",
    "BulkImportInfo",
    "BulkImportStatus",
    "Contact",
    "ContactList",
    "ContactTag",
    "CustomField",
    "ListMembership",
    "ListStatus",
    "Tag",
    "User",
]


class ListStatus(enum.IntEnum):
    """A contact's status on a list, as ActiveCampaign numbers it."""

    UNCONFIRMED = 0
    ACTIVE = 1
    UNSUBSCRIBED = 2
    BOUNCED = 3


class BulkImportStatus(str, enum.Enum):
    """Where a bulk-import batch stands (``/import/info``'s ``status``)."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """True for the terminal states: completed, failed, interrupted."""
        return self in (
            BulkImportStatus.COMPLETED,
            BulkImportStatus.FAILED,
            BulkImportStatus.INTERRUPTED,
        )


@attrs.frozen
class User:
    """The user the API key belongs to (``users.me()``)."""

    id: int
    username: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""


@attrs.frozen
class ContactList:
    """A list. ``id`` is the numeric id every other call takes; ``stringid`` is a URL slug."""

    id: int
    name: str = ""
    stringid: str = ""


@attrs.frozen
class Contact:
    """A contact. Empty strings where ActiveCampaign has no value."""

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@attrs.frozen
class ListMembership:
    """A contact's membership of one list (``contactLists``).

    ``id`` is None when the answer to ``update_list_status`` left it out (the change was made).
    """

    id: int | None
    contact_id: int
    list_id: int
    status: ListStatus


@attrs.frozen
class CustomField:
    """A custom contact field. Write calls take ``id``; ``perstag`` is the personalization tag.

    ``options`` holds the values of a ``dropdown``, ``radio``, ``listbox`` or ``checkbox``
    field's options, in the account's order, as ``GET /fields`` lists them beside the fields
    (``fieldOptions``); it is empty for other types, and when the answer listed none.
    """

    id: int
    title: str = ""
    type: str = ""
    perstag: str = ""
    options: tuple[str, ...] = ()


@attrs.frozen
class Tag:
    """A tag (``name`` is ActiveCampaign's ``tag``)."""

    id: int
    name: str
    tag_type: str = "contact"
    description: str = ""


@attrs.frozen
class ContactTag:
    """A tag applied to a contact. Removing it takes this ``id``, not the tag's.

    ``id`` is None when the answer to ``add_tag`` left it out (the tag was applied).
    """

    id: int | None
    contact_id: int
    tag_id: int


def _fields_converter(value: Mapping[int, str] | None) -> Mapping[int, str]:
    return dict(value) if value else {}


@attrs.frozen
class BulkContact:
    """One contact of a bulk import.

    ``fields`` maps custom-field ids to formatted values; ``tags`` are tag names (created when
    missing); ``subscribe`` and ``unsubscribe`` are list ids. A contact who unsubscribed from a
    list is not re-subscribed by ``subscribe`` (ActiveCampaign's rule).
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    fields: Mapping[int, str] = attrs.field(factory=dict, converter=_fields_converter)
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    subscribe: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    unsubscribe: tuple[int, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class BulkImportInfo:
    """A bulk-import batch's progress (``imports.info(batch_id)``).

    ``status`` is None while ActiveCampaign has not started the batch (it answers
    ``status: false`` for about a second after the submission). ``succeeded_ids`` are the ids
    of contacts it created; ``failed_emails`` the addresses it refused.
    """

    batch_id: str
    status: BulkImportStatus | None
    succeeded_ids: tuple[int, ...] = ()
    failed_emails: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """True once the batch reached completed, failed or interrupted."""
        return self.status is not None and self.status.finished
