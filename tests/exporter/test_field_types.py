"""Custom field values checked against the field's type from the account: date, datetime, and
the options of dropdown, radio, listbox and checkbox fields."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest

from acexport import ActiveCampaign, FieldMapping, SegmentExporter
from acexport._core._operations import fields_pager
from acexport._exporter._pipeline import Planner
from acexport._exporter._values import type_check
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import Exporting

UTC = datetime.timezone.utc

DATE_OK = [
    ("1985-10-12", "1985-10-12"),
    (datetime.date(1985, 10, 12), "1985-10-12"),
    (datetime.datetime(1985, 10, 12, 23, 30), "1985-10-12"),  # its calendar day
    (datetime.datetime(1985, 10, 12, 23, 30, tzinfo=UTC), "1985-10-12"),
    (None, None),
    (float("nan"), None),
]
DATE_REFUSED = [
    ("gold", "'gold' is not a date: the field expects YYYY-MM-DD or a datetime.date"),
    ("10/12/1985", "'10/12/1985' is not a date"),
    ("1985-2-3", "'1985-2-3' is not a date"),
    ("2024-02-30", "'2024-02-30' is not a real day"),
    ("1985-10-12T10:00", "is not a date"),
    ("١٩٨٥-١٠-١٢", "is not a date"),  # Arabic-Indic digits: fromisoformat alone would take them
    (19851012, "a int is not a date"),
    (True, "a bool is not a date"),
]
DATETIME_OK = [
    ("2020-05-19T02:45:00-05:00", "2020-05-19T02:45:00-05:00"),
    ("2020-05-19T02:45:00Z", "2020-05-19T02:45:00Z"),
    ("2020-05-19 02:45", "2020-05-19 02:45"),
    ("2020-05-19T02:45:00.123456+0100", "2020-05-19T02:45:00.123456+0100"),
    ("2020-05-19", "2020-05-19"),
    (datetime.datetime(2020, 5, 19, 2, 45, tzinfo=UTC), "2020-05-19T02:45:00+00:00"),
    (datetime.date(2020, 5, 19), "2020-05-19"),
    (None, None),
]
DATETIME_REFUSED = [
    ("tomorrow", "'tomorrow' is not a date and time: the field expects ISO 8601"),
    ("05/19/2020 02:45", "is not a date and time"),
    ("2020-05-19T25:00", "'2020-05-19T25:00' is not a real date and time"),
    ("2020-05-19T02:45:00 EST", "is not a date and time"),
    (1589874300, "a int is not a date and time"),
]


@pytest.mark.parametrize(("value", "sent"), DATE_OK)
def test_a_date_field_takes_dates(value: object, sent: str | None) -> None:
    check = type_check("date")
    assert check is not None
    assert check(value) == sent


@pytest.mark.parametrize(("value", "reason"), DATE_REFUSED)
def test_a_date_field_refuses_what_is_not_a_date(value: object, reason: str) -> None:
    check = type_check("date")
    assert check is not None
    with pytest.raises(ValueError) as info:
        check(value)
    assert reason in str(info.value)


@pytest.mark.parametrize(("value", "sent"), DATETIME_OK)
def test_a_datetime_field_takes_iso_8601(value: object, sent: str | None) -> None:
    check = type_check("DateTime")
    assert check is not None
    assert check(value) == sent


@pytest.mark.parametrize(("value", "reason"), DATETIME_REFUSED)
def test_a_datetime_field_refuses_the_rest(value: object, reason: str) -> None:
    check = type_check("datetime")
    assert check is not None
    with pytest.raises(ValueError) as info:
        check(value)
    assert reason in str(info.value)


@pytest.mark.parametrize("field_type", ["text", "textarea", "dropdown", "checkbox", "", "NULL"])
def test_other_types_and_fields_without_options_are_not_checked(field_type: str) -> None:
    assert type_check(field_type) is None
    assert type_check(field_type, ()) is None
    assert type_check("text", ("a", "b")) is None  # options count only where the type has them


OPTIONS = ("Red", "Blue", "Green ", "1", "Zo\u00e9")

OPTION_OK: list[tuple[str, object, str | None]] = [
    ("dropdown", "Red", "Red"),
    ("radio", "Blue", "Blue"),
    ("dropdown", "||Red||", "||Red||"),  # ActiveCampaign's form for one option too
    ("dropdown", "Green", "Green "),  # the option saved with a space around it: sent as saved
    ("dropdown", 1, "1"),  # formatted first, then checked
    ("listbox", ["Red", "Blue"], "||Red||Blue||"),
    ("checkbox", {"Blue", "Red"}, "||Blue||Red||"),
    ("listbox", "||Blue||1||", "||Blue||1||"),
    ("listbox", "||Red|| Blue||", "||Red||Blue||"),  # elements stripped, as a list's are
    ("checkbox", ["Green", "Red"], "||Green ||Red||"),
    ("listbox", [None, "Red"], "||Red||"),
    ("dropdown", None, None),
    ("listbox", [], None),
    ("dropdown", "Zoe\u0301", "Zo\u00e9"),  # decomposed, the option composed: sent as saved
    ("dropdown", "Zo\u00e9", "Zo\u00e9"),
]
OPTION_REFUSED: list[tuple[str, object, str]] = [
    (
        "dropdown",
        "Purple",
        "'Purple' is not one of the field's options: 'Red', 'Blue', 'Green ', '1'",
    ),
    ("radio", "red", "'red' is not one of the field's options"),  # letter case counts
    ("listbox", ["Red", "Purple"], "'Purple' is not one of the field's options"),
    ("checkbox", "||Red||Purple||", "'Purple' is not one of the field's options"),
    ("listbox", "||Red||||Blue||", "'' is not one of the field's options"),
    ("dropdown", 2, "'2' is not one of the field's options"),
]


@pytest.mark.parametrize(("field_type", "value", "sent"), OPTION_OK)
def test_a_field_with_options_takes_its_options(
    field_type: str, value: object, sent: str | None
) -> None:
    check = type_check(field_type, OPTIONS)
    assert check is not None
    assert check(value) == sent


@pytest.mark.parametrize(("field_type", "value", "reason"), OPTION_REFUSED)
def test_a_field_with_options_refuses_anything_else(
    field_type: str, value: object, reason: str
) -> None:
    check = type_check(field_type, OPTIONS)
    assert check is not None
    with pytest.raises(ValueError, match="not one of the field's options") as info:
        check(value)
    assert reason in str(info.value)


def test_a_refusal_names_at_most_five_options() -> None:
    check = type_check("dropdown", [f"o{i}" for i in range(1, 1201)])
    assert check is not None
    with pytest.raises(ValueError) as info:
        check("o0")
    assert str(info.value) == (
        "'o0' is not one of the field's options: 'o1', 'o2', 'o3', 'o4', 'o5' and 1,195 more"
    )


def _fields_body(options: object) -> dict[str, Any]:
    fields = [
        {
            "id": "7",
            "title": "Color",
            "type": "dropdown",
            "perstag": "COLOR",
            "options": ["4", "3"],  # orderid, not this, orders them
        },
        {"id": "8", "title": "Note", "type": "text", "perstag": "NOTE", "options": []},
    ]
    return {"fieldOptions": options, "fieldRels": [], "fields": fields, "meta": {"total": "2"}}


def test_fields_carry_the_values_of_the_options_listed_beside_them() -> None:
    options = [
        {"field": "7", "orderid": "2", "value": "Blue", "label": "Blue!", "id": "4"},
        {"field": 7, "orderid": 1, "value": "Red", "label": "Red!", "id": "3"},
    ]
    page = fields_pager().first().parse(_fields_body(options))
    assert [(f.id, f.options) for f in page.items] == [(7, ("Red", "Blue")), (8, ())]


@pytest.mark.parametrize(
    "options",
    [
        [{"field": "7", "orderid": "1", "value": "Red", "id": "3"}],  # 4 is elsewhere
        [  # the ids the field names belong to another field
            {"field": "8", "orderid": "1", "value": "Red", "id": "3"},
            {"field": "8", "orderid": "2", "value": "Blue", "id": "4"},
        ],
        [{"field": "7", "value": "Red", "id": "x3"}, {"field": "7", "value": "Blue", "id": "4"}],
        None,
        {"7": ["Red"]},
        [{"field": "7", "value": "Red"}, "Blue"],
        [{"field": "7", "value": 3}],
        [{"field": "seven", "value": "Red"}],
        [{"value": "Red"}],
        [{"field": "7", "value": "Red", "orderid": "first", "id": "3"}],
        [{"field": "7", "value": "Red", "orderid": "1"}],  # no id
        [  # id 3 given twice, with two values: which one is it?
            {"field": "7", "value": "Red", "id": "3"},
            {"field": "7", "value": "Blue", "id": "4"},
            {"field": "7", "value": "Green", "id": "3"},
        ],
    ],
)
def test_options_of_another_shape_leave_every_field_unchecked(options: object) -> None:
    # Some options but not all would refuse valid values: none is the safe reading.
    page = fields_pager().first().parse(_fields_body(options))
    assert [f.options for f in page.items] == [(), ()]


def test_a_field_whose_options_are_on_another_page_is_not_checked(
    client: ActiveCampaign, fake: FakeActiveCampaign
) -> None:
    # 100 fields to a page: the dropdown is the 100th, one of its options listed on page 2.
    for i in range(97):
        fake.add_field(f"Filler {i}")
    color = fake.add_field("Color", type="dropdown", options=["Red", "Blue"])
    fake.add_field("Last")
    assert color == 100
    pages: list[dict[str, Any]] = []

    def move_blue(request: httpx.Request) -> httpx.Response:
        response = fake.transport().handle_request(request)
        body = json.loads(response.read())
        pages.append(body)
        if len(pages) == 1:
            body["moved"] = [o for o in body["fieldOptions"] if o["value"] == "Blue"]
            body["fieldOptions"] = [o for o in body["fieldOptions"] if o["value"] != "Blue"]
        else:  # the second page gets the option the first page lost
            body["fieldOptions"] = pages[0].pop("moved")
        return httpx.Response(200, json=body)

    listed = [(f.id, f.options) for f in client.fields.list() if f.options]
    assert listed == [(color, ("Red", "Blue"))]
    with ActiveCampaign(
        "https://x.api-us1.com",
        fake.api_key,
        transport=httpx.MockTransport(move_blue),
        max_retries=0,
    ) as split:
        assert [f.options for f in split.fields.list() if f.id == color] == [()]
    assert len(pages) == 2


@pytest.mark.anyio
async def test_an_export_refuses_values_that_are_not_options_as_invalid_rows(
    exporting: Exporting, fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    color = fake.add_field("Color", type="dropdown", options=["Red", "Blue"])
    hobbies = fake.add_field("Hobbies", type="listbox", options=["chess", "golf"])
    free = fake.add_field("Mood", type="radio")  # no options listed: not checked
    mapping = FieldMapping(email="e", fields={"COLOR": "c", "HOBBIES": "h", "MOOD": "m"})
    rows: list[dict[str, Any]] = [
        {"e": f"u{i}@example.com", "c": "Red", "h": ["golf"], "m": "sunny"} for i in range(6)
    ]
    rows[1]["c"] = "Purple"
    rows[4]["h"] = ["golf", "darts"]
    report = await exporting.export(rows, mapping)
    assert (report.exported, report.invalid) == (4, 2)
    assert [(e.index, e.reason) for e in report.errors] == [
        (
            1,
            "dropdown field 'COLOR' ('c'): 'Purple' is not one of the field's options: 'Red', 'Blue'",
        ),
        (
            4,
            "listbox field 'HOBBIES' ('h'): 'darts' is not one of the field's options: 'chess', 'golf'",
        ),
    ]
    assert fake.contact_by_email("u1@example.com") is None
    sent = fake.contact_by_email("u0@example.com")
    assert sent is not None
    assert sent.fields == {color: "Red", hobbies: "||golf||", free: "sunny"}


def test_the_planner_refuses_a_row_naming_the_field_and_what_it_expects() -> None:
    mapping = FieldMapping(email="e", fields={"BIRTHDAY": "b", "NOTE": "n", "SEEN": "s"})
    planner = Planner(
        mapping,
        {"BIRTHDAY": 2, "NOTE": 3, "SEEN": 4},
        list_id=1,
        field_types={2: "date", 3: "text", 4: "datetime"},
    )
    rows: list[dict[str, Any]] = [
        {"e": "a@example.com", "b": " 1985-10-12 ", "n": "10/12/1985", "s": "2020-01-01T00:00Z"},
        {"e": "b@example.com", "b": "10/12/1985"},
        {"e": "c@example.com", "b": datetime.date(1990, 1, 2), "s": "yesterday"},
        {"e": "d@example.com", "b": "", "s": None},
    ]
    for i, row in enumerate(rows):
        assert planner.feed(i, row) is None
    batch = planner.close()
    assert batch is not None
    assert [c.email for c in batch] == ["a@example.com", "d@example.com"]
    assert batch.contacts[0].fields == {2: "1985-10-12", 3: "10/12/1985", 4: "2020-01-01T00:00Z"}
    assert batch.contacts[1].fields == {}
    assert [(e.index, e.kind) for e in planner.errors] == [(1, "invalid"), (2, "invalid")]
    assert planner.errors[0].reason == (
        "date field 'BIRTHDAY' ('b'): '10/12/1985' is not a date: "
        "the field expects YYYY-MM-DD or a datetime.date"
    )
    assert planner.errors[1].reason.startswith(
        "datetime field 'SEEN' ('s'): 'yesterday' is not a date and time"
    )


def test_an_export_refuses_bad_dates_as_invalid_rows(
    client: ActiveCampaign, fake: FakeActiveCampaign
) -> None:
    # The fixture's field 2, BIRTHDAY, is of type date; TIER (1) is text.
    mapping = FieldMapping(email="e", fields={"TIER": "t", "BIRTHDAY": "b"})
    rows = [{"e": f"u{i}@example.com", "t": "gold", "b": "1990-01-02"} for i in range(12)]
    rows[3]["b"] = "gold"
    rows[7]["b"] = "10/12/1985"
    report = SegmentExporter(client, 1, mapping).export(rows)
    assert (report.exported, report.invalid) == (10, 2)
    assert [e.index for e in report.errors] == [3, 7]
    assert all("date field 'BIRTHDAY'" in e.reason for e in report.errors)
    assert fake.contact_by_email("u3@example.com") is None
    assert fake.contact_by_email("u0@example.com").fields == {1: "gold", 2: "1990-01-02"}  # type: ignore[union-attr]


def test_pandas_timestamps_and_missing_values_in_date_fields() -> None:
    pd = pytest.importorskip("pandas")
    date, moment = type_check("date"), type_check("datetime")
    assert date is not None
    assert moment is not None
    assert date(pd.Timestamp("2024-05-01 09:30")) == "2024-05-01"
    assert moment(pd.Timestamp("2024-05-01 09:30", tz="UTC")) == "2024-05-01T09:30:00+00:00"
    assert (date(pd.NaT), moment(pd.NaT), date(pd.NA)) == (None, None, None)


def test_a_field_listed_twice_with_other_options_is_kept_once_and_not_checked() -> None:
    # Offset paging lists a field again when one is added while it walks; here the copy on
    # page 2 names other options. The field stays mappable (not "ambiguous") and unchecked.
    fake = FakeActiveCampaign(import_delay=0)
    fake.add_list("L")
    for i in range(98):
        fake.add_field(f"Filler {i}")
    color = fake.add_field("Color", type="dropdown", options=["Red"])
    fake.add_field("Last")
    fake.add_field("After")  # field 101: on page 2
    pages = 0

    def list_color_again(request: httpx.Request) -> httpx.Response:
        nonlocal pages
        response = fake.transport().handle_request(request)
        if request.url.path != "/api/3/fields":
            return response
        pages += 1
        body = json.loads(response.read())
        if pages == 2:
            copy = {**body["fields"][0], "id": str(color), "perstag": "COLOR"}
            copy.update(title="Color", type="dropdown", options=["999"])
            body["fields"].insert(0, copy)
            body["fieldOptions"] = [{"field": str(color), "value": "Blue", "id": "999"}]
        return httpx.Response(response.status_code, json=body)

    transport = httpx.MockTransport(list_color_again)
    with ActiveCampaign("https://x.api-us1.com", fake.api_key, transport=transport) as client:
        rows = [{"e": "a@example.com", "c": "Red"}, {"e": "b@example.com", "c": "Green"}]
        mapping = FieldMapping(email="e", fields={"COLOR": "c"})
        report = SegmentExporter(client, 1, mapping).export(rows)
    assert pages == 2, report.summary()
    assert (report.exported, report.invalid) == (2, 0)
    assert fake.contact_by_email("b@example.com").fields == {color: "Green"}  # type: ignore[union-attr]
