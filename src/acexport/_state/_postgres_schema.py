"""The PostgreSQL state's tables, their version, and the migrations that bring them forward.

Everything lives in one schema (``acexport`` unless told otherwise). Its ``meta`` table holds
``application`` = :data:`APPLICATION` (what marks the schema as an acexport state) and
``schema_version``. ``MIGRATIONS[i]`` takes version ``i`` to ``i + 1`` (``MIGRATIONS[0]``
creates version 1 in an empty schema), as for the SQLite file: a release that changes the
tables appends one function, and every older schema is brought forward, in one transaction,
the first time it is opened for writing. A schema of a NEWER version is refused, never
rewritten; a schema that holds tables but is not an acexport state is refused, never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

__all__ = ["APPLICATION", "MIGRATIONS", "current_version", "migrate"]

APPLICATION = "acexport state"
"""``meta.application`` of every acexport state schema."""

Migration = Callable[["psycopg.Connection[tuple[object, ...]]", "psycopg.sql.Identifier"], None]


def _create_v1(
    conn: psycopg.Connection[tuple[object, ...]], schema: psycopg.sql.Identifier
) -> None:
    from psycopg import sql

    statements = [
        # One row per list of an account; `id` is the short key every other table uses.
        """CREATE TABLE {s}.lists (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            account text NOT NULL,
            list_id bigint NOT NULL,
            created_at double precision NOT NULL,
            UNIQUE (account, list_id)
        )""",
        # The confirmed digest of every contact of every list: the big table. customer_key and
        # contact_id are kept for the identity questions, as in the SQLite file.
        """CREATE TABLE {s}.contacts (
            list integer NOT NULL REFERENCES {s}.lists (id) ON DELETE CASCADE,
            email text NOT NULL,
            digest bytea NOT NULL CHECK (length(digest) = 16),
            customer_key text,
            contact_id bigint,
            PRIMARY KEY (list, email)
        )""",
        """CREATE TABLE {s}.batches (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            list integer NOT NULL REFERENCES {s}.lists (id) ON DELETE CASCADE,
            batch_id text NOT NULL,
            submitted_at double precision NOT NULL,
            UNIQUE (list, batch_id)
        )""",
        # Pending rows: what an open batch carries; the confirmed digest stays in `contacts`
        # until the batch settles.
        """CREATE TABLE {s}.batch_rows (
            batch integer NOT NULL REFERENCES {s}.batches (id) ON DELETE CASCADE,
            email text NOT NULL,
            digest bytea NOT NULL CHECK (length(digest) = 16),
            PRIMARY KEY (batch, email)
        )""",
        """CREATE TABLE {s}.runs (
            list integer NOT NULL REFERENCES {s}.lists (id) ON DELETE CASCADE,
            seq integer NOT NULL,
            recorded_at double precision NOT NULL,
            summary jsonb NOT NULL,
            PRIMARY KEY (list, seq)
        )""",
        """CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL)""",
    ]
    for text in statements:
        conn.execute(sql.SQL(text).format(s=schema))


def _v2_keys(conn: psycopg.Connection[tuple[object, ...]], schema: psycopg.sql.Identifier) -> None:
    from psycopg import sql

    # Identity keys (FieldMapping.key), as in the SQLite file's version 2: a pending row carries
    # its key until its batch settles, and "which email had this key last time" is looked up by
    # (list, key). `contacts` had customer_key and contact_id from version 1.
    for text in [
        "ALTER TABLE {s}.batch_rows ADD COLUMN customer_key text",
        "CREATE INDEX contacts_by_key ON {s}.contacts (list, customer_key) "
        "WHERE customer_key IS NOT NULL",
    ]:
        conn.execute(sql.SQL(text).format(s=schema))


MIGRATIONS: list[Migration] = [_create_v1, _v2_keys]
"""``MIGRATIONS[i]`` takes schema version ``i`` to ``i + 1``. Append, never edit."""


def current_version() -> int:
    """The schema version this acexport writes (read at call time, so tests can extend it)."""
    return len(MIGRATIONS)


def migrate(
    conn: psycopg.Connection[tuple[object, ...]],
    schema: psycopg.sql.Identifier,
    from_version: int,
    acexport_version: str,
) -> None:
    """Run the migrations from ``from_version`` to the current one (inside the caller's
    transaction) and stamp the schema."""
    from psycopg import sql

    target = current_version()
    for step in MIGRATIONS[from_version:target]:
        step(conn, schema)
    upsert = sql.SQL(
        "INSERT INTO {s}.meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ).format(s=schema)
    key = "created_by" if from_version == 0 else f"migrated_to_{target}_by"
    for name, value in [
        ("application", APPLICATION),
        ("schema_version", str(target)),
        (key, f"acexport {acexport_version}"),
    ]:
        conn.execute(upsert, (name, value))
