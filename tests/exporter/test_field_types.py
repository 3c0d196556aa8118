"""Custom field values checked against the field's type from the account (date, datetime)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from acexport import ActiveCampaign, FieldMapping, SegmentExporter
from acexport._exporter._pipeline import Planner
from acexport._exporter._values import type_check
from acexport.testing import FakeActiveCampaign

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
def test_other_types_are_not_checked(field_type: str) -> None:
    assert type_check(field_type) is None


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
