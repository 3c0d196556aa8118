"""The state of one (account, list) in a :class:`SqliteState`: what ``open_list`` returns."""

from __future__ import annotations

import json
import os
import sqlite3
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError, StateError
from ._lock import Lease
from ._protocol import OpenBatch, StoredRow, TrackedContact, normalize_email

if TYPE_CHECKING:
    from ._sqlite import SqliteState

__all__ = ["KEEP_RUNS", "SqliteList"]

KEEP_RUNS = 20
"""Run summaries kept per list."""

_IN_LIMIT = 900  # parameters per query when SQLite lacks json_each (older than 3.38, no JSON1)

_CONFIRMED_JSON = (
    "SELECT email, digest FROM contacts "
    "WHERE list = ? AND email IN (SELECT value FROM json_each(?))"
)
_UPSERT_CONTACT = (
    "INSERT INTO contacts (list, email, digest, customer_key) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (list, email) DO UPDATE SET digest = excluded.digest, "
    "customer_key = excluded.customer_key"
)
# INDEXED BY: without statistics SQLite walks the primary key over the whole list instead
# (about 1 s a call at 1,000,000 contacts); the index exists from schema version 2 on.
_KEYS_FROM = "SELECT customer_key, email, contact_id FROM contacts INDEXED BY contacts_by_key "
_KEYS_JSON = (
    "SELECT customer_key, email, contact_id FROM contacts INDEXED BY contacts_by_key "
    "WHERE list = ? AND customer_key IN (SELECT value FROM json_each(?))"
)


