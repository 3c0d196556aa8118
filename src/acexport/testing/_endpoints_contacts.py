"""Endpoints of contacts and their list memberships: ``contact/sync``, ``contacts``,
``contacts/{id}/contactLists|fieldValues|contactTags`` and ``POST contactLists``.

``contact/sync``, ``POST contacts`` and ``PUT contacts/{id}`` share the helpers at the top:
reading ``fieldValues`` and writing the keys a body holds (``null`` counts as absent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._records import ContactRecord
from ._replies import (
    DUPLICATE_EMAIL,
    EMAIL_INVALID,
    Reply,
    error_422,
    missing_attribute,
    not_found_errors,
    not_found_message,
    reply_json,
)
from ._routing import Request, RouteTable, as_id, as_text, body_object, int_param, page
from ._store import Store
from ._wire import contact_json, contact_list_json, contact_tag_json, field_value_json

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher

__all__ = ["routes"]

routes = RouteTable()

# shared by the contact endpoints --------------------------------------------------------


def _contact(store: Store, ident: str) -> ContactRecord | None:
    """The contact whose id is the path segment ``ident``, or ``None``."""
    cid = as_id(ident)
    return None if cid is None else store.contacts.get(cid)


def _parse_field_values(store: Store, raw: object) -> list[tuple[int, str]] | Reply:
    """``fieldValues`` of a contact body, or the 422 that rejects it."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return error_422("Field values must be a list", "field_invalid", "fieldValues")
    out: list[tuple[int, str]] = []
    for index, item in enumerate(raw):
        pointer = f"fieldValues/{index}/field"
        if not isinstance(item, dict) or "field" not in item:
            return error_422("Missing attribute", "field_missing", pointer)
        field_id = as_id(item["field"])
        if field_id is None or field_id not in store.fields:
            return error_422(
                "Field not found",
                "field_invalid",
                pointer,
                f"No custom field with id {item['field']}",
            )
        out.append((field_id, as_text(item.get("value")) or ""))
    return out


def _write_contact(
    store: Store,
    contact: ContactRecord,
    body: dict[str, Any],
    values: list[tuple[int, str]],
    now: float,
) -> None:
    """Overwrite the keys present in ``body`` (null counts as absent); set field values."""
    for wire, attr in (
        ("firstName", "first_name"),
        ("lastName", "last_name"),
        ("phone", "phone"),
    ):
        text = as_text(body.get(wire))
        if text is not None:
            setattr(contact, attr, text)
    contact.udate = now
    for field_id, value in values:
        store.set_field_value(contact.id, field_id, value, now)


def _contact_reply(store: Store, status: int, contact: ContactRecord) -> Reply:
    """``{"fieldValues": [...], "contact": {...}}``, as sync, create and update answer."""
    return reply_json(
        status,
        {
            "fieldValues": [
                field_value_json(store, fv) for fv in store.field_values_of(contact.id)
            ],
            "contact": contact_json(store, contact),
        },
    )


# contacts -------------------------------------------------------------------------------


