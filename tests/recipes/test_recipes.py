"""The data-tool recipes of docs/recipes.md, run with the real libraries against the fake.

Each recipe reads the same segment (written as a CSV file, then loaded the tool's way) and
exports it through the bulk-import path; each test checks that the report adds up and that the
fake account holds the contacts with exactly the values expected: missing values (NaN, NULL,
empty cells) left out rather than sent as ``"nan"`` or ``""``, whole-number floats sent as
integers, dates as ``YYYY-MM-DD``, the first of two duplicates kept.

pandas, polars and duckdb are optional: their tests are skipped where they are not installed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from acexport import ActiveCampaign, ExportReport, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "recipes-key"
TIER, BIRTHDAY, POINTS = 11, 12, 13  # the custom field ids in the fake account
COLUMNS = ["Email", "FirstName", "LastName", "Tier", "Birthday", "Points"]
MAPPING = FieldMapping(
    email="Email",
    first_name="FirstName",
    last_name="LastName",
    fields={"TIER": "Tier", "BIRTHDAY": "Birthday", "POINTS": "Points"},
    tags=["recipe"],
)

# Twelve valid unique customers (enough for bulk import), a re-cased duplicate of the first,
# one bad address, and gaps: Grace has no last name, birthday or points; Alan no tier.
CUSTOMERS: list[dict[str, str]] = [
    {
        "Email": f"customer{i:02d}@example.com",
        "FirstName": f"First{i}",
        "LastName": f"Last{i}",
        "Tier": "bronze",
        "Birthday": f"1990-01-{i + 1:02d}",
        "Points": str(i * 10),
    }
    for i in range(10)
]
ROWS: list[dict[str, str]] = [
    {
        "Email": "ada@example.com",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Tier": "gold",
        "Birthday": "1990-12-10",
        "Points": "12",
    },
    {
        "Email": "grace@example.com",
        "FirstName": "Grace",
        "LastName": "",
        "Tier": "silver",
        "Birthday": "",
        "Points": "",
    },
    {
        "Email": "alan@example.com",
        "FirstName": "Alan",
        "LastName": "Turing",
        "Tier": "",
        "Birthday": "1992-06-23",
        "Points": "7",
    },
    *CUSTOMERS,
    {
        "Email": "ADA@Example.com",
        "FirstName": "Ada",
        "LastName": "Byron",
        "Tier": "bronze",
        "Birthday": "1990-12-10",
        "Points": "1",
    },
    {
        "Email": "not-an-email",
        "FirstName": "Nobody",
        "LastName": "Nowhere",
        "Tier": "gold",
        "Birthday": "1999-01-01",
        "Points": "3",
    },
]
UNIQUE_VALID = 13


@pytest.fixture
def segment_csv(tmp_path: Path) -> Path:
    path = tmp_path / "segment.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(ROWS)
    return path


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def account(clock: VirtualClock) -> FakeActiveCampaign:
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=5, bulk_imports_per_minute=100, clock=clock
    )
    fake.add_list("Newsletter", id=1)
    fake.add_field("Tier", perstag="TIER", id=TIER)
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date", id=BIRTHDAY)
    fake.add_field("Points", perstag="POINTS", id=POINTS)
    return fake


@pytest.fixture
def client(account: FakeActiveCampaign, clock: VirtualClock) -> Iterator[ActiveCampaign]:
    """A client on the fake's MockTransport, waiting in virtual time (as tests/conftest.py)."""
    with ActiveCampaign(
        "http://127.0.0.1", KEY, transport=account.transport(), clock=clock, sleep=clock.sleep
    ) as client:
        yield client


def export(client: ActiveCampaign, profiles: Iterable[Any]) -> ExportReport:
    return SegmentExporter(client, 1, MAPPING).export(profiles)


def dict_rows(cursor: Any, size: int = 1_000) -> Iterator[dict[str, Any]]:
    """The docs' helper: the rows of a DB-API cursor as dicts, fetched ``size`` at a time."""
    names = [column[0] for column in cursor.description]
    while rows := cursor.fetchmany(size):
        for row in rows:
            yield dict(zip(names, row, strict=True))


def assert_exported(report: ExportReport, fake: FakeActiveCampaign) -> None:
    """The report adds up, and the account holds what the segment says."""
    assert report.received == len(ROWS)
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    assert (report.exported, report.duplicates, report.invalid) == (UNIQUE_VALID, 1, 1)
    assert [(e.index, e.email, e.kind) for e in report.errors] == [
        (len(ROWS) - 1, "not-an-email", "invalid")
    ]
    assert fake.stats.bulk_requests >= 1  # the bulk path, not the contact endpoints

    tier, birthday, points = TIER, BIRTHDAY, POINTS
    contacts = {c.email.lower(): c for c in fake.contacts}
    assert len(contacts) == UNIQUE_VALID

    ada = contacts["ada@example.com"]
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")  # the first occurrence wins
    assert ada.fields == {tier: "gold", birthday: "1990-12-10", points: "12"}
    assert ada.tags == {"recipe"}
    assert ada.lists == {1: 1}

    grace = contacts["grace@example.com"]
    assert (grace.first_name, grace.last_name) == ("Grace", "")
    assert grace.fields == {tier: "silver"}  # no birthday, no points: left out

    alan = contacts["alan@example.com"]
    assert alan.fields == {birthday: "1992-06-23", points: "7"}

    first = contacts["customer00@example.com"]
    assert first.fields == {tier: "bronze", birthday: "1990-01-01", points: "0"}
    for contact in contacts.values():
        assert all(value not in ("", "nan", "None", "NaT") for value in contact.fields.values())
        assert contact.last_name not in ("nan", "None")


