"""Incremental export and resume with ``state="postgresql://..."`` (sync and async), through
the fake ActiveCampaign in virtual time and the throwaway PostgreSQL cluster."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import anyio
import psycopg
import pytest
from pgserver import Cluster

from acexport import (
    AsyncSegmentExporter,
    ConfigError,
    ExportReport,
    FieldMapping,
    PostgresState,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import make_async_client, make_client

# a real server over loopback: integration tests too (the socket guard allows them)
pytestmark = [pytest.mark.postgres, pytest.mark.integration]

MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"})
ACCOUNT = "https://acct.api-us1.com/api/3"  # the helpers' clients
Run = Callable[..., ExportReport]


def profiles(n: int, *, tier: str = "gold", start: int = 0) -> list[dict[str, Any]]:
    return [
        {"Email": f"p{i}@example.com", "Name": f"P{i}", "Tier": tier}
        for i in range(start, start + n)
    ]


@pytest.fixture
def url(pg_cluster: Cluster) -> str:
    """A state URL of its own: the cluster, and a schema named after ``#``."""
    return f"{pg_cluster.dsn}#t_{secrets.token_hex(6)}"


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, fake: FakeActiveCampaign, clock: VirtualClock) -> Run:
    def sync(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        with make_client(fake, clock) as client:
            return SegmentExporter(client, 1, mapping, **options).export(rows)

    def asynchronous(rows: Any, mapping: FieldMapping = MAPPING, **options: Any) -> ExportReport:
        async def main() -> ExportReport:
            async with make_async_client(fake, clock) as client:
                return await AsyncSegmentExporter(client, 1, mapping, **options).export(rows)

        return anyio.run(main)

    return sync if request.param == "sync" else asynchronous


def test_a_second_run_sends_only_what_changed(run: Run, fake: FakeActiveCampaign, url: str) -> None:
    first = run(profiles(1000), state=url)
    assert (first.exported, first.unchanged, first.incremental) == (1000, 0, True)
    sent = fake.stats.bulk_requests
    second = run(profiles(1000), state=url)
    assert (second.exported, second.unchanged) == (0, 1000)
    assert fake.stats.bulk_requests == sent
    rows = profiles(1000)
    for row in rows[::4]:
        row["Tier"] = "silver"
    third = run(rows, state=url)
    assert (third.exported, third.unchanged) == (250, 750)
    assert fake.stats.bulk_requests == sent + 1  # one full batch of the 250 that changed
    with PostgresState(url) as store:
        (summary,) = store.summaries()
    assert (summary.account, summary.list_id, summary.confirmed) == (ACCOUNT, 1, 1000)
    assert summary.last_run is not None
    assert summary.last_run["exported"] == 250


def test_a_run_settles_the_batches_an_earlier_run_left_open(
    run: Run, fake: FakeActiveCampaign, url: str
) -> None:
    fake.faults.queue("info_false", path="/api/3/import/info", times=1_000_000)
    first = run(profiles(500), state=url, settle_timeout=5.0)
    assert first.failed == 500
    with PostgresState(url) as store:
        assert len(store.open_list(ACCOUNT, 1, write=False).open_batches()) == 2
    fake.faults.clear()
    submitted = fake.stats.bulk_requests
    second = run(profiles(500), state=url)
    assert (second.exported, second.unchanged) == (0, 500)
    assert fake.stats.bulk_requests == submitted  # polled, not resubmitted
    with PostgresState(url) as store:
        (summary,) = store.summaries()
    assert (summary.confirmed, summary.open_batches) == (500, 0)


def test_a_second_writer_is_refused_and_a_dry_run_writes_nothing(run: Run, url: str) -> None:
    with PostgresState(url) as store:
        store.open_list(ACCOUNT, 1, write=True)  # another machine's export, say
        with pytest.raises(ConfigError, match="another export is writing list 1") as info:
            run(profiles(20), state=url)
        assert store.location in str(info.value)
        dry = run(profiles(20), state=url, dry_run=True)  # needs no lock
        assert (dry.exported, dry.dry_run) == (20, True)
        assert store.summaries() == []  # the dry run recorded nothing


def test_a_dry_run_on_a_new_state_creates_nothing(run: Run, url: str, pg_cluster: Cluster) -> None:
    assert run(profiles(30), state=url, dry_run=True).exported == 30
    schema = url.rsplit("#", 1)[1]
    with psycopg.connect(pg_cluster.dsn) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        assert found.fetchone() is None


def test_a_wrong_password_stops_the_export_without_showing_it(
    run: Run, url: str, pg_cluster: Cluster, fake: FakeActiveCampaign
) -> None:
    wrong = "Wr0ng-" + secrets.token_hex(8)
    with pytest.raises(ConfigError, match="password authentication failed") as info:
        run(profiles(20), state=url.replace(pg_cluster.password, wrong))
    seen: BaseException | None = info.value
    while seen is not None:
        assert wrong not in str(seen)
        seen = seen.__cause__ or seen.__context__
    assert fake.stats.bulk_requests == 0


# -- membership: on_leave and identity keys ---------------------------------------------------


def stored(pg_cluster: Cluster, url: str) -> list[tuple[Any, ...]]:
    """(email, customer_key, contact_id) of every confirmed contact, read from the tables."""
    schema = url.rsplit("#", 1)[1]
    with psycopg.connect(pg_cluster.dsn) as conn:
        query = (
            f"SELECT email, customer_key, contact_id FROM {schema}.contacts "
            'ORDER BY email COLLATE "C"'
        )
        return list(conn.execute(query.encode()).fetchall())


def test_leavers_are_unsubscribed_and_forgotten(
    run: Run, fake: FakeActiveCampaign, url: str, pg_cluster: Cluster
) -> None:
    run(profiles(100), state=url)
    report = run(profiles(95), state=url, on_leave="unsubscribe")
    assert (report.unchanged, report.removed, report.removal_failed) == (95, 5, 0)
    for i in range(100):
        contact = fake.contact_by_email(f"p{i}@example.com")
        assert contact is not None
        assert contact.lists == {1: 2 if i >= 95 else 1}  # 2: unsubscribed
    assert [email for email, _, _ in stored(pg_cluster, url)] == sorted(
        f"p{i}@example.com" for i in range(95)
    )
    again = run(profiles(95), state=url, on_leave="unsubscribe")
    assert (again.unchanged, again.removed) == (95, 0)


KEYED = FieldMapping(email="Email", first_name="Name", key="Id")


def test_a_changed_email_is_changed_in_place(
    run: Run, fake: FakeActiveCampaign, url: str, pg_cluster: Cluster
) -> None:
    rows = [{"Id": f"c-{i}", "Email": f"p{i}@example.com", "Name": f"P{i}"} for i in range(40)]
    run(rows, KEYED, state=url)
    assert ("p3@example.com", "c-3", None) in stored(pg_cluster, url)
    before = fake.contact_by_email("p3@example.com")
    assert before is not None
    rows[3]["Email"] = "New3@example.com"
    report = run(rows, KEYED, state=url, on_leave="unsubscribe")
    assert (report.exported, report.unchanged, report.removed) == (1, 39, 0)
    after = fake.contact_by_email("new3@example.com")
    assert after is not None
    assert (after.id, after.lists) == (before.id, {1: 1})  # the same contact, still subscribed
    assert fake.contact_by_email("p3@example.com") is None
    rows_now = stored(pg_cluster, url)
    assert ("new3@example.com", "c-3", before.id) in rows_now  # moved, with the id it learned
    assert not [r for r in rows_now if r[0] == "p3@example.com"]
    assert len(rows_now) == 40
    assert run(rows, KEYED, state=url, on_leave="unsubscribe").unchanged == 40
