"""The state file's schema, its version, and the migrations that bring older files forward.

A state file is an SQLite database whose ``application_id`` is :data:`APPLICATION_ID` and
whose ``user_version`` is the schema version. ``MIGRATIONS[i]`` takes a file from version
``i`` to ``i + 1`` (``MIGRATIONS[0]`` creates version 1 in an empty database), so the current
version is ``len(MIGRATIONS)``; a release that changes the schema appends one function, and
every older file is brought forward, in one transaction, the first time it is opened for
writing. A file from a NEWER version is refused, never rewritten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["APPLICATION_ID", "MIGRATIONS", "current_version", "migrate"]

APPLICATION_ID = int.from_bytes(b"ACxS", "big")
"""``PRAGMA application_id`` of every acexport state file (the bytes "ACxS", 0x41437853)."""

Migration = Callable[[sqlite3.Connection], None]


def _create_v1(conn: sqlite3.Connection) -> None:
    # One row per list of an account; `id` is the short key every other table uses.
    conn.execute(
        """CREATE TABLE lists (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            list_id INTEGER NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (account, list_id)
        )"""
    )
    # The confirmed digest of every contact of every list: the big table, clustered on its
    # key (WITHOUT ROWID) so a row costs its bytes once. customer_key and contact_id are for
    # the coming identity questions (which contact did this key have last time); NULL costs
    # one header byte each.
    conn.execute(
        """CREATE TABLE contacts (
            list INTEGER NOT NULL,
            email TEXT NOT NULL,
            digest BLOB NOT NULL,
            customer_key TEXT,
            contact_id INTEGER,
            PRIMARY KEY (list, email)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            list INTEGER NOT NULL,
            batch_id TEXT NOT NULL,
            submitted_at REAL NOT NULL,
            UNIQUE (list, batch_id)
        )"""
    )
    # Pending rows: what an open batch carries. A contact's confirmed digest stays in
    # `contacts` until the batch settles.
    conn.execute(
        """CREATE TABLE batch_rows (
            batch INTEGER NOT NULL,
            email TEXT NOT NULL,
            digest BLOB NOT NULL,
            PRIMARY KEY (batch, email)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE runs (
            list INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            recorded_at REAL NOT NULL,
            summary TEXT NOT NULL,
            PRIMARY KEY (list, seq)
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")


def _v2_keys(conn: sqlite3.Connection) -> None:
    # Identity keys (FieldMapping.key): a pending row carries its key until its batch settles,
    # and "which email had this key last time" is looked up by (list, key).
    conn.execute("ALTER TABLE batch_rows ADD COLUMN customer_key TEXT")
    conn.execute(
        "CREATE INDEX contacts_by_key ON contacts (list, customer_key) "
        "WHERE customer_key IS NOT NULL"
    )


MIGRATIONS: list[Migration] = [_create_v1, _v2_keys]
"""``MIGRATIONS[i]`` takes schema version ``i`` to ``i + 1``. Append, never edit."""


def current_version() -> int:
    """The schema version this acexport writes (read at call time, so tests can extend it)."""
    return len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, from_version: int, acexport_version: str) -> None:
    """Run the migrations from ``from_version`` to the current one (inside the caller's
    transaction) and stamp the file."""
    target = current_version()
    for step in MIGRATIONS[from_version:target]:
        step(conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {target}")
    key = "created_by" if from_version == 0 else f"migrated_to_{target}_by"
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, f"acexport {acexport_version}"),
    )
