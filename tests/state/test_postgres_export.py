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
    def sync(rows: Any, **options: Any) -> ExportReport:
        with make_client(fake, clock) as client:
            return SegmentExporter(client, 1, MAPPING, **options).export(rows)

    def asynchronous(rows: Any, **options: Any) -> ExportReport:
        async def main() -> ExportReport:
            async with make_async_client(fake, clock) as client:
                return await AsyncSegmentExporter(client, 1, MAPPING, **options).export(rows)

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
