"""Endpoints of the account's setup: ``users/me``, ``lists``, ``fields``, ``tags``, ``contactTags``.

Each handler takes the :class:`~acexport.testing._dispatcher.Dispatcher` (for ``.store``) and
the :class:`~acexport.testing._routing.Request`, and returns a
:class:`~acexport.testing._replies.Reply`; ``@routes.add`` registers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._records import ListRecord, slug
from ._replies import (
    Reply,
    error_422,
    missing_attribute,
    not_found_errors,
    not_found_message,
    reply_json,
)
from ._routing import Request, RouteTable, as_id, as_text, body_object, collection
from ._wire import contact_tag_json, field_json, field_options_json, list_json, tag_json

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher

__all__ = ["routes"]

routes = RouteTable()

# users ----------------------------------------------------------------------------------


@routes.add("GET", "/api/3/users/me")
def _users_me(dispatcher: Dispatcher, req: Request) -> Reply:
    user = {
        "username": "admin",
        "firstName": "Ada",
        "lastName": "Admin",
        "email": "admin@example.com",
        "id": "1",
    }
    return reply_json(200, {"user": user})


# lists ----------------------------------------------------------------------------------


@routes.add("GET", "/api/3/lists")
def _lists_index(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    items = [store.lists[key] for key in sorted(store.lists)]
    name = req.params.get("filters[name]")
    if name is not None:
        items = [item for item in items if item.name == name]
    shown = [list_json(store, i) for i in items]
    return reply_json(200, collection("lists", shown, req.params))


@routes.add("GET", "/api/3/lists/{id}")
def _lists_get(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    list_id = as_id(req.args[0])
    item = store.lists.get(list_id) if list_id is not None else None
    if item is None:
        return not_found_message("_List", req.args[0])  # sic: AC's entity name has the "_"
    return reply_json(200, {"list": list_json(store, item)})


@routes.add("POST", "/api/3/lists")
def _lists_create(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "list")
    if body is None:
        return missing_attribute("list")
    required = ("name", "stringid", "sender_url", "sender_reminder")
    missing = [name for name in required if as_text(body.get(name)) in (None, "")]
    if missing:
        errors = [
            {
                "title": f"The list {name} was not provided.",
                "detail": "",
                "code": "field_missing",
                "source": {"pointer": f"/data/attributes/{name}"},
            }
            for name in missing
        ]
        return reply_json(422, {"errors": errors})
    store = dispatcher.store
    list_id = store.new_id("list", store.lists)
    item = ListRecord(
        list_id,
        as_text(body["name"]) or "",
        slug(as_text(body["stringid"]) or ""),
        as_text(body["sender_url"]) or "",
        as_text(body["sender_reminder"]) or "",
        req.now,
    )
    store.lists[list_id] = item
    return reply_json(201, {"list": list_json(store, item)})


# fields ---------------------------------------------------------------------------------


@routes.add("GET", "/api/3/fields")
def _fields_index(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    items = [store.fields[key] for key in sorted(store.fields)]
    perstag = req.params.get("filters[perstag]")
    if perstag is not None:
        items = [item for item in items if item.perstag == perstag]
    payload = collection("fields", [field_json(i) for i in items], req.params)
    shown = {int(f["id"]) for f in payload["fields"]}
    options = [o for i in items if i.id in shown for o in field_options_json(i)]
    return reply_json(200, {"fieldOptions": options, "fieldRels": [], **payload})


# tags -----------------------------------------------------------------------------------


@routes.add("GET", "/api/3/tags")
def _tags_index(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    items = [store.tags[key] for key in sorted(store.tags)]
    search = req.params.get("search")
    if search:
        items = [item for item in items if search.lower() in item.name.lower()]
    shown = [tag_json(store, i) for i in items]
    return reply_json(200, collection("tags", shown, req.params))


@routes.add("POST", "/api/3/tags")
def _tags_create(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "tag")
    if body is None:
        return missing_attribute("tag")
    name = as_text(body.get("tag"))
    if not name:
        return missing_attribute("tag")
    store = dispatcher.store
    if store.find_tag(name) is not None:
        return error_422("Duplicate entry", "duplicate", "tag", f"Tag {name!r} already exists")
    tag = store.create_tag(
        name,
        req.now,
        as_text(body.get("tagType")) or "contact",
        as_text(body.get("description")) or "",
    )
    return reply_json(201, {"tag": tag_json(store, tag)})


@routes.add("POST", "/api/3/contactTags")
def _contact_tags_create(dispatcher: Dispatcher, req: Request) -> Reply:
    body = body_object(req, "contactTag")
    if body is None:
        return missing_attribute("contactTag")
    for name in ("contact", "tag"):
        if body.get(name) is None:
            return missing_attribute(name)
    store = dispatcher.store
    contact_id, tag_id = as_id(body["contact"]), as_id(body["tag"])
    if contact_id is None or contact_id not in store.contacts:
        return not_found_errors("Contact not found")
    if tag_id is None or tag_id not in store.tags:
        return not_found_errors("Tag not found")
    link = store.link_tag(contact_id, tag_id, req.now)  # an existing link comes back as is
    return reply_json(201, {"contactTag": contact_tag_json(store, link)})


@routes.add("DELETE", "/api/3/contactTags/{id}")
def _contact_tags_delete(dispatcher: Dispatcher, req: Request) -> Reply:
    store = dispatcher.store
    link_id = as_id(req.args[0])
    link = store.contact_tags.get(link_id) if link_id is not None else None
    if link is None:
        return not_found_message("ContactTag", req.args[0])
    store.unlink_tag(link)
    return reply_json(200, {})