# --- the standard library --------------------------------------------------------------------


def test_csv_dictreader_with_key_sources(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    with segment_csv.open(newline="", encoding="utf-8-sig") as f:
        report = export(client, csv.DictReader(f))
    assert_exported(report, account)


def test_sqlite3_cursor_as_dicts(
    segment_csv: Path, tmp_path: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "crm.db")) as con:
        con.execute(
            "CREATE TABLE customers (Email TEXT, FirstName TEXT, LastName TEXT, Tier TEXT,"
            " Birthday TEXT, Points INTEGER)"
        )
        with segment_csv.open(newline="", encoding="utf-8") as f:
            rows = ({k: (v or None) for k, v in row.items()} for row in csv.DictReader(f))
            con.executemany(
                "INSERT INTO customers VALUES "
                "(:Email, :FirstName, :LastName, :Tier, :Birthday, :Points)",
                rows,
            )
        con.commit()
        cursor = con.execute("SELECT * FROM customers ORDER BY rowid")
        report = export(client, dict_rows(cursor, size=4))  # several fetchmany rounds
    assert_exported(report, account)


def test_sqlite3_row_needs_callables(client: ActiveCampaign) -> None:
    """What the docs warn about: string sources find nothing in a ``sqlite3.Row``."""
    with contextlib.closing(sqlite3.connect(":memory:")) as con:
        con.row_factory = sqlite3.Row
        row = con.execute("SELECT 'ada@example.com' AS Email").fetchone()
        planned = SegmentExporter(client, 1, FieldMapping(email="Email"), dry_run=True)
        assert planned.export([row]).invalid == 1
        by_callable = FieldMapping(email=lambda r: r["Email"])
        assert SegmentExporter(client, 1, by_callable, dry_run=True).export([row]).exported == 1


# --- pandas ----------------------------------------------------------------------------------


def test_pandas_itertuples_with_attribute_sources(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(segment_csv)
    assert df["Points"].dtype.kind == "f"  # a gap turned the int column into floats
    assert df["LastName"].isna().sum() == 1
    report = export(client, df.itertuples(index=False))
    assert_exported(report, account)


def test_pandas_records_with_key_sources(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    pd = pytest.importorskip("pandas")
    records = pd.read_csv(segment_csv).to_dict("records")
    assert any(isinstance(v, float) and v != v for r in records for v in r.values())  # NaNs
    report = export(client, records)
    assert_exported(report, account)


def test_pandas_chunks_streamed(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    pd = pytest.importorskip("pandas")
    with pd.read_csv(segment_csv, chunksize=4) as chunks:
        rows = itertools.chain.from_iterable(chunk.itertuples(index=False) for chunk in chunks)
        report = export(client, rows)
    assert_exported(report, account)


def test_pandas_timestamps_need_dt_date(segment_csv: Path, client: ActiveCampaign) -> None:
    """What the docs warn about: parsed dates are datetimes; ``.dt.date`` makes them dates."""
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(segment_csv, parse_dates=["Birthday"])
    df["Birthday"] = df["Birthday"].dt.date
    assert isinstance(df["Birthday"].iloc[0], datetime.date)
    assert not isinstance(df["Birthday"].iloc[0], datetime.datetime)
    report = export(client, df.itertuples(index=False))
    assert (report.exported, report.invalid) == (UNIQUE_VALID, 1)


# --- polars ----------------------------------------------------------------------------------


def test_polars_iter_rows_named(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    pl = pytest.importorskip("polars")
    df = pl.read_csv(segment_csv, try_parse_dates=True)
    assert df.schema["Birthday"] == pl.Date
    report = export(client, df.iter_rows(named=True))
    assert_exported(report, account)


# --- DuckDB ----------------------------------------------------------------------------------


def test_duckdb_cursor_as_dicts(
    segment_csv: Path, client: ActiveCampaign, account: FakeActiveCampaign
) -> None:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect() as con:
        cursor = con.execute(
            "SELECT Email, FirstName, LastName, Tier, Birthday, Points FROM read_csv(?)",
            [str(segment_csv)],
        )
        report = export(client, dict_rows(cursor, size=5))
    assert_exported(report, account)
