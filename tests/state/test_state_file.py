"""The state file: permissions, versions and migrations, refusals, and failures while in use."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from statehelpers import ACCOUNT, row

from acexport import ConfigError, SqliteState, StateError
from acexport._state import _schema


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def make_state(path: Path, emails: int = 3) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row(f"p{i}@x.io") for i in range(emails)])
        state.record_run({"sent": emails})


def pragma(path: Path, name: str) -> int:
    raw = sqlite3.connect(path)
    try:
        (value,) = raw.execute(f"PRAGMA {name}").fetchone()
        return int(value)
    finally:
        raw.close()


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_zero")
def test_files_are_owner_only_even_with_umask_zero(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "state.db"
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b", [row("a@x.io")])  # -wal and -shm exist while open
        names = sorted(p.name for p in path.parent.iterdir())
        assert names == ["state.db", "state.db-shm", "state.db-wal", "state.db.lock"]
        for p in path.parent.iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_new_file_is_stamped_with_id_and_version(path: Path) -> None:
    make_state(path)
    assert pragma(path, "application_id") == _schema.APPLICATION_ID == 0x41437853
    assert pragma(path, "user_version") == _schema.current_version()
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"email,tier\nann@x.io,gold\n" * 10, "not an SQLite database"),
        (b"short", "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 50, "not an SQLite database"),
    ],
)
def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(
    path: Path, content: bytes, why: str
) -> None:
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=why) as info:
        SqliteState(path)
    assert str(path) in str(info.value)
    assert "never overwrites" in str(info.value)
    assert path.read_bytes() == content


def test_another_applications_database_is_refused(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE customers (email TEXT)")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="another application") as info:
        SqliteState(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_a_database_with_another_application_id_is_refused(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA application_id = 1234")
    raw.commit()
    raw.close()
    with pytest.raises(ConfigError, match="another application"):
        SqliteState(path).open_list(ACCOUNT, 1, write=True)


def test_a_file_from_a_newer_acexport_is_refused(path: Path) -> None:
    make_state(path)
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {_schema.current_version() + 1}")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="newer acexport") as info:
        SqliteState(path)
    assert str(path) in str(info.value)
    assert "upgrade acexport" in str(info.value)
    assert path.read_bytes() == before


def test_a_corrupt_file_is_refused(path: Path) -> None:
    make_state(path, emails=3_000)
    data = bytearray(path.read_bytes())
    page = pragma(path, "page_size")
    assert len(data) > 6 * page
    data[3 * page : 5 * page] = b"\xa5" * (2 * page)  # two pages of the big table
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="corrupt") as info:
        SqliteState(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)


def test_a_flipped_byte_in_the_schema_text_is_refused_as_corrupt(path: Path) -> None:
    # Python decodes SQLite's message about it as UTF-8 and fails: a UnicodeDecodeError, which
    # must still come out as acexport's refusal.
    make_state(path)
    data = bytearray(path.read_bytes())
    at = data.index(b"CREATE TABLE contacts")
    at = data.index(b"(list", at) + 1
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="corrupt") as info:
        SqliteState(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)


def test_a_state_emptied_after_use_is_refused_not_started_again(path: Path) -> None:
    # The trial: a state truncated to 0 bytes was taken as a new one, and everything was sent
    # again without a word. Its lock file shows it was written before.
    make_state(path)
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="it is empty, but the lock file") as info:
        SqliteState(path)
    assert "emptied (truncated)" in str(info.value)
    assert path.read_bytes() == b""
    Path(f"{path}.lock").unlink()  # emptied on purpose: remove the lock file too
    with SqliteState(path) as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("p0@x.io")])
    assert pragma(path, "user_version") == _schema.current_version()


def test_a_state_moved_aside_starts_again_beside_its_old_lock_file(path: Path) -> None:
    # What the refusals advise: its lock file stays, and the new file must not look "emptied".
    make_state(path)
    path.rename(path.with_name("moved.db"))
    assert Path(f"{path}.lock").exists()
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.confirmed(["p0@x.io"]) == {}
        state.record_confirmed([row("p0@x.io")])
    with SqliteState(path) as store:
        assert list(store.open_list(ACCOUNT, 1, write=False).confirmed(["p0@x.io"])) == ["p0@x.io"]


def test_an_empty_file_another_process_is_writing_is_waited_for(path: Path, tmp_path: Path) -> None:
    # Process A has just created the file (and the lock file) and writes its schema within
    # milliseconds; B opening it meanwhile must not take it for an emptied state.
    made = tmp_path / "made.db"
    make_state(made)
    path.touch()
    Path(f"{path}.lock").touch()
    writer = threading.Timer(0.1, lambda: path.write_bytes(made.read_bytes()))
    writer.start()
    try:
        with SqliteState(path) as store:
            assert store.open_list(ACCOUNT, 1, write=False).confirmed(["p0@x.io"]) != {}
    finally:
        writer.join()


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        SqliteState(tmp_path)


@pytest.mark.parametrize("empty", ["zero bytes", "empty database"])
def test_an_empty_file_is_initialised(path: Path, empty: str) -> None:
    if empty == "zero bytes":
        path.touch()
    else:
        sqlite3.connect(path).execute("VACUUM").connection.close()
        assert path.stat().st_size > 0
    with SqliteState(path) as store:
        assert store.open_list(ACCOUNT, 1, write=False).confirmed(["p0@x.io"]) == {}
    assert pragma(path, "user_version") == 0  # a dry run did not initialise it
    with SqliteState(path) as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("p0@x.io")])
    assert pragma(path, "user_version") == _schema.current_version()


def _add_first_seen(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE contacts ADD COLUMN first_seen REAL")
    conn.execute("UPDATE contacts SET first_seen = 0")


def test_an_older_file_is_migrated_forward_when_opened_for_writing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_state(path)
    now = _schema.current_version()
    monkeypatch.setattr(_schema, "MIGRATIONS", [*_schema.MIGRATIONS, _add_first_seen])
    with SqliteState(path) as store, pytest.raises(ConfigError, match="older acexport"):
        store.open_list(ACCOUNT, 1, write=False)  # reading alone never migrates
    assert pragma(path, "user_version") == now
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.confirmed(["p0@x.io", "p2@x.io"]) == {
            "p0@x.io": row("p0@x.io").digest,
            "p2@x.io": row("p2@x.io").digest,
        }
        assert store.summaries()[0].last_run is not None
    assert pragma(path, "user_version") == now + 1
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM contacts WHERE first_seen = 0").fetchone() == (3,)
    key = f"migrated_to_{now + 1}_by"
    assert raw.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    raw.close()
    monkeypatch.undo()  # this acexport again: the file is now from a newer one
    with pytest.raises(ConfigError, match="newer acexport"):
        SqliteState(path)


def test_a_failed_migration_leaves_the_file_as_it_was(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_state(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE contacts ADD COLUMN half_done TEXT")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(_schema, "MIGRATIONS", [*_schema.MIGRATIONS, broken])
    with SqliteState(path) as store, pytest.raises(StateError, match="upgrade the schema"):
        store.open_list(ACCOUNT, 1, write=True)
    monkeypatch.undo()
    assert pragma(path, "user_version") == _schema.current_version()
    raw = sqlite3.connect(path)
    columns = [c[1] for c in raw.execute("PRAGMA table_info(contacts)")]
    raw.close()
    assert "half_done" not in columns
    with SqliteState(path) as store:  # and the lock was released on the way out
        assert len(store.open_list(ACCOUNT, 1, write=True).confirmed(["p0@x.io"])) == 1


def test_removing_the_file_while_in_use_raises_state_error(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io")])
        moved = path.with_name("moved.db")
        os.rename(path, moved)
        with pytest.raises(StateError, match="removed or replaced") as info:
            state.record_batch("b", [row("b@x.io")])
        assert str(path) in str(info.value)
        with pytest.raises(StateError, match="removed or replaced"):
            store.forget("a@x.io")
    with SqliteState(moved) as store:  # what was committed before is all there
        state = store.open_list(ACCOUNT, 1, write=False)
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert state.open_batches() == []


def test_replacing_the_file_while_in_use_raises_state_error(path: Path) -> None:
    make_state(path.with_name("other.db"))
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io")])
        os.replace(path.with_name("other.db"), path)
        with pytest.raises(StateError, match="removed or replaced"):
            state.record_confirmed([row("b@x.io")])
    with SqliteState(path) as store:
        assert store.open_list(ACCOUNT, 1, write=False).confirmed(["a@x.io", "b@x.io"]) == {}


def test_a_full_disk_raises_state_error_and_keeps_what_was_committed(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("first@x.io")])
        conn = store._conn
        assert conn is not None
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        big = [row(f"person{i}@example.com") for i in range(5_000)]
        with pytest.raises(StateError, match="disk space") as info:
            state.record_confirmed(big)
        assert str(path) in str(info.value)
        assert isinstance(info.value.__cause__, sqlite3.Error)
        assert state.confirmed(["first@x.io", big[0].email, big[-1].email]) == {
            "first@x.io": row("first@x.io").digest
        }
        conn.execute("PRAGMA max_page_count = 1000000")  # space again: it goes on
        state.record_confirmed(big)
        assert len(state.confirmed([r.email for r in big])) == 5_000
