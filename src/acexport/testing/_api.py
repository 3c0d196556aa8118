"""The fake's HTTP behaviour: routing, auth, rate limits, faults and every endpoint.

Transport-agnostic: :meth:`Engine.respond` turns (method, path, query, token, body) into a
:class:`Reply`; ``FakeActiveCampaign.handler`` and the loopback server turn that into an
``httpx.Response`` or bytes on a socket. Not thread-safe; the owner holds its lock.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs

from ._email import is_valid_email
from ._faults import BULK_IMPORT_PATH, Fault, Faults
from ._state import (
    FakeStats,
    Store,
    _Batch,
    _BulkItem,
    _Contact,
    _FieldValue,
    _List,
    slug,
)

JSON: Final = "application/json"
MAX_BULK_BYTES: Final = 399_999
MAX_BULK_CONTACTS: Final = 250
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100

BULK_RATE_BODY: Final = {
    "success": 0,
    "message": "Rate limit exceeded.",
    "failureReasons": [
        "Up to 100 imports may be requested per minute.Please batch contacts into larger "
        "requests, or retry this request in a minute."
    ],
}
BULK_INVALID_MESSAGE: Final = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
EMAIL_FORMAT_REASON: Final = "Field\u2018 email\u2019 incorrect format"
LOGIN_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Log in | ActiveCampaign</title></head>"
    b'<body><form method="post" action="/admin/index.php"><input name="user">'
    b'<input name="pass" type="password"><button>Log in</button></form></body></html>\n'
)
TRUNCATED_BODY: Final = b'{"contact": {"id"'
_PHRASES: Final = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@attrs.frozen
class Reply:
    """One response the fake decided on, before it is put on a wire."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    reset: str | None = None  # "before" | "after": drop the connection instead of answering


def reply_json(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON reply."""
    return Reply(status, json.dumps(payload).encode(), JSON, tuple(headers))


@attrs.define
class Bucket:
    """A token bucket: ``capacity`` tokens, refilled continuously at ``per_second``."""

    capacity: float
    per_second: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, capacity: float, per_second: float, now: float) -> Bucket:
        return cls(capacity, per_second, capacity, now)

    def take(self, now: float) -> float | None:
        """Take a token; ``None`` on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.per_second)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return None
        return (1.0 - self.tokens) / self.per_second


@attrs.define
class Counters:
    """Mutable request counters behind :class:`FakeStats`."""

    requests: int = 0
    by_endpoint: dict[tuple[str, str], int] = attrs.Factory(dict)
    refused_403: int = 0
    refused_429: int = 0
    refused_bulk_rate: int = 0
    bulk_requests: int = 0
    bulk_contacts: int = 0
    faults: dict[str, int] = attrs.Factory(dict)
    max_concurrent: int = 0

    def freeze(self) -> FakeStats:
        return FakeStats(
            requests=self.requests,
            by_endpoint=self.by_endpoint,
            refused_403=self.refused_403,
            refused_429=self.refused_429,
            refused_bulk_rate=self.refused_bulk_rate,
            bulk_requests=self.bulk_requests,
            bulk_contacts=self.bulk_contacts,
            faults=self.faults,
            max_concurrent=self.max_concurrent,
        )


@attrs.define
class Request:
    """One request as the endpoint handlers see it."""

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    args: list[str]
    now: float
    info_false: bool = False


class BadBody(Exception):
    """The request body is not the JSON the endpoint needs."""


def as_id(value: object) -> int | None:
    """An id sent as an int or a digit string, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_text(value: object) -> str | None:
    """A scalar as the string AC stores; ``None`` for null and for lists/objects."""
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def as_flag(value: object) -> bool:
    """``true``, ``1``, ``"true"``, ``"1"`` -> True."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def int_param(params: dict[str, str], name: str) -> int | None:
    """An integer query parameter, ``None`` when absent or not an integer."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def missing_attribute(name: str) -> Reply:
    """AC's 422 for a missing attribute."""
    return reply_json(
        422,
        {
            "errors": [
                {
                    "status": 422,
                    "title": "Missing attribute",
                    "source": {"pointer": f"/data/attributes/{name}"},
                }
            ]
        },
    )


