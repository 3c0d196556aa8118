"""The fake's records rendered as ActiveCampaign's JSON: ids as strings, times as ISO wall time.

One function per record type, each the object AC puts in its replies (``{"contact": ...}``,
``{"lists": [...]}``...). The keys and their order follow AC's documented examples.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._records import (
    ContactListRecord,
    ContactRecord,
    ContactTagRecord,
    FieldRecord,
    FieldValueRecord,
    ListRecord,
    TagRecord,
)
from ._store import Store

__all__ = [
    "contact_json",
    "contact_list_json",
    "contact_tag_json",
    "field_json",
    "field_options_json",
    "field_value_json",
    "list_json",
    "tag_json",
]


def contact_json(store: Store, contact: ContactRecord) -> dict[str, Any]:
    """A contact as ``/contacts`` shows it."""
    digest = hashlib.md5(contact.email.lower().encode(), usedforsecurity=False).hexdigest()
    return {
        "email": contact.email,
        "phone": contact.phone,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email_empty": False,
        "cdate": store.iso(contact.cdate),
        "udate": store.iso(contact.udate),
        "orgid": "",
        "orgname": "",
        "hash": digest,
        "fieldValues": [
            str(fid) for key, fid in store.field_value_index.items() if key[0] == contact.id
        ],
        "id": str(contact.id),
        "organization": "",
    }


def list_json(store: Store, item: ListRecord) -> dict[str, Any]:
    """A list as ``/lists`` shows it."""
    return {
        "name": item.name,
        "stringid": item.stringid,
        "sender_url": item.sender_url,
        "sender_reminder": item.sender_reminder,
        "cdate": store.iso(item.cdate),
        "udate": store.iso(item.cdate),
        "id": str(item.id),
    }


def field_json(item: FieldRecord) -> dict[str, Any]:
    """A custom field as ``/fields`` shows it."""
    return {
        "title": item.title,
        "descript": "",
        "type": item.type,
        "isrequired": "0",
        "perstag": item.perstag,
        "defval": "",
        "visible": "1",
        "ordernum": str(item.id),
        "options": [str(option_id(item, n)) for n in range(len(item.options))],
        "relations": [],
        "id": str(item.id),
    }


def option_id(item: FieldRecord, n: int) -> int:
    """The id of ``item``'s ``n``-th option (from 0)."""
    return item.id * 1000 + n + 1


def field_options_json(item: FieldRecord) -> list[dict[str, Any]]:
    """A field's options as ``/fields`` lists them beside the fields (``fieldOptions``)."""
    return [
        {
            "field": str(item.id),
            "orderid": str(n + 1),
            "value": value,
            "label": value,
            "isdefault": "0",
            "id": str(option_id(item, n)),
        }
        for n, value in enumerate(item.options)
    ]


def tag_json(store: Store, item: TagRecord) -> dict[str, Any]:
    """A tag as ``/tags`` shows it."""
    return {
        "tagType": item.tag_type,
        "tag": item.name,
        "description": item.description,
        "cdate": store.iso(item.cdate),
        "id": str(item.id),
    }


def contact_list_json(
    store: Store, item: ContactListRecord, *, int_status: bool = False
) -> dict[str, Any]:
    """A list membership; ``int_status`` gives ``status`` as a number (``POST contactLists``)."""
    return {
        "contact": str(item.contact),
        "list": str(item.list),
        "status": item.status if int_status else str(item.status),
        "sourceid": str(item.sourceid),
        "sdate": store.iso(item.sdate),
        "unsubreason": "",
        "id": str(item.id),
    }


def field_value_json(store: Store, item: FieldValueRecord) -> dict[str, Any]:
    """A contact's field value as ``/fieldValues`` shows it."""
    return {
        "contact": str(item.contact),
        "field": str(item.field),
        "value": item.value,
        "cdate": store.iso(item.cdate),
        "udate": store.iso(item.udate),
        "id": str(item.id),
        "owner": str(item.contact),
    }


def contact_tag_json(store: Store, item: ContactTagRecord) -> dict[str, Any]:
    """A tag link as ``/contactTags`` shows it."""
    return {
        "contact": str(item.contact),
        "tag": str(item.tag),
        "cdate": store.iso(item.cdate),
        "id": str(item.id),
    }
