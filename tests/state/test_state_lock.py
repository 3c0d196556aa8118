"""One writer per list: across processes, inside a process, and never blocking readers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from statehelpers import ACCOUNT, OTHER_ACCOUNT, Holder, row

from acexport import ConfigError, SqliteState
from acexport._state._lock import scope_offset


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def holder(path: Path) -> Holder:
    holder = Holder(path, list_id=1)
    holder.wait_ready()
    return holder


def test_a_second_writer_in_another_process_is_refused_at_once(path: Path, holder: Holder) -> None:
    try:
        with SqliteState(path) as store:
            with pytest.raises(ConfigError, match="another export is writing") as info:
                store.open_list(ACCOUNT, 1, write=True)
            message = str(info.value)
            assert str(path) in message
            assert f"list 1 of {ACCOUNT}" in message
            # other lists of the same file are free
            store.open_list(ACCOUNT, 2, write=True).record_confirmed([row("a@x.io")])
            store.open_list(OTHER_ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
    finally:
        assert holder.finish() == 0
    with SqliteState(path) as store:  # the holder closed it: free again
        store.open_list(ACCOUNT, 1, write=True).close()


def test_the_lock_dies_with_a_killed_holder(path: Path, holder: Holder) -> None:
    with SqliteState(path) as store:
        with pytest.raises(ConfigError, match="another export"):
            store.open_list(ACCOUNT, 1, write=True)
        assert holder.kill() == -9
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.confirmed(["held@example.com"]) == {"held@example.com": bytes(range(16))}


def test_readers_are_never_blocked(path: Path, holder: Holder) -> None:
    try:
        with SqliteState(path) as store:
            reader = store.open_list(ACCOUNT, 1, write=False)
            assert reader.confirmed(["held@example.com"]) == {"held@example.com": bytes(range(16))}
            # not even by a write transaction in progress on the file
            raw = sqlite3.connect(path, isolation_level=None, timeout=0)
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("DELETE FROM contacts")
            try:
                assert reader.confirmed(["held@example.com"]) == {
                    "held@example.com": bytes(range(16))
                }
                assert [s.confirmed for s in store.summaries()] == [1]
            finally:
                raw.execute("ROLLBACK")
                raw.close()
    finally:
        assert holder.finish() == 0


def test_a_second_writer_in_the_same_process_is_refused(path: Path) -> None:
    with SqliteState(path) as first, SqliteState(str(path)) as second:
        state = first.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="in this process"):
            first.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="in this process"):
            second.open_list(ACCOUNT, 1, write=True)
        other = second.open_list(ACCOUNT, 2, write=True)
        state.close()
        # closing one list must not drop the process's other locks on the file
        refused = Holder(path, list_id=2)
        assert refused.finish() != 0
        assert "another export is writing list 2" in refused.stderr
        again = second.open_list(ACCOUNT, 1, write=True)
        again.close()
        other.close()


def test_two_threads_race_for_one_list_and_one_wins(path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)
    with SqliteState(path) as store:
        store.open_list(ACCOUNT, 9, write=True).close()  # create the file first

        def race() -> None:
            barrier.wait(timeout=30)
            try:
                store.open_list(ACCOUNT, 1, write=True)
                results.append("won")
            except ConfigError:
                results.append("refused")

        threads = [threading.Thread(target=race) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(results) == ["refused"] * 7 + ["won"]


def test_scopes_lock_different_bytes() -> None:
    offsets = {scope_offset(a, i) for a in (ACCOUNT, OTHER_ACCOUNT) for i in range(1, 500)}
    assert len(offsets) == 998
    assert all(0 <= o < 2**46 for o in offsets)


def test_a_symlink_to_the_file_shares_its_lock(path: Path) -> None:
    link = path.with_name("link.db")
    link.symlink_to(path)
    with SqliteState(path) as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
        refused = Holder(link, list_id=1)  # another process, another spelling of the file
        assert refused.finish() != 0
        assert "another export is writing list 1" in refused.stderr
    assert sorted(p.name for p in path.parent.iterdir()) == ["link.db", "state.db", "state.db.lock"]
