"""Endpoints of bulk import: ``POST import/bulk_import`` and ``GET import/info``.

A valid request becomes a :class:`~acexport.testing._records.BatchRecord` in the store, with a
timeline (``status: false`` for ``import_delay``, then ``"active"``, then its outcome); the
store applies its contacts when it finishes (``Store.apply_finished_batches``). Validation
refuses the whole request with a 400 naming each bad contact's index, as ActiveCampaign does.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from ._records import BatchRecord, BulkItem
from ._replies import (
    BULK_INVALID_MESSAGE,
    BULK_RATE_BODY,
    EMAIL_FORMAT_REASON,
    Reply,
    bulk_400,
    reply_json,
)
from ._routing import Request, RouteTable, as_flag, as_id, as_text
from ._store import Store

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher

__all__ = ["MAX_BULK_BYTES", "MAX_BULK_CONTACTS", "routes"]

MAX_BULK_BYTES: Final = 399_999
MAX_BULK_CONTACTS: Final = 250

routes = RouteTable()


def _parse_bulk_item(
    store: Store, index: int, raw: object, top_exclude: bool, reasons: list[dict[str, Any]]
) -> BulkItem | None:
    """Contact ``index`` of a request, or ``None`` with its failure reasons added to ``reasons``."""

    def fail(reason: str) -> None:
        reasons.append({"contact": index, "failureReason": reason})

    if not isinstance(raw, dict):
        fail("Contact must be a JSON object")
        return None
    before = len(reasons)
    email = raw.get("email")
    if email is None or email == "":
        fail("Field\u2018 email\u2019 is required")
    elif store.refuses_email(email):
        fail(EMAIL_FORMAT_REASON)
    values: list[tuple[str, str]] = []
    for key in ("first_name", "last_name", "phone"):
        if raw.get(key) is None:
            continue
        text = as_text(raw[key])
        if text is None:
            fail(f"Field\u2018 {key}\u2019 incorrect format")
        else:
            values.append((key, text))
    fields: list[tuple[int, str]] = []
    raw_fields = raw.get("fields") or []
    if not isinstance(raw_fields, list):
        fail("Field\u2018 fields\u2019 incorrect format")
        raw_fields = []
    for item in raw_fields:
        field_id = as_id(item.get("id")) if isinstance(item, dict) else None
        if field_id is None or not isinstance(item, dict) or "value" not in item:
            fail("Field\u2018 fields\u2019 incorrect format")
        elif field_id not in store.fields:
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
            elif list_id not in store.lists:
                fail(f"List with id {list_id} does not exist")
            else:
                lists[key].append(list_id)
    if len(reasons) > before:
        return None
    exclude = as_flag(raw["exclude_automations"]) if "exclude_automations" in raw else top_exclude
    if store.lean:  # validated above; a lean store keeps only what an export needs answered
        values, fields, tags = [], [], []
    return BulkItem(
        email=str(email),
        values=tuple(values),
        fields=tuple(fields),
        tags=tuple(t.strip() for t in tags),
        subscribe=tuple(lists["subscribe"]),
        unsubscribe=tuple(lists["unsubscribe"]),
        exclude_automations=exclude,
    )


@routes.add("POST", "/api/3/import/bulk_import")
def _bulk_import(dispatcher: Dispatcher, req: Request) -> Reply:
    try:
        data: Any = json.loads(req.body or b"null")
    except ValueError:
        data = None
    contacts = data.get("contacts") if isinstance(data, dict) else None
    count = len(contacts) if isinstance(contacts, list) else 0
    quota = dispatcher.bulk_single if count == 1 else dispatcher.bulk_multi
    if quota is not None and quota.take(req.now) is not None:
        dispatcher.counters.refused_bulk_rate += 1
        return reply_json(400, BULK_RATE_BODY)
    if len(req.body) > MAX_BULK_BYTES:
        return bulk_400(
            "Payload too large.",
            ["The maximum payload size of a single bulk_import request is 399999 bytes."],
        )
    if not isinstance(data, dict):
        return bulk_400("Request body is not valid JSON.", ["Request body is not valid JSON."])
    if not isinstance(contacts, list) or not contacts:
        return bulk_400(BULK_INVALID_MESSAGE, ["'contacts' is a required field."])
    if count > MAX_BULK_CONTACTS:
        return bulk_400(
            "Too many contacts.", ["Up to 250 contacts may be imported in a single request."]
        )
    store = dispatcher.store
    top_exclude = as_flag(data.get("exclude_automations", False))
    reasons: list[dict[str, Any]] = []
    items = [
        _parse_bulk_item(store, i, raw, top_exclude, reasons) for i, raw in enumerate(contacts)
    ]
    if reasons:
        return bulk_400(BULK_INVALID_MESSAGE, reasons)
    outcome, fraction = dispatcher.faults._next_outcome(
        item.email for item in items if item is not None
    )
    batch_id = str(uuid.UUID(int=dispatcher.rng.getrandbits(128), version=4))
    dispatcher.batch_seq += 1
    active_at = req.now + dispatcher.import_delay
    store.add_batch(
        BatchRecord(
            id=batch_id,
            seq=dispatcher.batch_seq,
            items=[item for item in items if item is not None],
            contacts=count,
            submitted_at=req.now,
            active_at=active_at,
            finishes_at=active_at + count * dispatcher.import_seconds_per_contact,
            outcome=outcome,
            applied_fraction=fraction,
        )
    )
    dispatcher.counters.bulk_requests += 1
    dispatcher.counters.bulk_contacts += count
    return reply_json(
        200,
        {
            "Success": 1,
            "queued_contacts": count,
            "batchId": batch_id,
            "message": "Contact import queued",
        },
    )


@routes.add("GET", "/api/3/import/info")
def _import_info(dispatcher: Dispatcher, req: Request) -> Reply:
    batch_id = req.params.get("batchId", "").strip()
    if not batch_id:
        return reply_json(400, {"success": 0, "message": "'batchId' is a required field."})
    batch = dispatcher.store.batches.get(batch_id)
    if batch is None:
        return reply_json(404, {"message": f"No Result found for import batch with id {batch_id}"})
    if req.info_false:
        return reply_json(200, {"status": False, "success": [], "failure": []})
    status = batch.status(req.now)
    if status is False or status == "active":
        return reply_json(200, {"status": status, "success": [], "failure": []})
    success = [str(cid) for cid in batch.success]
    return reply_json(200, {"status": status, "success": success, "failure": batch.failure})