def error_422(title: str, code: str, pointer: str, detail: str = "") -> Reply:
    """A 422 ``{"errors": [...]}`` reply."""
    return reply_json(
        422,
        {
            "errors": [
                {
                    "title": title,
                    "detail": detail,
                    "code": code,
                    "source": {"pointer": f"/data/attributes/{pointer}"},
                }
            ]
        },
    )


def not_found_errors(detail: str) -> Reply:
    """AC's 404 ``{"errors": [{"status": 404, ...}]}`` shape."""
    return reply_json(404, {"errors": [{"status": 404, "title": "Not Found", "detail": detail}]})


def not_found_message(entity: str, ident: str) -> Reply:
    """AC's 404 ``{"message": "No Result found for <Entity> with id N"}`` shape."""
    return reply_json(404, {"message": f"No Result found for {entity} with id {ident}"})


EMAIL_INVALID: Final = reply_json(
    422,
    {
        "errors": [
            {
                "title": "Contact Email is not valid",
                "code": "email_invalid",
                "source": {"pointer": "/data/attributes/email"},
            }
        ]
    },
)
DUPLICATE_EMAIL: Final = error_422(
    "Email address already exists in the system", "duplicate", "email"
)

Handler = Callable[["Engine", Request], Reply]
ROUTES: dict[tuple[str, str], Handler] = {}


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register an endpoint handler for ``method`` + ``template`` (``{id}`` = one segment)."""

    def register(func: Handler) -> Handler:
        ROUTES[(method, template)] = func
        return func

    return register


def match(path: str) -> tuple[str, list[str]] | None:
    """The template ``path`` matches and the ``{id}`` segments it captured."""
    segments = path.split("/")
    for _, template in ROUTES:
        parts = template.split("/")
        if len(parts) != len(segments):
            continue
        args: list[str] = []
        for part, segment in zip(parts, segments, strict=True):
            if part == "{id}":
                if not segment:
                    break
                args.append(segment)
            elif part != segment:
                break
        else:
            return template, args
    return None


def page(items: list[Any], params: dict[str, str]) -> tuple[list[Any], int, int]:
    """Slice by ``limit`` (default 20, at most 100) and zero-based ``offset``."""
    limit = int_param(params, "limit")
    if limit is None or limit < 1:
        limit = DEFAULT_LIMIT
    limit = min(limit, MAX_LIMIT)
    offset = max(0, int_param(params, "offset") or 0)
    return items[offset : offset + limit], limit, offset


class Engine:
    """Everything behind the fake's HTTP surface (state, limits, faults, counters)."""

    def __init__(
        self,
        *,
        api_key: str,
        clock: Callable[[], float],
        faults: Faults,
        requests_per_second: float | None,
        bulk_imports_per_minute: float | None,
        latency: float,
        import_delay: float,
        import_seconds_per_contact: float,
        seed: int,
    ) -> None:
        now = clock()
        self.api_key = api_key
        self.clock = clock
        self.faults = faults
        self.latency = latency
        self.import_delay = import_delay
        self.import_seconds_per_contact = import_seconds_per_contact
        self.store = Store(now)
        self.counters = Counters()
        self.rng = random.Random(seed)
        self.batch_seq = 0
        self.rate: Bucket | None = None
        if requests_per_second is not None:
            self.rate = Bucket.full(max(1.0, requests_per_second), requests_per_second, now)
        self.bulk_multi: Bucket | None = None
        self.bulk_single: Bucket | None = None
        if bulk_imports_per_minute is not None:
            self.bulk_multi = Bucket.full(
                max(1.0, bulk_imports_per_minute), bulk_imports_per_minute / 60.0, now
            )
            single = bulk_imports_per_minute * 0.2
            self.bulk_single = Bucket.full(max(1.0, single), single / 60.0, now)

    # plumbing -----------------------------------------------------------------------------

    def respond(self, method: str, path: str, query: str, token: str | None, body: bytes) -> Reply:
        """Answer one request."""
        now = self.clock()
        self.store.settle(now)
        method = method.upper()
        path = path.rstrip("/") or "/"
        found = match(path)
        template = found[0] if found else path
        counters = self.counters
        counters.requests += 1
        key = (method, template)
        counters.by_endpoint[key] = counters.by_endpoint.get(key, 0) + 1

        fault = self.faults._draw(method, path, template)
        reply: Reply | None = None
        extra = 0.0
        reset: str | None = None
        info_false = False
        if fault is not None:
            name = str(fault)
            counters.faults[name] = counters.faults.get(name, 0) + 1
            reply = self._fault_reply(fault)
            if fault == "slow":
                extra = self.faults.slow_seconds
            elif fault == "reset_after":
                reset = "after"
            elif fault == "info_false":
                info_false = True
        if reply is None:
            params = dict(parse_qsl(query, keep_blank_values=True))
            req = Request(method, path, params, body, found[1] if found else [], now, info_false)
            reply = self._serve(req, template if found else None, token)
            if reset:
                reply = attrs.evolve(reply, reset=reset)
        return attrs.evolve(reply, delay=self.latency + extra)

    def _fault_reply(self, fault: Fault) -> Reply | None:
        if isinstance(fault, int):
            headers = [("Retry-After", "1")] if fault == 429 else []
            phrase = _PHRASES.get(fault, "Error")
            return reply_json(fault, {"message": phrase}, headers)
        if fault == "reset_before":
            return Reply(0, reset="before")
        if fault == "html":
            return Reply(200, LOGIN_PAGE, "text/html; charset=UTF-8")
        if fault == "truncated":
            return Reply(200, TRUNCATED_BODY, JSON)
        if fault == "bulk_rate":
            return reply_json(400, BULK_RATE_BODY)
        return None  # slow, reset_after, info_false: served normally

    def _serve(self, req: Request, template: str | None, token: str | None) -> Reply:
        if token != self.api_key:
            self.counters.refused_403 += 1
            return reply_json(403, {"message": "Forbidden"})
        extra_headers: list[tuple[str, str]] = []
        if self.rate is not None:
            wait = self.rate.take(req.now)
            limit_header = ("RateLimit-Limit", str(math.floor(self.rate.capacity)))
            if wait is not None:
                self.counters.refused_429 += 1
                retry = str(max(1, math.ceil(wait - 1e-9)))
                return reply_json(
                    429,
                    {"message": "Too Many Requests"},
                    [("Retry-After", retry), limit_header, ("RateLimit-Remaining", "0")],
                )
            extra_headers = [
                limit_header,
                ("RateLimit-Remaining", str(math.floor(self.rate.tokens + 1e-9))),
            ]
        handler = ROUTES.get((req.method, template)) if template else None
        if handler is None:
            return reply_json(404, {"message": "Not Found"}, extra_headers)
        try:
            reply = handler(self, req)
        except BadBody as exc:
            reply = reply_json(400, {"message": str(exc)})
        if extra_headers:
            reply = attrs.evolve(reply, headers=reply.headers + tuple(extra_headers))
        return reply

    # helpers ------------------------------------------------------------------------------

    @staticmethod
    def body_object(req: Request, key: str | None = None) -> dict[str, Any] | None:
        """The JSON body (or its ``key`` member) if it is an object, else ``None``."""
        try:
            data = json.loads(req.body or b"null")
        except ValueError as exc:
            raise BadBody("Request body is not valid JSON") from exc
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        return data if isinstance(data, dict) else None

    def contact_or_404(self, ident: str) -> _Contact | None:
        cid = as_id(ident)
        return None if cid is None else self.store.contacts.get(cid)

    def field_values_of(self, cid: int) -> list[_FieldValue]:
        store = self.store
        return [
            store.field_values[fid] for key, fid in store.field_value_index.items() if key[0] == cid
        ]

    def parse_field_values(self, raw: object) -> list[tuple[int, str]] | Reply:
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
            if field_id is None or field_id not in self.store.fields:
                return error_422(
                    "Field not found",
                    "field_invalid",
                    pointer,
                    f"No custom field with id {item['field']}",
                )
            out.append((field_id, as_text(item.get("value")) or ""))
        return out

    def write_contact(
        self, contact: _Contact, body: dict[str, Any], values: list[tuple[int, str]], now: float
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
            self.store.set_field_value(contact.id, field_id, value, now)

    def contact_reply(self, status: int, contact: _Contact) -> Reply:
        store = self.store
        return reply_json(
            status,
            {
                "fieldValues": [
                    store.field_value_json(fv) for fv in self.field_values_of(contact.id)
                ],
                "contact": store.contact_json(contact),
            },
        )

    def email_refused(self, email: object) -> bool:
        return not is_valid_email(email) or self.store.is_rejected(str(email))


def _collection(key: str, items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    shown, _, _ = page(items, params)
    return {key: shown, "meta": {"total": str(len(items))}}


# users ----------------------------------------------------------------------------------


@route("GET", "/api/3/users/me")
def _users_me(engine: Engine, req: Request) -> Reply:
    user = {
        "username": "admin",
        "firstName": "Ada",
        "lastName": "Admin",
        "email": "admin@example.com",
        "id": "1",
    }
    return reply_json(200, {"user": user})


# lists ----------------------------------------------------------------------------------


@route("GET", "/api/3/lists")
def _lists_index(engine: Engine, req: Request) -> Reply:
    store = engine.store
    items = [store.lists[key] for key in sorted(store.lists)]
    name = req.params.get("filters[name]")
    if name is not None:
        items = [item for item in items if item.name == name]
    return reply_json(200, _collection("lists", [store.list_json(i) for i in items], req.params))


@route("GET", "/api/3/lists/{id}")
def _lists_get(engine: Engine, req: Request) -> Reply:
    list_id = as_id(req.args[0])
    item = engine.store.lists.get(list_id) if list_id is not None else None
    if item is None:
        return not_found_message("_List", req.args[0])
    return reply_json(200, {"list": engine.store.list_json(item)})


@route("POST", "/api/3/lists")
def _lists_create(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "list")
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
    store = engine.store
    list_id = store.new_id("list", store.lists)
    item = _List(
        list_id,
        as_text(body["name"]) or "",
        slug(as_text(body["stringid"]) or ""),
        as_text(body["sender_url"]) or "",
        as_text(body["sender_reminder"]) or "",
        req.now,
    )
    store.lists[list_id] = item
    return reply_json(201, {"list": store.list_json(item)})


# contacts -------------------------------------------------------------------------------


@route("POST", "/api/3/contact/sync")
def _contact_sync(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    email = body.get("email")
    if engine.email_refused(email):
        return EMAIL_INVALID
    values = engine.parse_field_values(body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    store = engine.store
    contact = store.find_contact(str(email))
    status = 200
    if contact is None:
        contact = store.create_contact(str(email), req.now)
        status = 201
    engine.write_contact(contact, body, values, req.now)
    return engine.contact_reply(status, contact)


@route("POST", "/api/3/contacts")
def _contacts_create(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    email = body.get("email")
    if engine.email_refused(email):
        return EMAIL_INVALID
    store = engine.store
    if store.find_contact(str(email)) is not None:
        return DUPLICATE_EMAIL
    values = engine.parse_field_values(body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    contact = store.create_contact(str(email), req.now)
    engine.write_contact(contact, body, values, req.now)
    return engine.contact_reply(201, contact)


@route("GET", "/api/3/contacts")
def _contacts_index(engine: Engine, req: Request) -> Reply:
    store = engine.store
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

        def keep(contact: _Contact) -> bool:
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
            "contacts": [store.contact_json(c) for c in shown],
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


@route("GET", "/api/3/contacts/{id}")
def _contacts_get(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    store = engine.store
    memberships = [
        store.contact_lists[mid]
        for key, mid in store.contact_list_index.items()
        if key[0] == contact.id
    ]
    return reply_json(
        200,
        {
            "contactLists": [store.contact_list_json(m) for m in memberships],
            "fieldValues": [
                store.field_value_json(fv) for fv in engine.field_values_of(contact.id)
            ],
            "contact": store.contact_json(contact),
        },
    )


@route("PUT", "/api/3/contacts/{id}")
def _contacts_update(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    body = engine.body_object(req, "contact")
    if body is None:
        return missing_attribute("contact")
    store = engine.store
    if "email" in body and body["email"] is not None:
        email = body["email"]
        if engine.email_refused(email):
            return EMAIL_INVALID
        other = store.find_contact(str(email))
        if other is not None and other.id != contact.id:
            return DUPLICATE_EMAIL
    values = engine.parse_field_values(body.get("fieldValues"))
    if isinstance(values, Reply):
        return values
    if "email" in body and body["email"] is not None:
        store.change_email(contact, str(body["email"]))
    engine.write_contact(contact, body, values, req.now)
    return engine.contact_reply(200, contact)


@route("DELETE", "/api/3/contacts/{id}")
def _contacts_delete(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return reply_json(404, {"message": f"No result found for contact with id {req.args[0]}"})
    engine.store.delete_contact(contact.id)
    return reply_json(200, {})


@route("GET", "/api/3/contacts/{id}/contactLists")
def _contact_lists_of(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    store = engine.store
    items = [
        store.contact_list_json(store.contact_lists[mid])
        for key, mid in sorted(store.contact_list_index.items(), key=lambda kv: kv[1])
        if key[0] == contact.id
    ]
    return reply_json(200, {"contactLists": items})


@route("GET", "/api/3/contacts/{id}/fieldValues")
def _field_values_of(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    store = engine.store
    items = sorted(engine.field_values_of(contact.id), key=lambda fv: fv.id)
    return reply_json(200, {"fieldValues": [store.field_value_json(fv) for fv in items]})


@route("GET", "/api/3/contacts/{id}/contactTags")
def _contact_tags_of(engine: Engine, req: Request) -> Reply:
    contact = engine.contact_or_404(req.args[0])
    if contact is None:
        return not_found_message("Subscriber", req.args[0])
    store = engine.store
    items = [
        store.contact_tag_json(store.contact_tags[lid])
        for key, lid in sorted(store.contact_tag_index.items(), key=lambda kv: kv[1])
        if key[0] == contact.id
    ]
    return reply_json(200, {"contactTags": items})


# list membership ------------------------------------------------------------------------


@route("POST", "/api/3/contactLists")
def _contact_lists_set(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "contactList")
    if body is None:
        return missing_attribute("contactList")
    for name in ("list", "contact", "status"):
        if body.get(name) is None:
            return missing_attribute(name)
    list_id, contact_id, status = as_id(body["list"]), as_id(body["contact"]), as_id(body["status"])
    if status is None or status not in (0, 1, 2, 3):
        return error_422("Invalid status", "field_invalid", "status", "status must be 0, 1, 2 or 3")
    store = engine.store
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
            "contacts": [store.contact_json(contact)],
            "contactList": store.contact_list_json(record, int_status=True),
        },
    )


# fields ---------------------------------------------------------------------------------


@route("GET", "/api/3/fields")
def _fields_index(engine: Engine, req: Request) -> Reply:
    store = engine.store
    items = [store.fields[key] for key in sorted(store.fields)]
    perstag = req.params.get("filters[perstag]")
    if perstag is not None:
        items = [item for item in items if item.perstag == perstag]
    payload = _collection("fields", [store.field_json(i) for i in items], req.params)
    return reply_json(200, {"fieldOptions": [], "fieldRels": [], **payload})


# tags -----------------------------------------------------------------------------------


@route("GET", "/api/3/tags")
def _tags_index(engine: Engine, req: Request) -> Reply:
    store = engine.store
    items = [store.tags[key] for key in sorted(store.tags)]
    search = req.params.get("search")
    if search:
        items = [item for item in items if search.lower() in item.name.lower()]
    return reply_json(200, _collection("tags", [store.tag_json(i) for i in items], req.params))


@route("POST", "/api/3/tags")
def _tags_create(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "tag")
    if body is None:
        return missing_attribute("tag")
    name = as_text(body.get("tag"))
    if not name:
        return missing_attribute("tag")
    store = engine.store
    if store.find_tag(name) is not None:
        return error_422("Duplicate entry", "duplicate", "tag", f"Tag {name!r} already exists")
    tag = store.create_tag(
        name,
        req.now,
        as_text(body.get("tagType")) or "contact",
        as_text(body.get("description")) or "",
    )
    return reply_json(201, {"tag": store.tag_json(tag)})


@route("POST", "/api/3/contactTags")
def _contact_tags_create(engine: Engine, req: Request) -> Reply:
    body = engine.body_object(req, "contactTag")
    if body is None:
        return missing_attribute("contactTag")
    for name in ("contact", "tag"):
        if body.get(name) is None:
            return missing_attribute(name)
    store = engine.store
    contact_id, tag_id = as_id(body["contact"]), as_id(body["tag"])
    if contact_id is None or contact_id not in store.contacts:
        return not_found_errors("Contact not found")
    if tag_id is None or tag_id not in store.tags:
        return not_found_errors("Tag not found")
    link = store.link_tag(contact_id, tag_id, req.now)  # an existing link comes back as is
    return reply_json(201, {"contactTag": store.contact_tag_json(link)})


@route("DELETE", "/api/3/contactTags/{id}")
def _contact_tags_delete(engine: Engine, req: Request) -> Reply:
    store = engine.store
    link_id = as_id(req.args[0])
    link = store.contact_tags.get(link_id) if link_id is not None else None
    if link is None:
        return not_found_message("ContactTag", req.args[0])
    del store.contact_tags[link.id]
    del store.contact_tag_index[(link.contact, link.tag)]
    return reply_json(200, {})


# bulk import ----------------------------------------------------------------------------


def _bulk_400(message: str, reasons: list[Any]) -> Reply:
    return reply_json(400, {"success": 0, "message": message, "failureReasons": reasons})


def _parse_bulk_item(
    engine: Engine, index: int, raw: object, top_exclude: bool, reasons: list[dict[str, Any]]
) -> _BulkItem | None:
    def fail(reason: str) -> None:
        reasons.append({"contact": index, "failureReason": reason})

    if not isinstance(raw, dict):
        fail("Contact must be a JSON object")
        return None
    before = len(reasons)
    email = raw.get("email")
    if email is None or email == "":
        fail("Field\u2018 email\u2019 is required")
    elif engine.email_refused(email):
        fail(EMAIL_FORMAT_REASON)
    values: dict[str, str] = {}
    for key in ("first_name", "last_name", "phone"):
        if raw.get(key) is None:
            continue
        text = as_text(raw[key])
        if text is None:
            fail(f"Field\u2018 {key}\u2019 incorrect format")
        else:
            values[key] = text
    fields: list[tuple[int, str]] = []
    raw_fields = raw.get("fields") or []
    if not isinstance(raw_fields, list):
        fail("Field\u2018 fields\u2019 incorrect format")
        raw_fields = []
    for item in raw_fields:
        field_id = as_id(item.get("id")) if isinstance(item, dict) else None
        if field_id is None or not isinstance(item, dict) or "value" not in item:
            fail("Field\u2018 fields\u2019 incorrect format")
        elif field_id not in engine.store.fields:
            fail(f"Custom field with id {field_id} does not exist")
        else:
            fields.append((field_id, as_text(item["value"]) or ""))
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        fail("Field\u2018 tags\u2019 incorrect format")
        tags = []
    lists: dict[str, list[int]] = {}
    for key in ("subscribe", "unsubscribe"):
        lists[key] = []
        entries = raw.get(key) or []
        if not isinstance(entries, list):
            fail(f"Field\u2018 {key}\u2019 incorrect format")
            continue
        for entry in entries:
            list_id = as_id(entry.get("listid")) if isinstance(entry, dict) else None
            if list_id is None:
                fail(f"Field\u2018 {key}\u2019 incorrect format")
            elif list_id not in engine.store.lists:
                fail(f"List with id {list_id} does not exist")
            else:
                lists[key].append(list_id)
    if len(reasons) > before:
        return None
    exclude = as_flag(raw["exclude_automations"]) if "exclude_automations" in raw else top_exclude
    return _BulkItem(
        email=str(email),
        values=values,
        fields=fields,
        tags=[t.strip() for t in tags],
        subscribe=lists["subscribe"],
        unsubscribe=lists["unsubscribe"],
        exclude_automations=exclude,
    )


@route("POST", "/api/3/import/bulk_import")
def _bulk_import(engine: Engine, req: Request) -> Reply:
    try:
        data: Any = json.loads(req.body or b"null")
    except ValueError:
        data = None
    contacts = data.get("contacts") if isinstance(data, dict) else None
    count = len(contacts) if isinstance(contacts, list) else 0
    bucket = engine.bulk_single if count == 1 else engine.bulk_multi
    if bucket is not None and bucket.take(req.now) is not None:
        engine.counters.refused_bulk_rate += 1
        return reply_json(400, BULK_RATE_BODY)
    if len(req.body) > MAX_BULK_BYTES:
        return _bulk_400(
            "Payload too large.",
            ["The maximum payload size of a single bulk_import request is 399999 bytes."],
        )
    if not isinstance(data, dict):
        return _bulk_400("Request body is not valid JSON.", ["Request body is not valid JSON."])
    if not isinstance(contacts, list) or not contacts:
        return _bulk_400(BULK_INVALID_MESSAGE, ["'contacts' is a required field."])
    if count > MAX_BULK_CONTACTS:
        return _bulk_400(
            "Too many contacts.", ["Up to 250 contacts may be imported in a single request."]
        )
    top_exclude = as_flag(data.get("exclude_automations", False))
    reasons: list[dict[str, Any]] = []
    items = [
        _parse_bulk_item(engine, i, raw, top_exclude, reasons) for i, raw in enumerate(contacts)
    ]
    if reasons:
        return _bulk_400(BULK_INVALID_MESSAGE, reasons)
    outcome, fraction = engine.faults._next_outcome()
    batch_id = str(uuid.UUID(int=engine.rng.getrandbits(128), version=4))
    engine.batch_seq += 1
    active_at = req.now + engine.import_delay
    engine.store.batches[batch_id] = _Batch(
        id=batch_id,
        seq=engine.batch_seq,
        items=[item for item in items if item is not None],
        submitted_at=req.now,
        active_at=active_at,
        finishes_at=active_at + count * engine.import_seconds_per_contact,
        outcome=outcome,
        applied_fraction=fraction,
    )
    engine.counters.bulk_requests += 1
    engine.counters.bulk_contacts += count
    return reply_json(
        200,
        {
            "Success": 1,
            "queued_contacts": count,
            "batchId": batch_id,
            "message": "Contact import queued",
        },
    )


@route("GET", "/api/3/import/info")
def _import_info(engine: Engine, req: Request) -> Reply:
    batch_id = req.params.get("batchId", "").strip()
    if not batch_id:
        return reply_json(400, {"success": 0, "message": "'batchId' is a required field."})
    batch = engine.store.batches.get(batch_id)
    if batch is None:
        return reply_json(404, {"message": f"No Result found for import batch with id {batch_id}"})
    if req.info_false:
        return reply_json(200, {"status": False, "success": [], "failure": []})
    status = batch.status(req.now)
    if status is False or status == "active":
        return reply_json(200, {"status": status, "success": [], "failure": []})
    return reply_json(200, {"status": status, "success": batch.success, "failure": batch.failure})


__all__ = ["BULK_IMPORT_PATH", "Engine", "Reply"]
