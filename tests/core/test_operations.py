from __future__ import annotations

import json
from typing import Any

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


# --- pagers stop on a server that does not advance --------------------------------------------


def _walk(pager: ops.Pager[Any], answer: Any, *, limit: int = 10_000) -> int:
    """Drive ``pager`` against ``answer(params) -> body`` until it ends; the pages fetched."""
    op: ops.Operation[Any] | None = pager.first()
    pages = 0
    while op is not None:
        pages += 1
        assert pages <= limit, "the pager did not stop"
        op = pager.next(op, op.parse(answer(dict(op.params))))
    return pages


def _named(key: str, ids: range, total: object = None) -> dict[str, Any]:
    name = "tag" if key == "tags" else "title" if key == "fields" else "name"
    body: dict[str, Any] = {key: [{"id": str(i), name: f"x{i}"} for i in ids]}
    if total is not None:
        body["meta"] = {"total": total}
    return body


OFFSET_PAGERS = [
    (ops.lists_pager, "lists"),
    (ops.fields_pager, "fields"),
    (lambda: ops.tags_pager(None), "tags"),
]


@pytest.mark.parametrize(("make", "key"), OFFSET_PAGERS)
@pytest.mark.parametrize("total", [None, "250", "100000000"])
def test_an_offset_pager_stops_on_a_server_that_repeats_its_first_page(
    make: Any, key: str, total: object
) -> None:
    # The trial: a server that ignores offset sent 36,000 copies of page one in 30 s.
    with pytest.raises(ResponseValidationError, match="did not advance") as info:
        _walk(make(), lambda params: _named(key, range(1, 101), total))
    assert "offset 100" in str(info.value)


@pytest.mark.parametrize(("make", "key"), OFFSET_PAGERS)
def test_an_offset_pager_stops_on_a_server_that_cycles_between_pages(make: Any, key: str) -> None:
    def answer(params: dict[str, str]) -> dict[str, Any]:
        start = (int(params["offset"]) // 100) % 3 * 100  # pages 0, 1, 2, 0, 1, 2 ...
        return _named(key, range(start, start + 100))

    with pytest.raises(ResponseValidationError, match="did not advance"):
        _walk(make(), answer)


@pytest.mark.parametrize(("make", "key"), OFFSET_PAGERS)
def test_an_offset_pager_stops_when_meta_total_keeps_growing(make: Any, key: str) -> None:
    # New items on every page, and a total always a page ahead: the cap from the first total.
    def answer(params: dict[str, str]) -> dict[str, Any]:
        start = int(params["offset"])
        return _named(key, range(start, start + 100), str(start + 200))

    with pytest.raises(ResponseValidationError, match=r"meta\.total said 200") as info:
        _walk(make(), answer)
    assert "14 pages" in str(info.value)  # 2 * ceil(200 / 100) + 10


@pytest.mark.parametrize(
    ("make", "key", "total"),
    [*((make, key, None) for make, key in OFFSET_PAGERS), (ops.fields_pager, "fields", "1e11")],
)
def test_an_offset_listing_without_a_total_or_of_fields_stops_at_max_offset_pages(
    make: Any, key: str, total: str | None
) -> None:
    # The trial: new items on every page and no meta.total (or an absurd one) went on for
    # 2,001 pages, 103 s and 307 MB before the hostile server itself gave up.
    def answer(params: dict[str, str]) -> dict[str, Any]:
        start = int(params["offset"])
        return _named(key, range(start, start + 100), "99999999999" if total else None)

    with pytest.raises(ResponseValidationError, match=r"\(1,000 pages\)") as info:
        _walk(make(), answer)
    assert f"{ops.MAX_OFFSET_PAGES} pages of 100 and still not at the end" in str(info.value)


def test_a_listing_of_more_than_max_offset_pages_is_read_when_its_total_says_so() -> None:
    # An account may have 150,000 tags: with a meta.total saying so, they are all listed.
    def answer(params: dict[str, str]) -> dict[str, Any]:
        start = int(params["offset"])
        return _named("tags", range(start, min(start + 100, 150_000)), "150000")

    assert _walk(ops.tags_pager(None), answer) == 1_500


def test_an_offset_pager_allows_overlap_and_growth_within_reason() -> None:
    # An item added at the front while listing shifts the window: one id comes twice.
    def answer(params: dict[str, str]) -> dict[str, Any]:
        start = int(params["offset"])
        shift = 1 if start else 0
        return _named("lists", range(start - shift, min(start + 100, 301) - shift), "301")

    assert _walk(ops.lists_pager(), answer) == 4  # 0-99, 99-198, 199-298, 299


def test_a_pager_can_walk_again_after_an_error() -> None:
    pager = ops.lists_pager()
    with pytest.raises(ResponseValidationError):
        _walk(pager, lambda params: _named("lists", range(100)))
    assert _walk(pager, lambda params: _named("lists", range(5))) == 1


@pytest.mark.parametrize(
    "ids",
    [
        [5] * 100,  # the same contact over and over
        list(range(100, 0, -1)),  # descending: orders[id]=ASC ignored
        [*range(1, 50), 0, *range(50, 100)],  # one id not above id_greater
        [*range(1, 51), *range(1, 51)],  # a page holding the same ids twice
    ],
)
def test_id_paging_must_ascend_above_id_greater(ids: list[int]) -> None:
    pager = ops.contacts_pager(None, None)
    first = pager.first()
    page = first.parse({"contacts": [{"id": str(i), "email": f"{i}@x.co"} for i in ids]})
    with pytest.raises(ResponseValidationError, match="did not advance"):
        pager.next(first, page)


def test_id_paging_is_capped_by_meta_total() -> None:
    def answer(params: dict[str, str]) -> dict[str, Any]:
        after = int(params["id_greater"])
        contacts = [{"id": str(i), "email": f"{i}@x.co"} for i in range(after + 1, after + 101)]
        return {"contacts": contacts, "meta": {"total": "1000"}}

    with pytest.raises(ResponseValidationError, match="30 pages"):  # 2 * 10 + 10
        _walk(ops.contacts_pager(None, None), answer)