@routes.add("POST", "/api/3/contact/sync")
def _contact_sync(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    store = dispatcher.store
    email = body.get("email")
    if store.refuses_email(email):
        return EMAIL_INVALID
    values = _parse_field_values(store, body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    contact = store.find_contact(str(email))
    status = 200
    if contact is None:
        contact = store.create_contact(str(email), req.now)
        status = 201
    _write_contact(store, contact, body, values, req.now)
    return _contact_reply(store, status, contact)


@routes.add("POST", "/api/3/contacts")
def _contacts_create(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    store = dispatcher.store
    email = body.get("email")
    if store.refuses_email(email):
        return EMAIL_INVALID
    if store.find_contact(str(email)) is not None:
        return DUPLICATE_EMAIL
    values = _parse_field_values(store, body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    contact = store.create_contact(str(email), req.now)
    _write_contact(store, contact, body, values, req.now)
    return _contact_reply(store, 201, contact)


@routes.add("GET", "/api/3/contacts")
def _contacts_index(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    params = req.params
    items = [store.contacts[key] for key in sorted(store.contacts)]
    if params.get("orders[id]", "").upper() == "DESC":
        items.reverse()
    email = params.get("email")
    if email is not None:
        items = [c for c in items if c.email.lower() == email.strip().lower()]
    id_greater = int_param(params, "id_greater")
    if id_greater is not None:
        items = [c for c in items if c.id > id_greater]
    list_id = int_param(params, "listid")
    status = int_param(params, "status")
    if status == -1:
        status = None
    if list_id is not None or status is not None:

        def keep(contact: ContactRecord) -> bool:
            for (cid, lid), mid in store.contact_list_index.items():
                if cid != contact.id or (list_id is not None and lid != list_id):
                    continue
                if status is None or store.contact_lists[mid].status == status:
                    return True
            return False

        items = [c for c in items if keep(c)]
    shown, limit, offset = page(items, params)
    return reply_json(
        200,
        {
            "scoreValues": [],
            "contacts": [contact_json(store, c) for c in shown],
            "meta": {
                "total": str(len(items)),
                "page_input": {
                    "limit": limit,
                    "offset": offset,
                    "status": status if status is not None else -1,
                },
            },
        },
    )


@routes.add("GET", "/api/3/contacts/{id}")
def _contacts_get(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    memberships = [
        store.contact_lists[mid]
        for key, mid in store.contact_list_index.items()
        if key[0] == contact.id
    ]
    return reply_json(
        200,
        {
            "contactLists": [contact_list_json(store, m) for m in memberships],
            "fieldValues": [
                field_value_json(store, fv) for fv in store.field_values_of(contact.id)
            ],
            "contact": contact_json(store, contact),
        },
    )


@routes.add("PUT", "/api/3/contacts/{id}")
def _contacts_update(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    body = body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    if "email" in body and body["email"] is not None:
        email = body["email"]
        if store.refuses_email(email):
            return EMAIL_INVALID
        other = store.find_contact(str(email))
        if other is not None and other.id != contact.id:
            return DUPLICATE_EMAIL
    values = _parse_field_values(store, body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    if "email" in body and body["email"] is not None:
        store.change_email(contact, str(body["email"]))
    _write_contact(store, contact, body, values, req.now)
    return _contact_reply(store, 200, contact)


@routes.add("DELETE", "/api/3/contacts/{id}")
def _contacts_delete(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return reply_json(404, {"message": f"No result found for contact with id {req.args[0]}"})
    store.delete_contact(contact.id)
    return reply_json(200, {})


@routes.add("GET", "/api/3/contacts/{id}/contactLists")
def _contact_lists_of(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    items = [
        contact_list_json(store, store.contact_lists[mid])
        for key, mid in sorted(store.contact_list_index.items(), key=lambda kv: kv[1])
        if key[0] == contact.id
    ]
    return reply_json(200, {"contactLists": items})


@routes.add("GET", "/api/3/contacts/{id}/fieldValues")
def _field_values_of(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    items = sorted(store.field_values_of(contact.id), key=lambda fv: fv.id)
    return reply_json(200, {"fieldValues": [field_value_json(store, fv) for fv in items]})


@routes.add("GET", "/api/3/contacts/{id}/contactTags")
def _contact_tags_of(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    contact = _contact(store, req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    items = [
        contact_tag_json(store, store.contact_tags[lid])
        for key, lid in sorted(store.contact_tag_index.items(), key=lambda kv: kv[1])
        if key[0] == contact.id
    ]
    return reply_json(200, {"contactTags": items})


# list membership ------------------------------------------------------------------------


@routes.add("POST", "/api/3/contactLists")
def _contact_lists_set(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "contactList")
    if body is None:
        return missing_attribute("contactList")
    for name in ("list", "contact", "status"):
        if body.get(name) is None:
            return missing_attribute(name)
    list_id, contact_id, status = as_id(body["list"]), as_id(body["contact"]), as_id(body["status"])
    if status is None or status not in (0, 1, 2, 3):
        return error_422("Invalid status", "field_invalid", "status", "status must be 0, 1, 2 or 3")
    store = dispatcher.store
    contact = store.contacts.get(contact_id) if contact_id is not None else None
    if contact is None:
        return not_found_errors("Contact not found")
    if list_id is None or list_id not in store.lists:
        return not_found_errors("List not found")
    sourceid = as_id(body.get("sourceid")) or 0
    record = store.set_list_status(contact.id, list_id, status, req.now, sourceid)
    return reply_json(
        200,
        {
            "contacts": [contact_json(store, contact)],
            "contactList": contact_list_json(store, record, int_status=True),
        },
    )
