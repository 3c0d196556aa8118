"""PostgresState's membership and identity reads beyond the shared contract: the tables of
version 1 brought to version 2, ``emails_of_keys`` as one query through the key index, and
``copy_state`` keeping keys and contact ids.

Every test here runs against the throwaway cluster of tests/state/conftest.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgserver import Cluster
from psycopg import sql

from acexport import ConfigError, PostgresState, SqliteState, StoredRow, TrackedContact
from acexport._state import _postgres_schema, copy_state

# a real server over loopback: integration tests too (the socket guard allows them)
pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ACCOUNT = "https://acct.api-us1.com/api/3"
D = bytes(range(16))


@pytest.fixture
def schema() -> str:
    return "t_" + secrets.token_hex(6)


@pytest.fixture
def admin(pg_cluster: Cluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        yield conn


def columns(admin: psycopg.Connection[tuple[object, ...]], schema: str, table: str) -> set[str]:
    rows = admin.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchall()
    return {str(name) for (name,) in rows}


def test_tables_of_version_1_are_brought_to_version_2(
    pg_cluster: Cluster,
    schema: str,
    admin: psycopg.Connection[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = sql.Identifier(schema)
    with monkeypatch.context() as patch:  # the tables exactly as acexport with version 1 made them
        patch.setattr(_postgres_schema, "MIGRATIONS", _postgres_schema.MIGRATIONS[:1])
        with admin.transaction():
            admin.execute(sql.SQL("CREATE SCHEMA {s}").format(s=s))
            _postgres_schema.migrate(admin, s, 0, "0.old")
    for text, params in [
        ("INSERT INTO {s}.lists (account, list_id, created_at) VALUES (%s, 1, 0)", (ACCOUNT,)),
        ("INSERT INTO {s}.contacts (list, email, digest) VALUES (1, 'a@x.io', %s)", (D,)),
        ("INSERT INTO {s}.batches (list, batch_id, submitted_at) VALUES (1, 'b1', 0)", ()),
        ("INSERT INTO {s}.batch_rows (batch, email, digest) VALUES (1, 'b@x.io', %s)", (D,)),
    ]:
        admin.execute(sql.SQL(text).format(s=s), params)
    meta = sql.SQL("SELECT key, value FROM {s}.meta").format(s=s)
    assert dict(admin.execute(meta).fetchall())["schema_version"] == "1"
    assert "customer_key" not in columns(admin, schema, "batch_rows")

    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        with pytest.raises(ConfigError, match="older acexport"):
            store.open_list(ACCOUNT, 1, write=False)  # a dry run does not upgrade
        state = store.open_list(ACCOUNT, 1, write=True)  # a writer does, in one transaction
        assert state.confirmed(["a@x.io"]) == {"a@x.io": D}
        (batch,) = state.open_batches()
        assert batch.rows == (StoredRow("b@x.io", D),)  # a row of version 1: no key
        state.settle_batch("b1", ["b@x.io"])
        state.record_confirmed([StoredRow("c@x.io", D, key="k")])
        assert state.emails_of_keys(["k"]) == {"k": ("c@x.io", None)}
        assert state.tracked("", 10) == [
            TrackedContact("a@x.io"),
            TrackedContact("b@x.io"),
            TrackedContact("c@x.io", None, "k"),
        ]

    found = dict(admin.execute(meta).fetchall())
    assert found["schema_version"] == "2"
    assert found["migrated_to_2_by"].startswith("acexport ")
    assert found["created_by"] == "acexport 0.old"
    assert "customer_key" in columns(admin, schema, "batch_rows")
    (index,) = admin.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = 'contacts_by_key'",
        (schema,),
    ).fetchall()
    assert "(list, customer_key)" in str(index[0])
    assert "customer_key IS NOT NULL" in str(index[0])


def test_emails_of_keys_is_one_query_through_the_key_index(
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
        rows = [StoredRow(f"p{i}@x.io", D, key=f"k{i}") for i in range(5_000)]
        state.record_confirmed([*rows, StoredRow("nokey@x.io", D)])
        state.confirmed(["p0@x.io"])  # the list's id is known from here on
        start = len(pg_cluster.log())
        found = state.emails_of_keys([f"k{i}" for i in range(0, 4_000, 2)] + ["missing", "k1"])
        assert found == {f"k{i}": (f"p{i}@x.io", None) for i in [*range(0, 4_000, 2), 1]}
        logged = [
            line
            for line in pg_cluster.log()[start:].splitlines()
            if "statement:" in line or "execute" in line
        ]
        assert len(logged) == 1, logged
        assert "customer_key" in logged[0]

    # the plan finds the keys through the partial index on (list, customer_key)
    admin.execute(f"ANALYZE {schema}.contacts".encode())
    plan = admin.execute(
        sql.SQL(
            "EXPLAIN SELECT c.customer_key, c.email, c.contact_id "
            "FROM unnest(%s::text[]) AS w (customer_key) "
            "JOIN {s}.contacts c ON c.list = 1 AND c.customer_key = w.customer_key"
        ).format(s=sql.Identifier(schema)),
        ([f"k{i}" for i in range(10)],),
    ).fetchall()
    text = "\n".join(str(line) for (line,) in plan)
    assert "contacts_by_key" in text, text


def test_copy_state_keeps_the_keys_and_contact_ids(
    pg_cluster: Cluster, schema: str, tmp_path: Path
) -> None:
    rows = [StoredRow(f"p{i:05}@x.io", D, key=f"k{i}" if i % 2 else None) for i in range(12_000)]
    ids = {f"p{i:05}@x.io": 1_000 + i for i in range(0, 12_000, 3)}
    expected = [TrackedContact(r.email, ids.get(r.email), r.key) for r in rows]  # > one page
    with SqliteState(tmp_path / "a.db") as sqlite:
        state = sqlite.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed(rows)
        state.remember_contact_ids(ids)
        state.record_batch("open", [StoredRow("pending@x.io", D, key="kp")])
        state.close()
        with PostgresState(pg_cluster.dsn, schema=schema) as pg:
            copy_state(sqlite, pg)
            moved = pg.open_list(ACCOUNT, 1, write=False)
            assert moved.tracked("", 20_000) == expected
            assert moved.confirmed([r.email for r in rows]) == {r.email: D for r in rows}
            assert moved.emails_of_keys(["k1", "k3"]) == {
                "k1": ("p00001@x.io", None),
                "k3": ("p00003@x.io", 1_003),
            }
            assert [b.rows for b in moved.open_batches()] == [
                (StoredRow("pending@x.io", D, key="kp"),)
            ]
            with SqliteState(tmp_path / "back.db") as back:
                copy_state(pg, back)
                assert back.open_list(ACCOUNT, 1, write=False).tracked("", 20_000) == expected
