"""The bulk-import body: one encoder for ``client.imports.bulk`` and the exporter's planner.

A contact is a compact JSON object, keys in this order: ``email``, ``first_name``,
``last_name``, ``phone``, ``fields``, ``tags``, ``subscribe``, ``unsubscribe``,
``exclude_automations``; values are encoded by the standard library's C string encoder (what
``json.dumps(..., ensure_ascii=False)`` uses), so the bytes are exactly those of
``json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()``. The planner builds
the same object from the same fragments (:func:`contact_tail`, :data:`BODY_HEAD`) in its hot
loop; ``tests/core/test_bulk.py`` holds both to ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from .._exceptions import ConfigError
from .._models import BulkContact
from ._limits import BULK_MAX_BYTES, BULK_MAX_CONTACTS
from ._operations import _field_id

__all__ = [
    "BODY_EMPTY_LEN",
    "BODY_EXCLUDE",
    "bulk_body",
    "check_bulk_limits",
    "contact_tail",
    "encode_str",
    "join_body",
]

#: A JSON string literal for ``text`` (quotes included), as ``json.dumps`` writes it.
encode_str: Callable[[str], str] = json.encoder.encode_basestring

BODY_HEAD = b'{"contacts":['
BODY_EXCLUDE = b',"exclude_automations":true'
#: ``len(b'{"contacts":[]}')``: a body's size is this, plus its contacts, plus the commas.
BODY_EMPTY_LEN = len(BODY_HEAD) + 2


def contact_tail(
    tags: Sequence[str],
    subscribe: Iterable[int],
    unsubscribe: Iterable[int],
    exclude_automations: bool,
) -> str:
    """The end of a contact's object, after its values: tags, lists, the flag, ``}``."""
    tail = ""
    if tags:
        tail += ',"tags":[' + ",".join(encode_str(t) for t in tags) + "]"
    for key, lists in (("subscribe", subscribe), ("unsubscribe", unsubscribe)):
        ids = [f'{{"listid":{int(i)}}}' for i in lists]
        if ids:
            tail += f',"{key}":[' + ",".join(ids) + "]"
    if exclude_automations:
        tail += ',"exclude_automations":true'
    return tail + "}"


def encode_contact(contact: BulkContact, *, exclude_automations: bool) -> bytes:
    """One contact's object (values left as None are left out)."""
    text = '{"email":' + encode_str(contact.email)
    for key in ("first_name", "last_name", "phone"):
        value = getattr(contact, key)
        if value is not None:
            text += f',"{key}":' + encode_str(value)
    if contact.fields:
        items = [
            f'{{"id":{_field_id(k)},"value":' + encode_str(v) + "}"
            for k, v in contact.fields.items()
        ]
        text += ',"fields":[' + ",".join(items) + "]"
    tail = contact_tail(contact.tags, contact.subscribe, contact.unsubscribe, exclude_automations)
    return (text + tail).encode()


def join_body(contacts: Sequence[bytes], *, exclude_automations: bool) -> bytes:
    """The request body around already encoded contacts.

    ``exclude_automations`` is sent at the top level as well as in each contact: where
    ActiveCampaign reads it is not documented (per contact in its reference's example,
    top-level in other clients).
    """
    tail = BODY_EXCLUDE + b"}" if exclude_automations else b"}"
    return BODY_HEAD + b",".join(contacts) + b"]" + tail


def bulk_body(contacts: Iterable[BulkContact], *, exclude_automations: bool) -> bytes:
    """The body of ``POST /import/bulk_import`` for ``contacts``."""
    encoded = [encode_contact(c, exclude_automations=exclude_automations) for c in contacts]
    return join_body(encoded, exclude_automations=exclude_automations)


def check_bulk_limits(contact_count: int, body_bytes: int) -> None:
    """Refuse, before sending, a bulk import ActiveCampaign would refuse whole (ConfigError)."""
    if not 1 <= contact_count <= BULK_MAX_CONTACTS:
        raise ConfigError(
            f"a bulk import takes 1 to {BULK_MAX_CONTACTS} contacts, not {contact_count}"
        )
    if body_bytes > BULK_MAX_BYTES:
        raise ConfigError(
            f"the bulk import body is {body_bytes:,} bytes; ActiveCampaign takes at most "
            f"{BULK_MAX_BYTES:,}: send fewer contacts per call"
        )
