"""The state's membership methods (tracked, drop, contact ids, keys, move) and schema v1 -> v2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from acexport import ConfigError, SqliteState, StoredRow, TrackedContact
from acexport._state import _schema

ACCOUNT = "https://acct.api-us1.com/api/3"
D = bytes(16)


def test_tracked_pages_through_the_confirmed_contacts_in_email_order(tmp_path: Path) -> None:
    with SqliteState(tmp_path / "s.db") as store:
        lst = store.open_list(ACCOUNT, 1, write=True)
        lst.record_confirmed([StoredRow(f"p{i:04d}@x.io", D) for i in range(2500)])
        lst.record_batch("b1", [StoredRow("pending@x.io", D)])  # not confirmed: not tracked
        seen: list[str] = []
        after = ""
        while page := lst.tracked(after, 1000):
            assert len(page) <= 1000
            seen += [c.email for c in page]
            after = page[-1].email
        assert seen == sorted(f"p{i:04d}@x.io" for i in range(2500))
        assert store.open_list(ACCOUNT, 2, write=False).tracked("", 10) == []
        with pytest.raises(ConfigError):
            lst.tracked("", 0)


def test_drop_contact_ids_keys_and_move(tmp_path: Path) -> None:
    with SqliteState(tmp_path / "s.db") as store:
        lst = store.open_list(ACCOUNT, 1, write=True)
        lst.record_confirmed(
            [StoredRow("a@x.io", D, key="cust-1"), StoredRow("b@x.io", D), StoredRow("c@x.io", D)]
        )
        lst.remember_contact_ids({"A@x.io": 11, "nobody@x.io": 99})
        assert lst.tracked("", 10) == [
            TrackedContact("a@x.io", 11, "cust-1"),
            TrackedContact("b@x.io", None, None),
            TrackedContact("c@x.io", None, None),
        ]
        assert lst.emails_of_keys(["cust-1", "cust-2"]) == {"cust-1": ("a@x.io", 11)}
        lst.move("a@x.io", "new@x.io", 12)
        assert lst.emails_of_keys(["cust-1"]) == {"cust-1": ("new@x.io", 12)}
        assert lst.confirmed(["a@x.io", "new@x.io"]) == {"new@x.io": D}
        lst.drop(["B@x.io", "unknown@x.io"])
        assert [c.email for c in lst.tracked("", 10)] == ["c@x.io", "new@x.io"]
        with pytest.raises(ConfigError):
            lst.remember_contact_ids({"c@x.io": 0})
        with pytest.raises(ConfigError):
            StoredRow("a@x.io", D, key="")


def test_a_key_travels_with_a_pending_row_until_its_batch_settles(tmp_path: Path) -> None:
    with SqliteState(tmp_path / "s.db") as store:
        lst = store.open_list(ACCOUNT, 1, write=True)
        lst.record_batch("b1", [StoredRow("a@x.io", D, key="k1")])
        (batch,) = lst.open_batches()
        assert batch.rows == (StoredRow("a@x.io", D, key="k1"),)
        lst.settle_batch("b1", ["a@x.io"])
        assert lst.emails_of_keys(["k1"]) == {"k1": ("a@x.io", None)}


def test_a_version_1_file_is_brought_to_version_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    with monkeypatch.context() as patch:  # a file exactly as acexport with schema 1 wrote it
        patch.setattr(_schema, "MIGRATIONS", _schema.MIGRATIONS[:1])
        conn.execute("BEGIN")
        _schema.migrate(conn, 0, "0.old")
        conn.execute("INSERT INTO lists VALUES (1, ?, 1, 0.0)", (ACCOUNT,))
        conn.execute("INSERT INTO contacts VALUES (1, 'a@x.io', ?, NULL, NULL)", (D,))
        conn.execute("INSERT INTO batches VALUES (1, 1, 'b1', 0.0)")
        conn.execute("INSERT INTO batch_rows VALUES (1, 'b@x.io', ?)", (D,))
        conn.execute("COMMIT")
    conn.close()
    path.chmod(0o600)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    conn.close()
    with SqliteState(path) as store:
        with pytest.raises(ConfigError, match="older acexport"):
            store.open_list(ACCOUNT, 1, write=False)  # read-only: not upgraded
        lst = store.open_list(ACCOUNT, 1, write=True)
        assert lst.confirmed(["a@x.io"]) == {"a@x.io": D}
        assert [r.email for b in lst.open_batches() for r in b.rows] == ["b@x.io"]
        lst.record_confirmed([StoredRow("c@x.io", D, key="k")])
        assert lst.emails_of_keys(["k"]) == {"k": ("c@x.io", None)}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert conn.execute("SELECT value FROM meta WHERE key = 'migrated_to_2_by'").fetchone()
    conn.close()


def test_leavers_are_counted_then_collected_in_chunks_without_repeats(tmp_path: Path) -> None:
    from acexport._exporter._membership import collect, count

    with SqliteState(tmp_path / "s.db") as store:
        lst = store.open_list(ACCOUNT, 1, write=True)
        lst.record_confirmed([StoredRow(f"p{i:04d}@x.io", D) for i in range(2500)])

        def present(email: str) -> bool:
            return int(email[1:5]) % 3 != 0  # every third contact left

        assert count(lst, present, 0.5, dry_run=False) == (834, None)
        leaving, problem = count(lst, present, 0.3, dry_run=False)
        assert leaving == 834
        assert problem is not None
        assert "834 of the 2,500" in problem
        chunks: list[list[str]] = []
        after: str | None = ""
        while after is not None:
            leavers, after = collect(lst, present, after, want=300)
            chunks.append([c.email for c in leavers])
            lst.drop(chunks[-1])  # as a run does after each chunk: the cursor is unaffected
        found = [e for chunk in chunks for e in chunk]
        assert found == [f"p{i:04d}@x.io" for i in range(0, 2500, 3)]
        assert [len(c) for c in chunks] == [334, 333, 167]  # whole pages of 1,000 contacts


def test_emails_of_keys_searches_the_key_index(tmp_path: Path) -> None:
    """Without statistics SQLite would walk the primary key over the whole list (a full scan
    of the list for every batch); the query names the index."""
    from acexport._state import _list

    path = tmp_path / "s.db"
    with SqliteState(path) as store:
        lst = store.open_list(ACCOUNT, 1, write=True)
        lst.record_confirmed([StoredRow(f"p{i}@x.io", D, key=f"k{i}") for i in range(3_000)])
        assert lst.emails_of_keys(["k7", "k2999", "nope"]) == {
            "k7": ("p7@x.io", None),
            "k2999": ("p2999@x.io", None),
        }
    conn = sqlite3.connect(path)
    plan = conn.execute("EXPLAIN QUERY PLAN " + _list._KEYS_JSON, (1, '["k7"]')).fetchall()
    conn.close()
    assert any("USING INDEX contacts_by_key (list=? AND customer_key=?)" in p[-1] for p in plan)
