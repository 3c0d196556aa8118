"""PostgresState beyond the shared contract: the password, the schema, locks, the connection.

Every test here runs against the throwaway cluster of tests/state/conftest.py.
"""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgserver import Cluster

import acexport
from acexport import ConfigError, PostgresState, SqliteState, StateError, StoredRow
from acexport._state import _postgres_schema, copy_state, open_store

# a real server over loopback: integration tests too (the socket guard allows them)
pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ACCOUNT = "https://acct.api-us1.com/api/3"
SRC = str(Path(acexport.__file__).resolve().parents[1])


@pytest.fixture
def schema() -> str:
    return "t_" + secrets.token_hex(6)


@pytest.fixture
def admin(pg_cluster: Cluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        yield conn


def row(email: str, n: int = 0) -> StoredRow:
    return StoredRow(email, bytes([n]) * 16)


def no_secret_anywhere(exc: BaseException, secret: str) -> None:
    """Neither the error nor anything chained to it holds ``secret``."""
    seen: BaseException | None = exc
    while seen is not None:
        assert secret not in str(seen)
        assert secret not in repr(seen)
        assert secret not in repr(getattr(seen, "pgconn", None))
        seen = seen.__cause__ or seen.__context__


# -- the password ----------------------------------------------------------------------------


def test_the_password_is_in_no_repr_location_or_message(pg_cluster: Cluster, schema: str) -> None:
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io")])
        for text in (repr(store), store.location, repr(state)):
            assert pg_cluster.password not in text
        assert store.location == (
            f"postgresql://{pg_cluster.user}@127.0.0.1:{pg_cluster.port}/postgres#{schema}"
        )
        with (
            PostgresState(pg_cluster.dsn, schema=schema) as second,
            pytest.raises(ConfigError) as info,
        ):
            second.open_list(ACCOUNT, 1, write=True)
        no_secret_anywhere(info.value, pg_cluster.password)


def test_a_wrong_password_is_a_config_error_without_it(pg_cluster: Cluster) -> None:
    wrong = "Wr0ng-" + secrets.token_hex(8)
    dsn = pg_cluster.dsn.replace(pg_cluster.password, wrong)
    store = PostgresState(dsn)
    with pytest.raises(ConfigError, match="password authentication failed") as info:
        store.summaries()
    no_secret_anywhere(info.value, wrong)
    # the same with password= and a key=value string
    kv = f"host=127.0.0.1 port={pg_cluster.port} user={pg_cluster.user} dbname=postgres"
    with pytest.raises(ConfigError) as info:
        PostgresState(kv, password=wrong).open_list(ACCOUNT, 1, write=False)
    no_secret_anywhere(info.value, wrong)


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresState(f"postgresql://u:s3cr3t-pw@127.0.0.1:{port}/db?connect_timeout=5")
    with pytest.raises(StateError, match="cannot connect") as info:
        store.open_list(ACCOUNT, 1, write=True)
    no_secret_anywhere(info.value, "s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(store)


def test_a_connection_string_that_cannot_be_parsed_is_not_echoed() -> None:
    with pytest.raises(ConfigError, match="cannot be parsed") as info:
        PostgresState("host=x password=s3cr3t-pw garbage")
    no_secret_anywhere(info.value, "s3cr3t-pw")
    with pytest.raises(ConfigError, match="cannot be parsed") as info:
        PostgresState("postgresql://u:s3cr3t-pw@h/db?nonsense=1")
    no_secret_anywhere(info.value, "s3cr3t-pw")


def test_bad_schema_names_are_refused() -> None:
    for bad in ["", "Caps", "a-b", 'x"; DROP TABLE y; --', "9lives", "a" * 64]:
        with pytest.raises(ConfigError, match="schema"):
            PostgresState("postgresql://u@h/db", schema=bad)
    with pytest.raises(ConfigError, match="give one"):
        PostgresState("postgresql://u@h/db#one", schema="two")
    assert PostgresState("postgresql://u@h/db#one").location == "postgresql://u@h/db#one"


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"acexport\[postgres\]"):
        PostgresState("postgresql://u@h/db")
    with pytest.raises(ConfigError, match=r"acexport\[postgres\]"):
        open_store("postgresql://u@h/db")


def test_open_store_builds_the_store_that_state_names(tmp_path: Path) -> None:
    assert isinstance(open_store("postgresql://u@h/db"), PostgresState)
    assert isinstance(open_store("  POSTGRES://u@h/db#s "), PostgresState)
    with open_store(tmp_path / "s.db") as sqlite:  # type: ignore[attr-defined]
        assert isinstance(sqlite, SqliteState)
        assert open_store(sqlite) is sqlite
    assert isinstance(open_store(str(tmp_path / "postgresql.db")), SqliteState)


# -- the schema ------------------------------------------------------------------------------


def test_a_schema_of_another_application_is_refused_untouched(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    admin.execute(f"CREATE SCHEMA {schema}".encode())
    admin.execute(f"CREATE TABLE {schema}.orders (id int)".encode())
    for write in (True, False):
        with (
            PostgresState(pg_cluster.dsn, schema=schema) as store,
            pytest.raises(ConfigError, match="another application"),
        ):
            store.open_list(ACCOUNT, 1, write=write)
    tables = admin.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
    ).fetchall()
    assert tables == [("orders",)]


def test_an_empty_schema_made_ready_by_an_admin_is_used(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    admin.execute(f"CREATE SCHEMA {schema}".encode())
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        assert store.summaries() == []
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
        assert store.summaries()[0].confirmed == 1


def test_a_newer_schema_is_refused_and_an_older_one_upgraded(
    pg_cluster: Cluster,
    schema: str,
    admin: psycopg.Connection[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
    admin.execute(f"UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'".encode())
    with (
        PostgresState(pg_cluster.dsn, schema=schema) as store,
        pytest.raises(ConfigError, match=r"newer acexport.*version 99"),
    ):
        store.summaries()
    now = _postgres_schema.current_version()  # a schema of this version, with one step to go
    admin.execute(f"UPDATE {schema}.meta SET value = '{now}' WHERE key = 'schema_version'".encode())

    def add_note(conn: psycopg.Connection[tuple[object, ...]], s: psycopg.sql.Identifier) -> None:
        conn.execute(psycopg.sql.SQL("ALTER TABLE {s}.lists ADD COLUMN note text").format(s=s))

    monkeypatch.setattr(_postgres_schema, "MIGRATIONS", [*_postgres_schema.MIGRATIONS, add_note])
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        with pytest.raises(ConfigError, match="older acexport"):
            store.open_list(ACCOUNT, 1, write=False)  # a dry run does not upgrade
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
    meta = dict(admin.execute(f"SELECT key, value FROM {schema}.meta".encode()).fetchall())
    assert meta["schema_version"] == str(now + 1)
    assert meta[f"migrated_to_{now + 1}_by"].startswith("acexport ")
    columns = admin.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = 'lists'",
        (schema,),
    ).fetchall()
    assert ("note",) in columns


def test_a_least_privilege_role_works_and_a_role_without_rights_is_told(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    role, password = f"r_{schema}", secrets.token_hex(12)
    # the SQL of docs/state.md
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'".encode())
    base = f"postgresql://{role}:{password}@127.0.0.1:{pg_cluster.port}/postgres"
    with PostgresState(base, schema=schema) as store:  # may not create a schema
        with pytest.raises(ConfigError, match="not allowed") as info:
            store.open_list(ACCOUNT, 1, write=True)
        no_secret_anywhere(info.value, password)
    admin.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {role}".encode())
    with PostgresState(base, schema=schema) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b", [row("a@x.io")])
        state.settle_batch("b", ["a@x.io"])
        state.record_run({"n": 1})
        assert store.forget("a@x.io") == 1
        assert store.summaries()[0].last_run == {
            "n": 1,
            "recorded_at": pytest.approx(time.time(), abs=60),
        }


# -- locks and connections -------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from acexport import PostgresState, StoredRow
    dsn, schema, account, mode = sys.argv[1:5]
    store = PostgresState(dsn, schema=schema)
    state = store.open_list(account, 1, write=True)
    state.record_confirmed([StoredRow("held@example.com", bytes(range(16)))])
    state.record_batch("crash-batch", [StoredRow("held@example.com", bytes(16))])
    print("ready", flush=True)
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()
    """
)


def _child(pg_cluster: Cluster, schema: str, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, pg_cluster.dsn, schema, ACCOUNT, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": SRC},
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready, "the child did not open the state in time"
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _advisory_locks(admin: psycopg.Connection[tuple[object, ...]]) -> int:
    (count,) = admin.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    ).fetchone() or (0,)
    return int(count)  # type: ignore[call-overload]


def test_another_machine_is_refused_and_a_killed_run_does_not_block(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    holder = _child(pg_cluster, schema, "hold")
    try:
        with PostgresState(pg_cluster.dsn, schema=schema) as store:
            with pytest.raises(ConfigError, match="another export is writing list 1"):
                store.open_list(ACCOUNT, 1, write=True)
            # readers are not blocked, and see what the writer committed
            assert store.open_list(ACCOUNT, 1, write=False).confirmed(["held@example.com"])
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0

    before = _advisory_locks(admin)
    crashed = _child(pg_cluster, schema, "crash")
    crashed.communicate(timeout=30)
    assert crashed.returncode == -9  # SIGKILL: nothing ran in the child after it
    # the server ends the dead client's session (and its lock) when the socket closes
    deadline = time.monotonic() + 20
    while _advisory_locks(admin) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        (batch,) = state.open_batches()
        assert batch.batch_id == "crash-batch"
        assert batch.rows == (StoredRow("held@example.com", bytes(16)),)
        assert state.confirmed(["held@example.com"]) == {"held@example.com": bytes(range(16))}


def test_a_lost_connection_stops_writes_and_frees_the_list(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    store = PostgresState(pg_cluster.dsn, schema=schema)
    state = store.open_list(ACCOUNT, 1, write=True)
    state.record_confirmed([row("a@x.io")])
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'acexport' AND pid <> pg_backend_pid()"
    )
    with pytest.raises(StateError, match="connection") as info:
        state.record_confirmed([row("b@x.io")])
    no_secret_anywhere(info.value, pg_cluster.password)
    with pytest.raises(StateError, match="lost"):  # never reconnects without its lock
        state.record_confirmed([row("b@x.io")])
    with PostgresState(pg_cluster.dsn, schema=schema) as other:
        again = other.open_list(ACCOUNT, 1, write=True)
        assert again.confirmed(["a@x.io", "b@x.io"]) == {"a@x.io": row("a@x.io").digest}
    store.close()


def test_confirmed_is_one_query_whatever_the_number_of_emails(
    pg_cluster: Cluster, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Counted in the server's log: every statement of a role that logs them all."""
    role, password = f"r_{schema}", secrets.token_hex(12)
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'".encode())
    admin.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {role}".encode())
    admin.execute(f"ALTER ROLE {role} SET log_statement = 'all'".encode())
    dsn = f"postgresql://{role}:{password}@127.0.0.1:{pg_cluster.port}/postgres"
    with PostgresState(dsn, schema=schema) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row(f"p{i}@x.io") for i in range(1000)])
        state.confirmed(["p0@x.io"])  # the list's id is known from here on
        start = len(pg_cluster.log())
        found = state.confirmed([f"P{i}@x.io " for i in range(0, 2000, 2)])
        assert len(found) == 500
        logged = [
            line
            for line in pg_cluster.log()[start:].splitlines()
            if "statement:" in line or "execute" in line
        ]
        assert len(logged) == 1, logged
        assert "FROM" in logged[0]
        assert "contacts" in logged[0]


# -- copying ---------------------------------------------------------------------------------


def test_copy_state_from_sqlite_to_postgres_and_back(
    pg_cluster: Cluster, schema: str, tmp_path: Path
) -> None:
    rows = [row(f"p{i:05}@x.io", i % 7) for i in range(25_000)]  # more than one chunk
    with SqliteState(tmp_path / "a.db", wall_clock=lambda: 7.0) as sqlite:
        state = sqlite.open_list(ACCOUNT, 3, write=True)
        state.record_confirmed(rows)
        state.record_batch("open-1", [row("pending@x.io", 1)])
        state.record_run({"exported": 25_000})
        state.close()
        other = sqlite.open_list("https://b.api-us1.com/api/3", 1, write=True)
        other.record_confirmed([row("b@x.io")])
        other.close()
        with PostgresState(pg_cluster.dsn, schema=schema) as pg:
            copied = copy_state(sqlite, pg)
            assert [(s.account, s.list_id, s.confirmed, s.open_batches) for s in copied] == [
                ("https://acct.api-us1.com/api/3", 3, 25_000, 1),
                ("https://b.api-us1.com/api/3", 1, 1, 0),
            ]
            assert copied[0].last_run is not None
            assert copied[0].last_run["exported"] == 25_000
            assert copied[0].last_run["copied_from"] == sqlite.location
            moved = pg.open_list(ACCOUNT, 3, write=False)
            assert moved.confirmed([r.email for r in rows]) == {r.email: r.digest for r in rows}
            assert [(b.batch_id, b.rows) for b in moved.open_batches()] == [
                ("open-1", (row("pending@x.io", 1),))
            ]
            with pytest.raises(ConfigError, match="already holds list 3"):
                copy_state(sqlite, pg)  # never merged
            with SqliteState(tmp_path / "back.db") as back:
                copy_state(pg, back)
                again = back.open_list(ACCOUNT, 3, write=False)
                assert again.confirmed([r.email for r in rows[:1000]]) == {
                    r.email: r.digest for r in rows[:1000]
                }
