"""The state of one (account, list) in a :class:`PostgresState`: what ``open_list`` returns.

Reads are one statement each (``confirmed`` is one query per call, the emails sent as one
array, whatever their number); each write is one transaction, its rows sent as arrays
(``unnest``), not a statement per row.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError, StateError
from ._list import KEEP_RUNS, _batch_id, _contact_id, _json_value, _not_a_string, _row_values
from ._protocol import OpenBatch, StoredRow, TrackedContact, normalize_email

if TYPE_CHECKING:
    import psycopg

    from ._postgres import PostgresState

__all__ = ["PostgresList"]


_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _unique(
    values: list[tuple[str, bytes, str | None]],
) -> tuple[list[str], list[bytes], list[str | None]]:
    """Emails, digests and keys as three arrays, one row per email (the last one given wins)."""
    last = {email: (digest, key) for email, digest, key in values}
    if any("\x00" in email for email in last):
        raise ConfigError("an email must not hold a NUL character")
    if any(key is not None and "\x00" in key for _, key in last.values()):
        raise ConfigError("a customer key must not hold a NUL character")
    return list(last), [d for d, _ in last.values()], [k for _, k in last.values()]


def _storable(email: str) -> str:
    """``email`` normalized; ConfigError if it holds NUL (PostgreSQL text cannot)."""
    email = normalize_email(email)
    if "\x00" in email:
        raise ConfigError("an email must not hold a NUL character")
    return email


class PostgresList:
    """One (account, list) of a :class:`PostgresState`: the :class:`ListState` it returns."""

    def __init__(self, store: PostgresState, account: str, list_id: int, key: int | None) -> None:
        self.account = account
        self.list_id = list_id
        self.write = key is not None
        self._store = store
        self._scope: int | None = None
        self._closed = False
        self._release = weakref.finalize(self, store._unlock, key) if key is not None else None

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

    def _scope_id(self, conn: psycopg.Connection[tuple[Any, ...]], *, create: bool) -> int | None:
        if self._scope is not None:
            return self._scope
        sql = self._store._sql
        row = conn.execute(
            sql("SELECT id FROM {s}.lists WHERE account = %s AND list_id = %s"),
            (self.account, self.list_id),
        ).fetchone()
        if row is not None:
            self._scope = int(row[0])
            return self._scope
        if not create:
            return None
        row = conn.execute(
            sql(
                "INSERT INTO {s}.lists (account, list_id, created_at) VALUES (%s, %s, %s) "
                "RETURNING id"
            ),
            (self.account, self.list_id, self._store._wall_clock()),
        ).fetchone()
        assert row is not None
        return int(row[0])  # not cached: the transaction may still roll back

    def confirmed(self, emails: Sequence[str]) -> dict[str, bytes]:
        self._usable(writing=False)
        _not_a_string(emails, "emails")
        try:  # the fast path of normalize_email: this runs for every contact of every run
            wanted = list(dict.fromkeys([str.lower(str.strip(e)) for e in emails]))
        except TypeError:
            wanted = [normalize_email(e) for e in emails]  # raises, saying what is wrong
        if "" in wanted:
            normalize_email("")
        wanted = [e for e in wanted if "\x00" not in e]  # never stored, so never confirmed
        if not wanted:
            return {}
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return {}
            # A join on the array, not `email = ANY(...)`: the planner then probes the primary
            # key once per email even before the table was ever analysed (with `ANY` and no
            # statistics it may scan the whole list). Sorted, the probes walk the index in order.
            # Binary parameters and results: no hex for the digests, less CPU a call.
            wanted.sort()
            cursor = conn.cursor(binary=True).execute(
                self._store._sql(
                    "SELECT c.email, c.digest FROM unnest(%b::text[]) AS w (email) "
                    "JOIN {s}.contacts c ON c.list = %b AND c.email = w.email"
                ),
                (wanted, scope),
                prepare=True,
            )
            return dict(cursor.fetchall())

    def scan_confirmed(self, chunk: int = 10_000) -> Iterator[list[tuple[str, bytes]]]:
        """Every (email, confirmed digest) of the list, ``chunk`` rows at a time: one query
        (a consistent snapshot) read through a server-side cursor, so memory holds one chunk."""
        self._usable(writing=False)
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return
            with conn.transaction(), conn.cursor(name="acexport_scan") as cursor:
                cursor.execute(
                    self._store._sql("SELECT email, digest FROM {s}.contacts WHERE list = %s"),
                    (scope,),
                )
                while rows := cursor.fetchmany(chunk):
                    yield [(str(email), bytes(digest)) for email, digest in rows]

    def count_confirmed(self) -> int:
        """How many contacts of the list have a confirmed digest."""
        self._usable(writing=False)
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return 0
            row = conn.execute(
                self._store._sql("SELECT count(*) FROM {s}.contacts WHERE list = %s"), (scope,)
            ).fetchone()
            return int(row[0]) if row is not None else 0

    def open_batches(self) -> list[OpenBatch]:
        self._usable(writing=False)
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return []
            rows = conn.execute(
                self._store._sql(
                    "SELECT b.batch_id, b.submitted_at, r.email, r.digest, r.customer_key "
                    "FROM {s}.batches b "
                    "LEFT JOIN {s}.batch_rows r ON r.batch = b.id WHERE b.list = %s "
                    'ORDER BY b.submitted_at, b.id, r.email COLLATE "C"'
                ),
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
        emails, digests, keys = _unique(_row_values(rows))
        sql = self._store._sql
        with self._store._writing("record a batch") as conn:
            scope = self._scope_id(conn, create=True)
            conn.execute(
                sql(
                    "INSERT INTO {s}.batches (list, batch_id, submitted_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (list, batch_id) DO NOTHING"
                ),
                (scope, batch_id, self._store._wall_clock()),
            )
            conn.execute(
                sql(
                    "INSERT INTO {s}.batch_rows (batch, email, digest, customer_key) "
                    "SELECT b.id, r.email, r.digest, r.customer_key FROM {s}.batches b, "
                    "unnest(%s::text[], %s::bytea[], %s::text[]) "
                    "AS r (email, digest, customer_key) "
                    "WHERE b.list = %s AND b.batch_id = %s "
                    "ON CONFLICT (batch, email) DO UPDATE SET digest = excluded.digest, "
                    "customer_key = excluded.customer_key"
                ),
                (emails, digests, keys, scope, batch_id),
            )

    def settle_batch(self, batch_id: str, confirmed: Collection[str]) -> None:
        self._usable(writing=True)
        batch_id = _batch_id(batch_id)
        _not_a_string(confirmed, "confirmed")
        accepted = sorted({normalize_email(e) for e in confirmed})
        sql = self._store._sql
        with self._store._writing("settle a batch") as conn:
            scope = self._scope_id(conn, create=False)
            found = None
            if scope is not None:
                found = conn.execute(
                    sql("SELECT id FROM {s}.batches WHERE list = %s AND batch_id = %s"),
                    (scope, batch_id),
                ).fetchone()
            if found is None:
                return  # not open (already settled, or never recorded): nothing to do
            (batch,) = found
            conn.execute(
                sql(
                    "INSERT INTO {s}.contacts (list, email, digest, customer_key) "
                    "SELECT %s, email, digest, customer_key FROM {s}.batch_rows "
                    "WHERE batch = %s AND email = ANY(%s::text[]) "
                    "ON CONFLICT (list, email) DO UPDATE SET digest = excluded.digest, "
                    "customer_key = excluded.customer_key"
                ),
                (scope, batch, accepted),
            )
            # the rows go with their batch (ON DELETE CASCADE)
            conn.execute(sql("DELETE FROM {s}.batches WHERE id = %s"), (batch,))

    def record_confirmed(self, rows: Sequence[StoredRow]) -> None:
        self._usable(writing=True)
        emails, digests, keys = _unique(_row_values(rows))
        with self._store._writing("record confirmed contacts") as conn:
            scope = self._scope_id(conn, create=True)
            conn.execute(
                self._store._sql(
                    "INSERT INTO {s}.contacts (list, email, digest, customer_key) "
                    "SELECT %s, * FROM unnest(%s::text[], %s::bytea[], %s::text[]) "
                    "ON CONFLICT (list, email) DO UPDATE SET digest = excluded.digest, "
                    "customer_key = excluded.customer_key"
                ),
                (scope, emails, digests, keys),
            )

    # -- membership: who left the list, and identity keys --------------------------------------

    def tracked(self, after: str, limit: int) -> list[TrackedContact]:
        """Pages in the column's collation (its primary key's order, so a page is an index
        range, never a sort of the list): bytewise where the database's collation is "C"."""
        self._usable(writing=False)
        if not isinstance(after, str):
            raise ConfigError(f"after must be a string, not {type(after).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"limit must be a positive int, not {limit!r}")
        # no stored email holds NUL: those after "x\0..." are those after "x"
        after = after.split("\x00", 1)[0]
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return []
            rows = conn.execute(
                self._store._sql(
                    "SELECT email, contact_id, customer_key FROM {s}.contacts "
                    "WHERE list = %s AND email > %s ORDER BY email LIMIT %s"
                ),
                (scope, after, limit),
            ).fetchall()
        return [TrackedContact(e, c, k) for e, c, k in rows]

    def drop(self, emails: Collection[str]) -> None:
        self._usable(writing=True)
        _not_a_string(emails, "emails")
        gone = sorted({normalize_email(e) for e in emails})
        gone = [e for e in gone if "\x00" not in e]  # never stored
        if not gone:
            return
        with self._store._writing("forget contacts that left the list") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.execute(
                self._store._sql(
                    "DELETE FROM {s}.contacts WHERE list = %s AND email = ANY(%s::text[])"
                ),
                (scope, gone),
            )

    def remember_contact_ids(self, ids: Mapping[str, int]) -> None:
        self._usable(writing=True)
        if not isinstance(ids, Mapping):
            raise ConfigError(f"ids must be a mapping, not {type(ids).__name__}")
        values = {normalize_email(e): _contact_id(i) for e, i in ids.items()}
        values = {e: i for e, i in values.items() if "\x00" not in e}  # never stored
        if not values:
            return
        with self._store._writing("remember contact ids") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.execute(
                self._store._sql(
                    "UPDATE {s}.contacts c SET contact_id = v.contact_id "
                    "FROM unnest(%s::text[], %s::bigint[]) AS v (email, contact_id) "
                    "WHERE c.list = %s AND c.email = v.email"
                ),
                (list(values), list(values.values()), scope),
            )

    def emails_of_keys(self, keys: Collection[str]) -> dict[str, tuple[str, int | None]]:
        self._usable(writing=False)
        _not_a_string(keys, "keys")
        wanted = list(
            dict.fromkeys(k for k in keys if isinstance(k, str) and k and "\x00" not in k)
        )
        if not wanted:
            return {}
        with self._store._reading() as conn:
            scope = None if conn is None else self._scope_id(conn, create=False)
            if conn is None or scope is None:
                return {}
            rows = conn.execute(
                self._store._sql(
                    "SELECT c.customer_key, c.email, c.contact_id "
                    "FROM unnest(%s::text[]) AS w (customer_key) "
                    "JOIN {s}.contacts c ON c.list = %s AND c.customer_key = w.customer_key "
                    "ORDER BY c.email"
                ),
                (wanted, scope),
            ).fetchall()
        return {key: (email, contact_id) for key, email, contact_id in rows}

    def move(self, old_email: str, new_email: str, contact_id: int | None) -> None:
        self._usable(writing=True)
        old, new = normalize_email(old_email), _storable(new_email)
        cid = None if contact_id is None else _contact_id(contact_id)
        if old == new or "\x00" in old:
            return  # nothing to move (an email with NUL was never stored)
        sql = self._store._sql
        with self._store._writing("move a contact to its new email") as conn:
            scope = self._scope_id(conn, create=False)
            if scope is None:
                return
            conn.execute(
                sql("DELETE FROM {s}.contacts WHERE list = %s AND email = %s"), (scope, new)
            )
            conn.execute(
                sql(
                    "UPDATE {s}.contacts SET email = %s, contact_id = coalesce(%s, contact_id) "
                    "WHERE list = %s AND email = %s"
                ),
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
        text = _NUL_ESCAPE.sub(r"\1\\ufffd", text)  # jsonb refuses NUL: shown as U+FFFD
        sql = self._store._sql
        with self._store._writing("record a run") as conn:
            scope = self._scope_id(conn, create=True)
            row = conn.execute(
                sql("SELECT coalesce(max(seq), 0) + 1 FROM {s}.runs WHERE list = %s"), (scope,)
            ).fetchone()
            assert row is not None
            seq = int(row[0])
            conn.execute(
                sql(
                    "INSERT INTO {s}.runs (list, seq, recorded_at, summary) "
                    "VALUES (%s, %s, %s, %s::jsonb)"
                ),
                (scope, seq, self._store._wall_clock(), text),
            )
            conn.execute(
                sql("DELETE FROM {s}.runs WHERE list = %s AND seq <= %s"),
                (scope, seq - KEEP_RUNS),
            )
