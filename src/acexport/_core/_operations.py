"""One pure request builder per endpoint, each with its response parser.

An :class:`Operation` says what to send (method, path under ``/api/3``, query, body), whether
it may be retried after an ambiguous failure (``idempotent``), which rate bucket it draws on
(``kind``), and how to read the JSON that comes back. The sync and async clients only send it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from .._exceptions import ConfigError, ResponseValidationError
from .._models import (
    BulkImportInfo,
    Contact,
    ContactList,
    ContactTag,
    CustomField,
    ListMembership,
    ListStatus,
    Tag,
    User,
)
from .._serde import import_status, structure, to_int
from ._limits import PAGE_LIMIT
from ._ratelimit import RequestKind

__all__ = ["PAGE_LIMIT", "Operation", "Page", "Pager"]

T = TypeVar("T")

Params = tuple[tuple[str, str], ...]


def _json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@attrs.frozen
class Operation(Generic[T]):
    """A request to make and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T] = attrs.field(repr=False)
    params: Params = ()
    body: bytes | None = attrs.field(default=None, repr=False)
    idempotent: bool = True
    kind: RequestKind = "general"


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing; ``total`` as ActiveCampaign counted it (``meta.total``)."""

    items: tuple[T, ...]
    total: int | None = None


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _items(data: Mapping[str, Any], key: str, cls: type[T]) -> tuple[T, ...]:
    raw = data[key]
    if not isinstance(raw, list):
        raise TypeError(f"{key!r} is {_kind(raw)}, not a list")
    return tuple(structure(item, cls) for item in raw)


def _total(data: Mapping[str, Any]) -> int | None:
    meta = data.get("meta")
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise TypeError(f"'meta' is {_kind(meta)}, not an object")
    total = meta.get("total")
    return None if total is None else to_int(total)


def _page_parser(key: str, cls: type[T]) -> Callable[[Any], Page[T]]:
    def parse(data: Any) -> Page[T]:
        return Page(_items(data, key, cls), _total(data))

    return parse


def _one(key: str, cls: type[T], sent: Mapping[str, Any] | None = None) -> Callable[[Any], T]:
    """Parse ``data[key]`` as ``cls``.

    For a write, ``sent`` holds what the request said: the answer's values win, and a field
    the answer leaves out (or the whole object) is taken from ``sent``. A write that was
    applied is never failed for an answer lacking what acexport does not use.
    """

    def parse(data: Any) -> T:
        if sent is None:
            return structure(data[key], cls)
        raw = data.get(key)
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise TypeError(f"{key!r} is {_kind(raw)}, not an object")
        given = {k: v for k, v in raw.items() if v is not None}
        return structure({**sent, **given}, cls)

    return parse


@attrs.define
class _Walk:
    """What a pager has seen so far in one walk."""

    pages: int = 0
    first_total: int | None = None
    seen: set[int] = attrs.field(factory=set)


#: Most pages an offset-paged listing may take without a ``meta.total`` (and the custom
#: fields listing, whatever its total: 100,000 fields, far more than an account has). It bounds
#: the time and memory a server that never ends a listing (or claims billions of fields) takes.
MAX_OFFSET_PAGES = 1_000


def _page_cap(total: int | None, *, by_id: bool, most: int | None) -> float:
    """Most pages a listing of ``total`` items may take: room for twice as many, plus ten,
    and never over ``most``. Without a total, offset listings take at most
    :data:`MAX_OFFSET_PAGES`; id-paged contacts have no cap (each page must go past the last,
    so the walk moves on, and pages are read one at a time as they are used)."""
    if total is not None:
        cap: float = 2 * math.ceil(total / PAGE_LIMIT) + 10
    else:
        cap = math.inf if by_id else MAX_OFFSET_PAGES
    return cap if most is None else min(cap, most)


@attrs.frozen
class Pager(Generic[T]):
    """Pages through a listing: ``offset`` paging, or ``id_greater`` for contacts.

    ``id_greater`` (with ``orders[id]=ASC``) is what ActiveCampaign advises for large accounts:
    offset paging slows down as the offset grows and can skip rows that change under it.

    A pager checks that the server advances: a page of ids all listed before (offset paging),
    ids that are not above ``id_greater`` or not ascending (id paging), or more pages than
    :func:`_page_cap` allows for the first page's ``meta.total`` raise
    :class:`ResponseValidationError` instead of looping. One pager walks one listing at a time
    (:meth:`first` starts a new walk).
    """

    path: str
    key: str
    cls: type[T]
    params: Params = ()
    by_id: bool = False
    #: how to read a page, when more than ``data[key]`` and ``meta.total`` is needed
    parse: Callable[[Any], Page[T]] | None = attrs.field(default=None, eq=False, repr=False)
    #: most pages to read, whatever ``meta.total`` says (None: as many as it says)
    max_pages: int | None = None
    _walk: _Walk = attrs.field(factory=_Walk, init=False, eq=False, repr=False)

    def first(self) -> Operation[Page[T]]:
        self._walk.pages = 0
        self._walk.first_total = None
        self._walk.seen.clear()
        return self._op(offset=0, after_id=0)

    def next(self, op: Operation[Page[T]], page: Page[T]) -> Operation[Page[T]] | None:
        """The operation for the page after ``page`` (fetched by ``op``), or None at the end."""
        walk = self._walk
        walk.pages += 1
        if walk.first_total is None:
            walk.first_total = page.total
        sent = dict(op.params)
        ids = [int(getattr(item, "id")) for item in page.items]  # noqa: B009 - T has an id
        if self.by_id:
            after = int(sent.get("id_greater", "0"))
            if any(b <= a for a, b in zip([after, *ids], ids, strict=False)):
                self._fail(
                    op,
                    f"id_greater paging did not advance past id {after}: the server "
                    "ignored id_greater or orders[id]=ASC",
                )
        else:
            if ids and walk.seen.issuperset(ids):
                self._fail(
                    op,
                    f"offset paging did not advance: the page at offset "
                    f"{sent.get('offset')} repeats items already listed",
                )
            walk.seen.update(ids)
        if len(page.items) < PAGE_LIMIT:
            return None
        cap = _page_cap(walk.first_total, by_id=self.by_id, most=self.max_pages)
        if walk.pages >= cap:
            said = (
                f"although meta.total said {walk.first_total}"
                if walk.first_total is not None and walk.pages < (self.max_pages or math.inf)
                else f"the most acexport reads of this listing ({cap:,} pages)"
            )
            self._fail(op, f"{walk.pages} pages of {PAGE_LIMIT} and still not at the end: {said}")
        if self.by_id:
            return self._op(offset=0, after_id=ids[-1])
        offset = int(sent["offset"]) + len(page.items)
        if page.total is not None and offset >= page.total:
            return None
        return self._op(offset=offset, after_id=0)

    def _fail(self, op: Operation[Page[T]], problem: str) -> None:
        raise ResponseValidationError(
            f"GET {self.path}: {problem}",
            method=op.method,
            url=self.path,
            status_code=200,
            body="",
        )

    def _op(self, *, offset: int, after_id: int) -> Operation[Page[T]]:
        paging: Params
        if self.by_id:
            paging = (("orders[id]", "ASC"), ("id_greater", str(after_id)))
        else:
            paging = (("offset", str(offset)),)
        return Operation(
            "GET",
            self.path,
            self.parse or _page_parser(self.key, self.cls),
            params=(*self.params, ("limit", str(PAGE_LIMIT)), *paging),
        )


# --- users -------------------------------------------------------------------------------------


def users_me() -> Operation[User]:
    return Operation("GET", "/users/me", _one("user", User))


# --- lists -------------------------------------------------------------------------------------


def lists_pager() -> Pager[ContactList]:
    return Pager("/lists", "lists", ContactList)


def get_list(list_id: int) -> Operation[ContactList]:
    return Operation("GET", f"/lists/{int(list_id)}", _one("list", ContactList))


def create_list(
    name: str,
    *,
    stringid: str | None,
    sender_url: str,
    sender_reminder: str,
    channel: str = "email",
) -> Operation[ContactList]:
    slug = stringid or "-".join("".join(c if c.isalnum() else " " for c in name).lower().split())
    body = {
        "list": {
            "name": name,
            "stringid": slug,
            "sender_url": sender_url,
            "sender_reminder": sender_reminder,
            "channel": channel,
        }
    }
    sent = {"name": name, "stringid": slug}
    return Operation(
        "POST", "/lists", _one("list", ContactList, sent), body=_json(body), idempotent=False
    )


# --- contacts ----------------------------------------------------------------------------------


def sync_contact(
    email: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    fields: Mapping[int, str] | None = None,
) -> Operation[Contact]:
    """``POST /contact/sync``: create or update by email. An upsert, so safe to retry."""
    contact: dict[str, Any] = {"email": email}
    for key, value in (("firstName", first_name), ("lastName", last_name), ("phone", phone)):
        if value is not None:
            contact[key] = value
    if fields:
        contact["fieldValues"] = [
            {"field": str(_field_id(k)), "value": v} for k, v in fields.items()
        ]
    # The exporter uses the answer's id: it is required; the rest may be left out.
    sent = {"email": email, **{k: v for k, v in contact.items() if isinstance(v, str)}}
    return Operation(
        "POST", "/contact/sync", _one("contact", Contact, sent), body=_json({"contact": contact})
    )


def _field_id(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and key > 0:
        return key
    raise ConfigError(
        f"custom field {key!r}: the client takes custom field ids (ints); find them with "
        "client.fields.list() (SegmentExporter's FieldMapping also accepts perstags and titles)"
    )


def _list_status(status: object) -> int:
    try:
        return int(ListStatus(status))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise ConfigError(
            f"status must be a ListStatus (ACTIVE, UNSUBSCRIBED, ...), not {status!r}"
        ) from None


def get_contact(contact_id: int) -> Operation[Contact]:
    return Operation("GET", f"/contacts/{int(contact_id)}", _one("contact", Contact))


def find_contact_by_email(email: str) -> Operation[Contact | None]:
    """``GET /contacts?email=``, checking that the contact returned really has that email.

    Some clients take "the first contact" of a filter the server ignored (a real bug in other
    integrations); a contact whose email differs is not a match.
    """
    wanted = email.strip().lower()

    def parse(data: Any) -> Contact | None:
        for contact in _items(data, "contacts", Contact):
            if contact.email.strip().lower() == wanted:
                return contact
        return None

    return Operation("GET", "/contacts", parse, params=(("email", email.strip()),))


def contacts_pager(list_id: int | None, status: ListStatus | None) -> Pager[Contact]:
    params: list[tuple[str, str]] = []
    if list_id is not None:
        params.append(("listid", str(int(list_id))))
    if status is not None:
        params.append(("status", str(int(status))))
    return Pager("/contacts", "contacts", Contact, params=tuple(params), by_id=True)


def delete_contact(contact_id: int) -> Operation[None]:
    return Operation("DELETE", f"/contacts/{int(contact_id)}", lambda _: None)


def update_list_status(
    contact_id: int, list_id: int, status: ListStatus
) -> Operation[ListMembership]:
    """``POST /contactLists``. Setting ACTIVE re-subscribes someone who unsubscribed: the
    exporter checks the current status first; callers of this method decide for themselves."""
    body = {
        "contactList": {
            "list": int(list_id),
            "contact": int(contact_id),
            "status": _list_status(status),
        }
    }
    sent = {"id": None, **body["contactList"]}
    return Operation(
        "POST", "/contactLists", _one("contactList", ListMembership, sent), body=_json(body)
    )


def contact_memberships(contact_id: int) -> Operation[tuple[ListMembership, ...]]:
    def parse(data: Any) -> tuple[ListMembership, ...]:
        return _items(data, "contactLists", ListMembership)

    return Operation("GET", f"/contacts/{int(contact_id)}/contactLists", parse)


def add_tag(contact_id: int, tag_id: int) -> Operation[ContactTag]:
    body = {"contactTag": {"contact": str(int(contact_id)), "tag": str(int(tag_id))}}
    sent = {"id": None, **body["contactTag"]}
    return Operation(
        "POST",
        "/contactTags",
        _one("contactTag", ContactTag, sent),
        body=_json(body),
        idempotent=False,
    )


def contact_tags(contact_id: int) -> Operation[tuple[ContactTag, ...]]:
    """``GET /contacts/{id}/contactTags``: the contact's tag links (their ids remove them; the
    small path reads a write back with it)."""

    def parse(data: Any) -> tuple[ContactTag, ...]:
        return _items(data, "contactTags", ContactTag)

    return Operation("GET", f"/contacts/{int(contact_id)}/contactTags", parse)


def remove_tag(link_id: int) -> Operation[None]:
    """``DELETE /contactTags/{id}``: the link's id (from :func:`contact_tags`), not the tag's."""
    return Operation("DELETE", f"/contactTags/{int(link_id)}", lambda _: None)


def change_email(contact_id: int, email: str) -> Operation[Contact]:
    """``PUT /contacts/{id}`` with a new email: the contact keeps its id, lists and tags.

    An address another contact has is refused with 422 (``UnprocessableEntityError``)."""
    body = {"contact": {"email": email}}
    return Operation(
        "PUT", f"/contacts/{int(contact_id)}", _one("contact", Contact), body=_json(body)
    )


# --- fields and tags ---------------------------------------------------------------------------


def fields_pager() -> Pager[CustomField]:
    return Pager("/fields", "fields", CustomField, parse=_fields_page, max_pages=MAX_OFFSET_PAGES)


def _fields_page(data: Any) -> Page[CustomField]:
    """A page of ``/fields``, each field with the values of its options.

    A field lists the ids of its options (``options``); ActiveCampaign lists the options
    themselves beside the fields (``fieldOptions``: objects with ``id``, ``field``, ``value``,
    ``orderid``). Options are what an export checks dropdown values against, so a field gets
    them only when every id it lists is found there, for that field: a field whose options are
    partly elsewhere (another page, say), or a ``fieldOptions`` of another shape, is left
    without options (nothing is checked) rather than with some of them (a valid value would
    be refused).
    """
    page = _page_parser("fields", CustomField)(data)
    options = _field_options(data.get("fieldOptions"))
    if not options:
        return page
    items = []
    for field, raw in zip(page.items, data["fields"], strict=True):
        values = _options_of(field.id, raw.get("options"), options)
        items.append(attrs.evolve(field, options=values) if values else field)
    return Page(tuple(items), page.total)


#: an option: (its field's id, its rank by ``orderid``, its position in the answer, its value)
_Option = tuple[int, int, int, str]


def _field_options(raw: object) -> dict[int, _Option]:
    """``fieldOptions`` by option id; {} if it is not a list of such options. An id listed
    twice for another field or value is left out (its field is then not checked)."""
    if not isinstance(raw, list):
        return {}
    found: dict[int, _Option] = {}
    clashes: set[int] = set()
    try:
        for position, option in enumerate(raw):
            if not isinstance(option, Mapping) or not isinstance(option.get("value"), str):
                return {}
            order = option.get("orderid")
            rank = to_int(order) if order not in (None, "") else position
            option_id, field_id = to_int(option["id"]), to_int(option["field"])
            earlier = found.get(option_id)
            if earlier is not None and (earlier[0], earlier[3]) != (field_id, option["value"]):
                clashes.add(option_id)
            found[option_id] = (field_id, rank, position, option["value"])
    except (TypeError, KeyError):
        return {}
    for option_id in clashes:
        del found[option_id]
    return found


def _options_of(field_id: int, ids: object, options: Mapping[int, _Option]) -> tuple[str, ...]:
    """The values of the options ``ids`` names, in order; () unless all are there, for it."""
    if not isinstance(ids, list):
        return ()
    found = []
    for raw_id in ids:
        try:
            option = options.get(to_int(raw_id))
        except TypeError:
            return ()
        if option is None or option[0] != field_id:
            return ()
        found.append(option[1:])
    return tuple(value for *_, value in sorted(found))


def tags_pager(search: str | None) -> Pager[Tag]:
    params = (("search", search),) if search else ()
    return Pager("/tags", "tags", Tag, params=params)


def create_tag(name: str, description: str = "") -> Operation[Tag]:
    body = {"tag": {"tag": name, "tagType": "contact", "description": description}}
    return Operation(
        "POST", "/tags", _one("tag", Tag, body["tag"]), body=_json(body), idempotent=False
    )


# --- bulk import -------------------------------------------------------------------------------


def _batch_id(data: Any) -> str:
    batch_id = data.get("batchId")
    if not isinstance(batch_id, str) or not batch_id:
        raise ValueError("bulk import answered without a batchId")
    return batch_id


def bulk_import(body: bytes, *, contact_count: int) -> Operation[str]:
    """``POST /import/bulk_import`` with a serialized body; parses the batch id.

    Treated as idempotent: every contact in it is an upsert by email, so a retry after an
    ambiguous failure at worst imports the same values twice.
    """
    return Operation(
        "POST",
        "/import/bulk_import",
        _batch_id,
        body=body,
        kind="bulk" if contact_count > 1 else "bulk_single",
    )


def _import_info(batch_id: str) -> Callable[[Any], BulkImportInfo]:
    def parse(data: Any) -> BulkImportInfo:
        raw_status = data.get("status")
        # ``status: false`` (or nothing yet) while the batch has not started.
        started = not (raw_status is None or raw_status is False or raw_status == "")
        success = _list_of(data, "success")
        failure = _list_of(data, "failure")
        for email in failure:
            if not isinstance(email, str):
                raise TypeError(f"'failure' holds {_kind(email)}, not an email string")
        return BulkImportInfo(
            batch_id=batch_id,
            status=import_status(raw_status) if started else None,
            succeeded_ids=tuple(to_int(i) for i in success),
            failed_emails=tuple(failure),
        )

    return parse


def _list_of(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]``, a list, or [] when absent or null; anything else is refused."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key!r} is {_kind(value)}, not a list")
    return value


def import_info(batch_id: str) -> Operation[BulkImportInfo]:
    return Operation("GET", "/import/info", _import_info(batch_id), params=(("batchId", batch_id),))
