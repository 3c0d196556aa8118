"""SqliteState: the embedded state store, one SQLite file (standard library only).

Durability: WAL journal with ``synchronous=FULL``, so a write method that returned survives
SIGKILL and power loss. Each write method is one ``BEGIN IMMEDIATE`` transaction, and before
each one the path is checked to still be the file that was opened: SQLite would otherwise keep
writing, without a word, to a file that was removed or replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from types import TracebackType

from .._exceptions import ConfigError, StateError
from .._version import __version__
from . import _schema
from ._list import SqliteList
from ._lock import acquire, scope_offset
from ._protocol import ListState, ListSummary, normalize_email

__all__ = ["SqliteState"]

#: What reading or writing a damaged file can raise: SQLite's errors, and a UnicodeDecodeError
#: from Python decoding SQLite's message about bytes that are not UTF-8 (a flipped byte in the
#: file's own schema text does that).
_DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)
_BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's transaction on the file
_CACHE_KIB = 8 * 1024  # page cache per connection, filled as pages are read: 8 MiB of RSS at most
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MIN_SQLITE = (3, 24, 0)  # UPSERT


def _sync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible everywhere (Windows): SQLite's own syncs still apply
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _hint(exc: BaseException) -> str:
    text = str(exc).lower()
    if "full" in text:
        return "free some disk space and run again"
    if "malformed" in text or "not a database" in text:
        return (
            "the file is corrupt: restore a backup, or move it aside (the next export then "
            "starts a new state and sends everything)"
        )
    if "locked" in text or "busy" in text:
        return f"another process kept the file locked for more than {_BUSY_TIMEOUT:g} s"
    return "check the disk and the file"


def _redact(value: object, pattern: re.Pattern[str]) -> object:
    if isinstance(value, str):
        return pattern.sub("[forgotten]", value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {pattern.sub("[forgotten]", k): _redact(v, pattern) for k, v in value.items()}
    return value


class SqliteState:
    """The sync state in one SQLite file: what each list was last sent and confirmed.

    ``path`` is the file (created with mode 0600, and its folders with 0700, the first time an
    export writes to it; a dry run on a missing file leaves nothing behind). One file holds
    any number of accounts and lists. A file that is not an acexport state, is corrupt, or was
    written by a newer acexport raises :class:`~acexport.ConfigError` here or when first
    used; it is never reset or overwritten. A failure while in use (disk full, I/O error, the
    file removed or replaced) raises :class:`~acexport.StateError`.

    ``wall_clock`` gives the times recorded with batches and runs (epoch seconds).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        """Use the state file at ``path``; if it exists, check now that it is one."""
        try:
            raw = os.fspath(path)
        except TypeError:
            raise ConfigError(
                f"the state path must be a str or os.PathLike, not {type(path).__name__}"
            ) from None
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError("the state path must be a non-empty text path")
        self._path = os.path.abspath(os.path.expanduser(raw))
        self._wall_clock = wall_clock
        self._mutex = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._version = 0
        self._identity: tuple[int, int] = (0, 0)
        self._json = True
        self._lists: set[SqliteList] = set()
        self._closed = False
        # A file that was written has a lock file beside it (made as a list is opened for
        # writing, just before the schema is written): an empty file found with one was emptied
        # since. Not a file this store creates (one moved aside leaves its lock file behind).
        self._used = os.path.lexists(self._path) and os.path.exists(self._lock_path())
        if os.path.lexists(self._path):
            self._connect(create=False)

    def _lock_path(self) -> str:
        return os.path.realpath(self._path) + ".lock"  # one lock file, whatever the spelling

    @property
    def location(self) -> str:
        """The absolute path of the state file."""
        return self._path

    def __repr__(self) -> str:
        """``SqliteState(location='/path/to/state.db')``."""
        return f"SqliteState(location={self._path!r})"

    def __enter__(self) -> SqliteState:
        """``with SqliteState(path) as store:`` closes the store at the end."""
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
        """Open list ``list_id`` of ``account`` (the API base URL); see :class:`StateStore`."""
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
                return self._register(SqliteList(self, account, list_id, None))
            self._make_dirs()
            lease = acquire(
                self._lock_path(),
                scope_offset(account, list_id),
                what=f"list {list_id} of {account}",
                state_file=self._path,
            )
            try:
                self._writable()
            except BaseException:
                lease.release()
                raise
            return self._register(SqliteList(self, account, list_id, lease))

    def summaries(self) -> list[ListSummary]:
        """One :class:`ListSummary` per list in the file, by account then list id."""
        with self._mutex, self._reading(snapshot=True) as conn:
            if conn is None:
                return []
            result = []
            lists = conn.execute("SELECT id, account, list_id FROM lists ORDER BY account, list_id")
            for scope, account, list_id in lists.fetchall():
                (confirmed,) = conn.execute(
                    "SELECT count(*) FROM contacts WHERE list = ?", (scope,)
                ).fetchone()
                (batches,) = conn.execute(
                    "SELECT count(*) FROM batches WHERE list = ?", (scope,)
                ).fetchone()
                run = conn.execute(
                    "SELECT recorded_at, summary FROM runs WHERE list = ? "
                    "ORDER BY seq DESC LIMIT 1",
                    (scope,),
                ).fetchone()
                last_run = None
                if run is not None:
                    try:
                        last_run = {**json.loads(run[1]), "recorded_at": run[0]}
                    except (ValueError, TypeError):  # edited by hand: show it, do not fail
                        last_run = {"unreadable": run[1], "recorded_at": run[0]}
                result.append(ListSummary(account, list_id, confirmed, batches, last_run))
            return result

    def forget(self, email: str) -> int:
        """Erase ``email`` from every list (confirmed and pending rows); return the count.

        Run summaries keep no trace either: the address is replaced by ``[forgotten]`` in
        them. Deleted bytes are overwritten (``secure_delete``) and the journal is emptied.
        """
        target = normalize_email(email)
        pattern = re.compile(re.escape(target), re.IGNORECASE)
        with self._mutex:
            if self._connect(create=False) is None or self._version == 0:
                return 0
            conn = self._writable()
            removed = 0
            try:
                conn.execute("PRAGMA secure_delete = ON")
                with self._writing("forget an email") as tx:
                    for (scope,) in tx.execute("SELECT id FROM lists").fetchall():
                        removed += tx.execute(
                            "DELETE FROM contacts WHERE list = ? AND email = ?", (scope, target)
                        ).rowcount
                    removed += tx.execute(
                        "DELETE FROM batch_rows WHERE email = ?", (target,)
                    ).rowcount
                    runs = tx.execute("SELECT list, seq, summary FROM runs").fetchall()
                    for scope, seq, text in runs:
                        if pattern.search(text) is None:
                            continue
                        try:
                            clean = json.dumps(
                                _redact(json.loads(text), pattern), ensure_ascii=False
                            )
                        except ValueError:  # not JSON (edited by hand): redact the text as it is
                            clean = pattern.sub("[forgotten]", text)
                        tx.execute(
                            "UPDATE runs SET summary = ? WHERE list = ? AND seq = ?",
                            (clean, scope, seq),
                        )
            except _DB_ERRORS as exc:
                raise self._failure("forget an email", exc) from exc
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA secure_delete = OFF")
            return removed

    def close(self) -> None:
        """Close every list opened from this store (releasing their locks), then the file."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for state in list(self._lists):
                state.close()
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    # -- the file ----------------------------------------------------------------------------

    def _register(self, state: SqliteList) -> SqliteList:
        self._lists.add(state)
        return state

    def _forget_list(self, state: SqliteList) -> None:
        with self._mutex:
            self._lists.discard(state)

    def _make_dirs(self) -> None:
        folder = os.path.dirname(self._path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder {folder} of the state file: {exc.strerror or exc}"
            ) from exc

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        """The connection, opened and checked on first use; None if the file does not exist
        and ``create`` is false (a dry run leaves nothing behind)."""
        if self._closed:
            raise StateError(f"the state store {self._path} is closed")
        if self._conn is not None:
            return self._conn
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            if not create:
                return None
            self._make_dirs()
            try:
                fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
                _sync_folder(os.path.dirname(self._path))  # the new name survives power loss
            except FileExistsError:
                pass  # another process created it first: check it like any existing file
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the state file {self._path}: {exc.strerror or exc}"
                ) from exc
            else:
                self._used = False  # ours, new: empty until the schema is written
            return self._connect(create=create)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the state file {self._path}: {exc.strerror or exc}"
            ) from exc
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(
                f"the state path {self._path} is a folder: give a file path, such as "
                f"{os.path.join(self._path, 'acexport-state.db')}"
            )
        self._check_header(st)
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise ConfigError(
                f"the state file needs SQLite {'.'.join(map(str, _MIN_SQLITE))} or newer; this "
                f"Python has SQLite {sqlite3.sqlite_version}"
            )
        conn = sqlite3.connect(
            self._path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            self._version = self._check_schema(conn)
            conn.execute("PRAGMA trusted_schema = OFF")  # the file's schema runs no functions
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            try:
                conn.execute("SELECT value FROM json_each('[]')").fetchall()
            except sqlite3.OperationalError:
                self._json = False
            st = os.stat(self._path)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, (sqlite3.DatabaseError, UnicodeDecodeError)):
                raise self._refuse(f"it is corrupt ({exc})") from exc
            if isinstance(exc, OSError):
                raise ConfigError(f"cannot read the state file {self._path}: {exc}") from exc
            raise
        self._identity = (st.st_dev, st.st_ino)
        self._conn = conn
        return conn

    def _refuse(self, why: str) -> ConfigError:
        return ConfigError(
            f"the state file {self._path} cannot be used: {why}. acexport never overwrites "
            "it: give another state path, or move this file aside (an export then starts a "
            "new state and sends everything)"
        )

    def _check_header(self, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise self._refuse("it is not a regular file")
        if st.st_size == 0 and self._used:
            st = self._wait_for_a_first_write()
        if st.st_size == 0:
            if self._used:
                raise self._refuse(
                    f"it is empty, but the lock file {os.path.realpath(self._path)}.lock beside "
                    "it shows it was written before: it was emptied (truncated) since, and what "
                    "it recorded is lost. If you emptied it on purpose, remove the lock file too"
                )
            return  # a new, empty file (made by mkstemp, say): initialised on the first write
        try:
            with open(self._path, "rb") as f:
                head = f.read(100)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the state file {self._path}: {exc.strerror or exc}"
            ) from exc
        if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
            raise self._refuse("it is not an SQLite database, so not an acexport state file")

    def _wait_for_a_first_write(self) -> os.stat_result:
        """The file's status once it is not empty, or after half a second: another process
        that has just created it writes its schema within milliseconds."""
        for _ in range(10):
            time.sleep(0.05)
            try:
                st = os.stat(self._path)
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the state file {self._path}: {exc.strerror or exc}"
                ) from exc
            if st.st_size:
                break
        return st

    def _check_schema(self, conn: sqlite3.Connection) -> int:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        (objects,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if app_id == 0 and objects == 0:
            return 0  # an empty database (an interrupted first write leaves one)
        if app_id != _schema.APPLICATION_ID:
            raise self._refuse(
                "it is an SQLite database of another application, not an acexport state file"
            )
        newest = _schema.current_version()
        if version > newest:
            raise ConfigError(
                f"the state file {self._path} was written by a newer acexport (state schema "
                f"version {version}; this acexport {__version__} reads up to {newest}): "
                "upgrade acexport, or give another state path"
            )
        if version == 0:
            raise self._refuse("its schema version is missing")
        (check,) = conn.execute("PRAGMA quick_check(1)").fetchone()
        if check != "ok":
            raise self._refuse(f"it is corrupt ({check})")
        return int(version)

    def _readable(self) -> sqlite3.Connection | None:
        conn = self._connect(create=False)
        if conn is not None and 0 < self._version < _schema.current_version():
            raise ConfigError(
                f"the state file {self._path} was written by an older acexport (state schema "
                f"version {self._version}): run one export that is not a dry run to upgrade "
                "it, then read it"
            )
        return conn

    def _writable(self) -> sqlite3.Connection:
        conn = self._connect(create=True)
        assert conn is not None
        if self._version < _schema.current_version():
            self._check_same_file("upgrade the schema")
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = self._check_schema(conn)  # another process may have done it
                    if version < _schema.current_version():
                        _schema.migrate(conn, version, __version__)
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except _DB_ERRORS as exc:
                raise self._failure("upgrade the schema", exc) from exc
            self._version = _schema.current_version()
        return conn

    def _check_same_file(self, action: str) -> None:
        try:
            st = os.stat(self._path)
            same = (st.st_dev, st.st_ino) == self._identity
        except OSError:
            same = False
        if not same:
            raise StateError(
                f"the state file {self._path} was removed or replaced while in use, so acexport "
                f"could not {action}: nothing more is written to it. What it had recorded "
                "before is in the file that was removed or replaced, if it was moved; "
                "otherwise the next export starts a new state and sends everything"
            )

    def _failure(self, action: str, exc: BaseException) -> StateError:
        return StateError(
            f"the state file {self._path}: could not {action} ({exc}): {_hint(exc)}. What was "
            "recorded before is kept"
        )

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction on the same file as opened; sqlite errors become StateError."""
        with self._mutex:
            conn = self._writable()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except _DB_ERRORS as exc:
                raise self._failure(action, exc) from exc
            try:
                self._check_same_file(action)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(exc, _DB_ERRORS):
                    raise self._failure(action, exc) from exc
                raise
            # Committed (and synced) in the WAL; now copy it into the file itself and empty the
            # WAL, so that the file alone holds everything committed: a file moved or copied
            # without its "-wal" loses nothing, and a stale "-wal" never meets another file.
            # Best effort, never waiting: while another process reads or writes the file, the
            # WAL may keep some of it until a later write (still durable, SQLite pairs them).
            try:
                conn.execute("PRAGMA busy_timeout = 0")
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT * 1000)}")
            except _DB_ERRORS as exc:
                raise StateError(
                    f"the state file {self._path}: could {action}, but not copy it from the "
                    f"journal {self._path}-wal into the file ({exc}): {_hint(exc)}. Keep the two "
                    "files together: SQLite copies it on the next open"
                ) from exc

    @contextlib.contextmanager
    def _reading(self, *, snapshot: bool = False) -> Iterator[sqlite3.Connection | None]:
        """The connection to read with, None while the file is missing or still empty."""
        with self._mutex:
            conn = self._readable()
            if conn is not None and self._version == 0:  # another process may have begun it
                try:
                    self._version = self._check_schema(conn)
                except _DB_ERRORS as exc:
                    raise self._failure("read", exc) from exc
                conn = self._readable()
            if conn is None or self._version == 0:
                yield None
                return
            try:
                if snapshot:
                    conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if snapshot:
                        conn.execute("COMMIT")
            except _DB_ERRORS as exc:
                raise self._failure("read", exc) from exc
