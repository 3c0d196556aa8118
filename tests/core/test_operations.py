from __future__ import annotations

import json

import pytest

from acexport import (
    BulkContact,
    BulkImportStatus,
    ConfigError,
    ContactList,
    ListStatus,
    ResponseValidationError,
)
from acexport._core import _operations as ops
from acexport._core._bulk import bulk_body, check_bulk_limits


def _lists(start: int, n: int) -> dict[str, object]:
    return {
        "lists": [
            {"id": str(i), "name": f"L{i}", "stringid": f"l{i}"} for i in range(start, start + n)
        ],
        "meta": {"total": "250"},
    }


def test_offset_pager_walks_all_pages_with_limit_100() -> None:
    pager = ops.lists_pager()
    op: ops.Operation[ops.Page[ContactList]] | None = pager.first()
    seen: list[int] = []
    offsets: list[str] = []
    while op is not None:
        params = dict(op.params)
        assert params["limit"] == "100"
        offsets.append(params["offset"])
        start = int(params["offset"])
        page = op.parse(_lists(start, min(100, 250 - start)))
        seen.extend(x.id for x in page.items)
        op = pager.next(op, page)
    assert offsets == ["0", "100", "200"]
    assert seen == list(range(250))


def test_offset_pager_stops_at_total_even_with_full_pages() -> None:
    pager = ops.lists_pager()
    first = pager.first()
    page = first.parse(
        {"lists": [{"id": str(i), "name": "x"} for i in range(100)], "meta": {"total": "100"}}
    )
    assert pager.next(first, page) is None


def test_contacts_page_by_id_greater() -> None:
    pager = ops.contacts_pager(3, ListStatus.ACTIVE)
    first = pager.first()
    params = dict(first.params)
    assert params == {
        "listid": "3",
        "status": "1",
        "limit": "100",
        "orders[id]": "ASC",
        "id_greater": "0",
    }
    page = first.parse({"contacts": [{"id": str(i), "email": f"{i}@x.co"} for i in range(5, 105)]})
    nxt = pager.next(first, page)
    assert nxt is not None
    assert dict(nxt.params)["id_greater"] == "104"


def test_id_paging_that_does_not_advance_is_an_error() -> None:
    pager = ops.contacts_pager(None, None)
    first = pager.first()
    page = first.parse({"contacts": [{"id": "0", "email": "a@x.co"}] * 100})
    with pytest.raises(ResponseValidationError, match="did not advance"):
        pager.next(first, page)


def test_find_by_email_checks_the_returned_email() -> None:
    op = ops.find_contact_by_email("  Ann@Example.com ")
    assert dict(op.params) == {"email": "Ann@Example.com"}
    wrong = {"contacts": [{"id": "1", "email": "first@example.com"}]}
    assert op.parse(wrong) is None
    right = {
        "contacts": [
            {"id": "1", "email": "first@example.com"},
            {"id": "2", "email": "ann@example.com"},
        ]
    }
    found = op.parse(right)
    assert found is not None
    assert found.id == 2


def test_bulk_body_shape() -> None:
    body = bulk_body(
        [BulkContact("a@b.co", first_name="A", fields={2: "x"}, tags=["t"], subscribe=[3])],
        exclude_automations=True,
    )
    assert json.loads(body) == {
        "contacts": [
            {
                "email": "a@b.co",
                "first_name": "A",
                "fields": [{"id": 2, "value": "x"}],
                "tags": ["t"],
                "subscribe": [{"listid": 3}],
                "exclude_automations": True,
            }
        ],
        "exclude_automations": True,
    }


def test_bulk_limits_are_checked_before_sending() -> None:
    check_bulk_limits(250, 399_999)
    with pytest.raises(ConfigError, match="1 to 250"):
        check_bulk_limits(251, 10)
    with pytest.raises(ConfigError, match="399,999"):
        check_bulk_limits(2, 400_000)


def test_bulk_import_kind_and_batch_id() -> None:
    op = ops.bulk_import(b"{}", contact_count=2)
    assert op.kind == "bulk"
    assert ops.bulk_import(b"{}", contact_count=1).kind == "bulk_single"
    assert op.parse({"Success": 1, "batchId": "abc"}) == "abc"
    with pytest.raises(ValueError, match="batchId"):
        op.parse({"success": 0})


@pytest.mark.parametrize(
    ("body", "status", "finished"),
    [
        ({"status": False, "success": [], "failure": []}, None, False),
        ({"status": "active"}, BulkImportStatus.ACTIVE, False),
        (
            {"status": "completed", "success": ["1", "2"], "failure": ["x@y.co"]},
            BulkImportStatus.COMPLETED,
            True,
        ),
        ({"status": "interrupted"}, BulkImportStatus.INTERRUPTED, True),
        ({"status": "failed"}, BulkImportStatus.FAILED, True),
    ],
)
def test_import_info(
    body: dict[str, object], status: BulkImportStatus | None, finished: bool
) -> None:
    info = ops.import_info("b1").parse(body)
    assert info.status is status
    assert info.finished is finished
    if status is BulkImportStatus.COMPLETED:
        assert info.succeeded_ids == (1, 2)
        assert info.failed_emails == ("x@y.co",)