def _json_value(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


class SqliteList:
    """One (account, list) of a :class:`SqliteState`: the :class:`ListState` it returns."""

    def __init__(self, store: SqliteState, account: str, list_id: int, lease: Lease | None) -> None:
        self.account = account
        self.list_id = list_id
        self.write = lease is not None
        self._store = store
        self._scope: int | None = None
        self._closed = False
        self._release = weakref.finalize(self, lease.release) if lease is not None else None

    def __repr__(self) -> str:
        mode = "write" if self.write else "read"
        return f"<list state {self.list_id} of {self.account} in {self._store.location} ({mode})>"

    def close(self) -> None:
        self._closed = True
        if self._release is not None:
            self._release()
        self._store._forget_list(self)

    def _usable(self, *, writing: bool) -> None:
        if self._closed:
            raise StateError(
                f"the state of list {self.list_id} in {self._store.location} is closed"
            )
        if writing and not self.write:
            raise ConfigError(
                f"the state of list {self.list_id} in {self._store.location} was opened for "
                "reading (write=False, as for a dry run): open it with write=True to record"
            )

    def _scope_id(self, conn: sqlite3.Connection, *, create: bool) -> int | None:
        if self._scope is not None:
            return self._scope
        row = conn.execute(
            "SELECT id FROM lists WHERE account = ? AND list_id = ?", (self.account, self.list_id)
        ).fetchone()
        if row is not None:
            self._scope = int(row[0])
            return self._scope
        if not create:
            return None
        cursor = conn.execute(
            "INSERT INTO lists (account, list_id, created_at) VALUES (?, ?, ?)",
            (self.account, self.list_id, self._store._wall_clock()),
        )
        return cursor.lastrowid  # not cached: the transaction may still roll back

    def confirmed(self, emails: Sequence[str]) -> dict[str, bytes]:
        self._usable(writing=False)
        _not_a_string(emails, "emails")
        try:  # the fast path of normalize_email: this runs for every contact of every run
            wanted = list(dict.fromkeys([str.lower(str.strip(e)) for e in emails]))
        except TypeError:
            wanted = [normalize_email(e) for e in emails]  # raises, saying what is wrong
        if "" in wanted:
            normalize_email("")
        if not wanted:
            return {}
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return {}
            if self._store._json:
                rows = conn.execute(_CONFIRMED_JSON, (scope, json.dumps(wanted))).fetchall()
                return dict(rows)
            found: dict[str, bytes] = {}
            for start in range(0, len(wanted), _IN_LIMIT):
                chunk = wanted[start : start + _IN_LIMIT]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT email, digest FROM contacts WHERE list = ? AND email IN ({marks})"  # noqa: S608 (only "?" marks)
                found.update(conn.execute(query, (scope, *chunk)).fetchall())
            return found

    def scan_confirmed(self, chunk: int = 10_000) -> Iterator[list[tuple[str, bytes]]]:
        """Every (email, confirmed digest) of the list, ``chunk`` rows at a time, in one read
        transaction (a consistent snapshot)."""
        self._usable(writing=False)
        with self._store._reading(snapshot=True) as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return
            cursor = conn.execute("SELECT email, digest FROM contacts WHERE list = ?", (scope,))
            while rows := cursor.fetchmany(chunk):
                yield rows

    def count_confirmed(self) -> int:
        """How many contacts of the list have a confirmed digest."""
        self._usable(writing=False)
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return 0
            row = conn.execute("SELECT count(*) FROM contacts WHERE list = ?", (scope,)).fetchone()
            return int(row[0])

    def open_batches(self) -> list[OpenBatch]:
        self._usable(writing=False)
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return []
            rows = conn.execute(
                "SELECT b.batch_id, b.submitted_at, r.email, r.digest, r.customer_key "
                "FROM batches b LEFT JOIN batch_rows r ON r.batch = b.id WHERE b.list = ? "
                "ORDER BY b.submitted_at, b.id, r.email",
                (scope,),
            ).fetchall()
        grouped: dict[str, tuple[float, list[StoredRow]]] = {}
        for batch_id, submitted_at, email, digest, key in rows:
            entry = grouped.setdefault(batch_id, (submitted_at, []))
            if email is not None:
                entry[1].append(StoredRow(email, digest, key=key))
        return [OpenBatch(b, at, tuple(r)) for b, (at, r) in grouped.items()]

    def record_batch(self, batch_id: str, rows: Sequence[StoredRow]) -> None:
        self._usable(writing=True)
        batch_id = _batch_id(batch_id)
        values = _row_values(rows)
        with self._store._writing("record a batch") as conn:
            scope = self._scope_id(conn, create=True)
            conn.execute(
                "INSERT INTO batches (list, batch_id, submitted_at) VALUES (?, ?, ?) "
                "ON CONFLICT (list, batch_id) DO NOTHING",
                (scope, batch_id, self._store._wall_clock()),
            )
            (batch,) = conn.execute(
                "SELECT id FROM batches WHERE list = ? AND batch_id = ?", (scope, batch_id)
            ).fetchone()
            conn.executemany(
                "INSERT INTO batch_rows (batch, email, digest, customer_key) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (batch, email) DO UPDATE SET digest = excluded.digest, "
                "customer_key = excluded.customer_key",
                [(batch, email, digest, key) for email, digest, key in values],
            )

    def settle_batch(self, batch_id: str, confirmed: Collection[str]) -> None:
        self._usable(writing=True)
        batch_id = _batch_id(batch_id)
        _not_a_string(confirmed, "confirmed")
        accepted = {normalize_email(e) for e in confirmed}
        with self._store._writing("settle a batch") as conn:
            scope = self._scope_id(conn, create=False)
            found = None
            if scope is not None:
                found = conn.execute(
                    "SELECT id FROM batches WHERE list = ? AND batch_id = ?", (scope, batch_id)
                ).fetchone()
            if found is None:
                return  # not open (already settled, or never recorded): nothing to do
            (batch,) = found
            rows = conn.execute(
                "SELECT email, digest, customer_key FROM batch_rows WHERE batch = ?", (batch,)
            ).fetchall()
            conn.executemany(
                _UPSERT_CONTACT, [(scope, e, d, k) for e, d, k in rows if e in accepted]
            )
            conn.execute("DELETE FROM batch_rows WHERE batch = ?", (batch,))
            conn.execute("DELETE FROM batches WHERE id = ?", (batch,))

    def record_confirmed(self, rows: Sequence[StoredRow]) -> None:
        self._usable(writing=True)
        values = _row_values(rows)
        with self._store._writing("record confirmed contacts") as conn:
            scope = self._scope_id(conn, create=True)
            conn.executemany(_UPSERT_CONTACT, [(scope, e, d, k) for e, d, k in values])

    # -- membership: who left the list, and identity keys --------------------------------------

    def tracked(self, after: str, limit: int) -> list[TrackedContact]:
        self._usable(writing=False)
        if not isinstance(after, str):
            raise ConfigError(f"after must be a string, not {type(after).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"limit must be a positive int, not {limit!r}")
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return []
            rows = conn.execute(
                "SELECT email, contact_id, customer_key FROM contacts "
                "WHERE list = ? AND email > ? ORDER BY email LIMIT ?",
                (scope, after, limit),
            ).fetchall()
        return [TrackedContact(e, c, k) for e, c, k in rows]

    def drop(self, emails: Collection[str]) -> None:
        self._usable(writing=True)
        _not_a_string(emails, "emails")
        gone = sorted({normalize_email(e) for e in emails})
        if not gone:
            return
        with self._store._writing("forget contacts that left the list") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.executemany(
                "DELETE FROM contacts WHERE list = ? AND email = ?", [(scope, e) for e in gone]
            )

    def remember_contact_ids(self, ids: Mapping[str, int]) -> None:
        self._usable(writing=True)
        values = [(_contact_id(i), normalize_email(e)) for e, i in ids.items()]
        if not values:
            return
        with self._store._writing("remember contact ids") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.executemany(
                "UPDATE contacts SET contact_id = ? WHERE list = ? AND email = ?",
                [(i, scope, e) for i, e in values],
            )

    def emails_of_keys(self, keys: Collection[str]) -> dict[str, tuple[str, int | None]]:
        self._usable(writing=False)
        _not_a_string(keys, "keys")
        wanted = list(dict.fromkeys(k for k in keys if isinstance(k, str) and k))
        if not wanted:
            return {}
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return {}
            found: dict[str, tuple[str, int | None]] = {}
            if self._store._json:
                rows = conn.execute(_KEYS_JSON, (scope, json.dumps(wanted))).fetchall()
            else:
                rows = []
                for start in range(0, len(wanted), _IN_LIMIT):
                    chunk = wanted[start : start + _IN_LIMIT]
                    marks = ",".join("?" * len(chunk))
                    query = f"{_KEYS_FROM}WHERE list = ? AND customer_key IN ({marks})"
                    rows.extend(conn.execute(query, (scope, *chunk)).fetchall())
            for key, email, contact_id in rows:
                found[key] = (email, contact_id)
            return found

    def move(self, old_email: str, new_email: str, contact_id: int | None) -> None:
        self._usable(writing=True)
        old, new = normalize_email(old_email), normalize_email(new_email)
        cid = None if contact_id is None else _contact_id(contact_id)
        if old == new:
            return
        with self._store._writing("move a contact to its new email") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.execute("DELETE FROM contacts WHERE list = ? AND email = ?", (scope, new))
            conn.execute(
                "UPDATE contacts SET email = ?, contact_id = coalesce(?, contact_id) "
                "WHERE list = ? AND email = ?",
                (new, cid, scope, old),
            )

    def record_run(self, summary: Mapping[str, Any]) -> None:
        self._usable(writing=True)
        if not isinstance(summary, Mapping):
            raise ConfigError(f"a run summary must be a mapping, not {type(summary).__name__}")
        try:
            text = json.dumps(dict(summary), default=_json_value, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"a run summary must hold JSON values: {exc}") from None
        with self._store._writing("record a run") as conn:
            scope = self._scope_id(conn, create=True)
            (seq,) = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM runs WHERE list = ?", (scope,)
            ).fetchone()
            conn.execute(
                "INSERT INTO runs (list, seq, recorded_at, summary) VALUES (?, ?, ?, ?)",
                (scope, seq, self._store._wall_clock(), text),
            )
            conn.execute("DELETE FROM runs WHERE list = ? AND seq <= ?", (scope, seq - KEEP_RUNS))


def _not_a_string(value: object, name: str) -> None:
    if isinstance(value, (str, bytes)):
        raise ConfigError(f"{name} must be a collection of emails, not a single string")


def _batch_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"a batch id must be a non-empty string, not {value!r}")
    return value


def _row_values(rows: Sequence[StoredRow]) -> list[tuple[str, bytes, str | None]]:
    values = []
    for row in rows:
        if not isinstance(row, StoredRow):
            raise ConfigError(f"rows must be StoredRow, not {type(row).__name__}")
        values.append((row.email, row.digest, row.key))
    return values


def _contact_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"a contact id must be a positive int, not {value!r}")
    return value
