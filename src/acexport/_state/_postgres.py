"""PostgresState: the state in a PostgreSQL database, for schedulers on machines that forget.

One connection per store (psycopg 3, the optional extra ``acexport[postgres]``), opened on first
use and never reopened behind the caller's back: the list locks are session-level advisory
locks of that connection (``pg_try_advisory_lock``), so a write can only ever go through the
session that holds its list's lock. When the session ends (``close()``, the process killed, the
machine gone), the server ends the lock with it; a connection that broke makes every later
call raise :class:`~acexport.StateError` instead of reconnecting without its lock.

Each write method is one transaction. The password is never in a message, a ``repr`` or an
exception chain: errors from the driver are re-raised ``from None`` with its message scrubbed
(a failed connection's driver error carries the connection string, password included).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._exceptions import ACExportError, ConfigError, StateError
from .._version import __version__
from . import _postgres_schema as _schema
from ._postgres_list import PostgresList
from ._postgres_util import import_psycopg, is_postgres_url, location, lock_key
from ._protocol import ListState, ListSummary, normalize_email

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = ["PostgresState"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_CONNECT_TIMEOUT = 10  # seconds, unless the DSN says otherwise
# Server-side TCP keepalives: a session whose machine vanished without closing its connection
# (power loss, network cut) is ended, and its list lock freed, after about a minute.
_KEEPALIVES = "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; " \
    "SET tcp_keepalives_count = 3"  # fmt: skip
_CONFIG_STATES = ("28", "3D", "42501")  # bad login, no such database, not allowed


def _redact(value: object, pattern: re.Pattern[str]) -> object:
    if isinstance(value, str):
        return pattern.sub("[forgotten]", value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {pattern.sub("[forgotten]", k): _redact(v, pattern) for k, v in value.items()}
    return value


class PostgresState:
    """The sync state in a PostgreSQL database: what each list was last sent and confirmed.

    ``dsn`` is a libpq connection string or ``postgresql://`` URL. Leave the password out of
    it: libpq reads ``PGPASSWORD`` and ``~/.pgpass``; or pass ``password=``. The tables live
    in ``schema`` (a URL may name it after ``#``, as :attr:`location` shows it), created on
    the first write if the role may create it, or created for the role by an administrator
    (see docs/state.md). A schema that holds other tables, or one written by a newer
    acexport, raises :class:`~acexport.ConfigError`; it is never reset. A failure while in
    use (the server gone, the connection lost, no space) raises :class:`~acexport.StateError`.

    Nothing is sent to the server until the first call that needs it.
    ``wall_clock`` gives the times recorded with batches and runs (epoch seconds).
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "acexport",
        password: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Check the arguments; connect on first use."""
        driver = import_psycopg()
        if not isinstance(dsn, str) or not dsn.strip():
            raise ConfigError("the PostgreSQL state needs a connection string or URL")
        dsn = dsn.strip()
        if is_postgres_url(dsn):  # libpq knows the scheme in lowercase only
            scheme, rest = dsn.split("://", 1)
            dsn = f"{scheme.lower()}://{rest}"
        if is_postgres_url(dsn) and "#" in dsn:  # postgresql://...#schema, as `location` shows
            dsn, fragment = dsn.split("#", 1)
            if schema not in ("acexport", fragment):
                raise ConfigError(
                    f"the URL names schema {fragment!r} and schema= says {schema!r}: give one"
                )
            schema = fragment
        if not isinstance(schema, str) or _SCHEMA_NAME.fullmatch(schema) is None:
            raise ConfigError(
                f"schema must be a lowercase SQL name (letters, digits, _), not {schema!r}"
            )
        if password is not None and not isinstance(password, str):
            raise ConfigError("password must be a string or None")
        params: dict[str, Any] | None = None
        with contextlib.suppress(driver.Error):
            params = driver.conninfo.conninfo_to_dict(dsn)
        if params is None:  # raised outside the handler: the driver's error quotes the text
            raise ConfigError(
                "the PostgreSQL connection string or URL cannot be parsed (its text is not "
                "shown: it may hold a password)"
            )
        if password is not None:
            params["password"] = password
        self._secrets = [s for s in (params.get("password"), params.get("sslpassword")) if s]
        params.setdefault("connect_timeout", _CONNECT_TIMEOUT)
        params.setdefault("application_name", "acexport")
        self._params = params
        self._location = location(params, schema)
        self._schema_name = schema
        self._wall_clock = wall_clock
        self._mutex = threading.RLock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._version = 0
        self._held: set[int] = set()
        self._lists: set[PostgresList] = set()
        self._closed = False

    @property
    def location(self) -> str:
        """Where the state lives: ``postgresql://user@host:port/db#schema``, no password."""
        return self._location

    def __repr__(self) -> str:
        """``PostgresState(location='postgresql://user@host:5432/db#acexport')``."""
        return f"PostgresState(location={self._location!r})"

    def __enter__(self) -> PostgresState:
        """``with PostgresState(dsn) as store:`` closes the store at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    # -- the public methods ------------------------------------------------------------------

    def open_list(self, account: str, list_id: int, *, write: bool) -> ListState:
        """Open list ``list_id`` of ``account`` (the API base URL); see :class:`StateStore`.

        ``write=True`` takes a session-level advisory lock on (schema, account, list):
        another writer, on any machine, gets :class:`~acexport.ConfigError` at once.
        """
        if not isinstance(account, str) or not account.strip():
            raise ConfigError("account must be the API base URL, as a non-empty string")
        parts = urllib.parse.urlsplit(account.strip())
        if parts.username is not None or parts.password is not None:
            raise ConfigError("account must be the API base URL without credentials in it")
        if isinstance(list_id, bool) or not isinstance(list_id, int) or list_id <= 0:
            raise ConfigError(f"list_id must be a positive int, not {list_id!r}")
        account = account.strip()
        with self._mutex:
            if not write:
                self._readable()
                return self._register(PostgresList(self, account, list_id, None))
            key = lock_key(self._schema_name, account, list_id)
            busy = (
                f"another export is writing list {list_id} of {account} in the state "
                f"{self._location}: wait for it to finish, or use another state"
            )
            if key in self._held:
                raise ConfigError(f"{busy} (it runs in this process)")
            conn = self._connect()
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                got = bool(row and row[0])
            except self._driver().Error as exc:
                raise self._failure("lock the list", exc) from None
            if not got:
                raise ConfigError(busy)
            self._held.add(key)
            try:
                self._writable()
            except BaseException:
                self._unlock(key)
                raise
            return self._register(PostgresList(self, account, list_id, key))

    def summaries(self) -> list[ListSummary]:
        """One :class:`ListSummary` per list in the schema, by account then list id."""
        with self._reading() as conn:
            if conn is None:
                return []
            rows = conn.execute(
                self._sql(
                    "SELECT l.account, l.list_id, "
                    "(SELECT count(*) FROM {s}.contacts c WHERE c.list = l.id), "
                    "(SELECT count(*) FROM {s}.batches b WHERE b.list = l.id), "
                    "r.recorded_at, r.summary::text FROM {s}.lists l "
                    "LEFT JOIN LATERAL (SELECT recorded_at, summary FROM {s}.runs "
                    "WHERE list = l.id ORDER BY seq DESC LIMIT 1) r ON true "
                    "ORDER BY l.account, l.list_id"
                )
            ).fetchall()
        result = []
        for account, list_id, confirmed, batches, recorded_at, text in rows:
            last_run = None
            if text is not None:
                value = json.loads(text)
                if not isinstance(value, dict):  # edited by hand: show it, do not fail
                    value = {"unreadable": text}
                last_run = {**value, "recorded_at": recorded_at}
            result.append(ListSummary(account, int(list_id), confirmed, batches, last_run))
        return result

    def forget(self, email: str) -> int:
        """Erase ``email`` from every list (confirmed and pending rows); return the count.

        Run summaries keep no trace either: the address is replaced by ``[forgotten]`` in
        them. One transaction. The server keeps the deleted row versions until ``VACUUM``
        reclaims them (see docs/state.md).
        """
        target = normalize_email(email)
        pattern = re.compile(re.escape(target), re.IGNORECASE)
        with self._mutex:
            if self._readable() is None or self._version == 0:
                return 0
            self._writable()
            with self._writing("forget an email") as conn:
                removed = conn.execute(
                    self._sql(
                        "DELETE FROM {s}.contacts WHERE list IN (SELECT id FROM {s}.lists) "
                        "AND email = %s"
                    ),
                    (target,),
                ).rowcount
                removed += conn.execute(
                    self._sql("DELETE FROM {s}.batch_rows WHERE email = %s"), (target,)
                ).rowcount
                runs = conn.execute(
                    self._sql(
                        "SELECT list, seq, summary::text FROM {s}.runs "
                        "WHERE strpos(lower(summary::text), %s) > 0"
                    ),
                    (target,),
                ).fetchall()
                for scope, seq, text in runs:
                    clean = json.dumps(_redact(json.loads(text), pattern), ensure_ascii=False)
                    conn.execute(
                        self._sql(
                            "UPDATE {s}.runs SET summary = %s::jsonb WHERE list = %s AND seq = %s"
                        ),
                        (clean, scope, seq),
                    )
            return int(removed)

    def close(self) -> None:
        """Close every list opened from this store (releasing their locks), then the session."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for state in list(self._lists):
                state.close()
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()  # ends the session: the server drops any lock left
                self._conn = None

    # -- the connection ----------------------------------------------------------------------

    def _driver(self) -> Any:
        return import_psycopg()

    def _sql(self, text: str) -> sql.Composed:
        from psycopg import sql

        return sql.SQL(text).format(s=sql.Identifier(self._schema_name))

    def _register(self, state: PostgresList) -> PostgresList:
        self._lists.add(state)
        return state

    def _forget_list(self, state: PostgresList) -> None:
        with self._mutex:
            self._lists.discard(state)

    def _unlock(self, key: int) -> None:
        with self._mutex:
            if key not in self._held:
                return
            self._held.discard(key)
            conn = self._conn
            if conn is not None and not conn.closed and not conn.broken:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(str(secret), "[REDACTED]")
        return text.strip()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._closed:
            raise StateError(f"the state store {self._location} is closed")
        if self._conn is not None:
            if self._conn.closed or self._conn.broken:
                raise StateError(
                    f"the connection to the state {self._location} was lost: the list locks "
                    "went with it, so nothing more is written in this session. What was "
                    "recorded before is kept; run again"
                )
            return self._conn
        driver = self._driver()
        failure: ACExportError | None = None
        try:
            conn: psycopg.Connection[tuple[Any, ...]] = driver.connect(
                autocommit=True, **self._params
            )
        except driver.Error as exc:
            failure = self._connect_failure(exc)
        if failure is not None:
            # raised outside the handler, so not chained: a failed connection's driver error
            # holds the connection string, password included
            raise failure
        try:
            conn.execute(_KEEPALIVES.encode())
            self._version = self._check_schema(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, driver.Error):
                raise self._failure("read the schema", exc) from None
            raise
        self._conn = conn
        return conn

    def _connect_failure(self, exc: BaseException) -> ACExportError:
        state = getattr(exc, "sqlstate", None) or ""
        text = self._scrub(str(exc))
        if state.startswith(_CONFIG_STATES) or "authentication" in text or "does not exist" in text:
            return ConfigError(f"cannot use the state {self._location}: {text}")
        return StateError(
            f"cannot connect to the state {self._location}: {text}. Check that the server runs "
            "and can be reached"
        )

    def _refuse(self, why: str) -> ConfigError:
        return ConfigError(
            f"the state {self._location} cannot be used: {why}. acexport never overwrites it: "
            "give another schema= (or database), or drop this schema yourself"
        )

    def _check_schema(self, conn: psycopg.Connection[tuple[Any, ...]]) -> int:
        row = conn.execute(
            "SELECT n.oid, (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid), "
            "to_regclass(quote_ident(n.nspname) || '.meta') IS NOT NULL "
            "FROM pg_namespace n WHERE n.nspname = %s",
            (self._schema_name,),
        ).fetchone()
        if row is None or row[1] == 0:
            return 0  # no schema yet, or an empty one made ready for us
        if not row[2]:
            raise self._refuse("the schema holds tables of another application")
        meta = dict(conn.execute(self._sql("SELECT key, value FROM {s}.meta")).fetchall())
        if meta.get("application") != _schema.APPLICATION:
            raise self._refuse("the schema holds tables of another application")
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            raise self._refuse("its schema version is missing") from None
        newest = _schema.current_version()
        if version > newest:
            raise ConfigError(
                f"the state {self._location} was written by a newer acexport (state schema "
                f"version {version}; this acexport {__version__} reads up to {newest}): "
                "upgrade acexport, or give another schema"
            )
        return version

    def _readable(self) -> psycopg.Connection[tuple[Any, ...]] | None:
        conn = self._connect()
        if 0 < self._version < _schema.current_version():
            raise ConfigError(
                f"the state {self._location} was written by an older acexport (state schema "
                f"version {self._version}): run one export that is not a dry run to upgrade "
                "it, then read it"
            )
        return conn

    def _writable(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn = self._connect()
        if self._version >= _schema.current_version():
            return conn
        driver = self._driver()
        from psycopg import sql

        try:
            with conn.transaction():
                # one migrator at a time; then look again: another one may have done it
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self._schema_name),))
                version = self._check_schema(conn)
                if version < _schema.current_version():
                    exists = conn.execute(
                        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self._schema_name,)
                    ).fetchone()
                    if exists is None:
                        conn.execute(
                            sql.SQL("CREATE SCHEMA {s}").format(s=sql.Identifier(self._schema_name))
                        )
                    _schema.migrate(conn, sql.Identifier(self._schema_name), version, __version__)
        except driver.Error as exc:
            raise self._failure("create or upgrade the tables", exc) from None
        self._version = _schema.current_version()
        return conn

    def _failure(self, action: str, exc: BaseException) -> StateError | ConfigError:
        state = getattr(exc, "sqlstate", None) or ""
        text = self._scrub(str(exc))
        what = f"{type(exc).__name__}" + (f", SQLSTATE {state}" if state else "")
        if state == "42501":
            return ConfigError(
                f"the state {self._location}: not allowed to {action} ({text}): grant the "
                "role what docs/state.md lists"
            )
        hint = "What was recorded before is kept"
        if state.startswith("53"):
            hint = "the server is out of resources (disk, memory or connections). " + hint
        conn = self._conn
        if conn is not None and (conn.closed or conn.broken):
            hint = "the connection was lost, and the list locks with it. " + hint
        return StateError(
            f"the state {self._location}: could not {action} ({what}: {text}). {hint}"
        )

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """One write transaction; driver errors become StateError (never with the password)."""
        driver = self._driver()
        with self._mutex:
            conn = self._writable()
            try:
                with conn.transaction():
                    yield conn
            except driver.Error as exc:
                raise self._failure(action, exc) from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[tuple[Any, ...]] | None]:
        """The connection to read with; None while the tables do not exist yet."""
        driver = self._driver()
        with self._mutex:
            conn = self._readable()
            if conn is None or self._version == 0:
                yield None
                return
            try:
                yield conn
            except driver.Error as exc:
                raise self._failure("read", exc) from None
