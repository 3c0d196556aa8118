"""SqliteState behaviour: what it remembers, per list, across batches, runs and reopenings."""

from __future__ import annotations

import datetime
import itertools
import sqlite3
import threading
from pathlib import Path

import pytest
from statehelpers import ACCOUNT, OTHER_ACCOUNT, Holder, row

from acexport import (
    ActiveCampaign,
    ConfigError,
    ListState,
    ListSummary,
    OpenBatch,
    SqliteState,
    StateError,
    StateStore,
    StoredRow,
)
from helpers import KEY


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_it_is_a_state_store(path: Path) -> None:
    with SqliteState(path) as store:
        assert isinstance(store, StateStore)
        state = store.open_list(ACCOUNT, 1, write=True)
        assert isinstance(state, ListState)
        assert store.location == str(path)
        assert repr(store) == f"SqliteState(location={str(path)!r})"


def test_round_trip_survives_reopening(path: Path) -> None:
    rows = [row(f"person{i}@example.com") for i in range(600)]
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 7, write=True)
        state.record_confirmed(rows)
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 7, write=False)
        asked = [r.email for r in rows] + ["stranger@example.com"]
        assert state.confirmed(asked) == {r.email: r.digest for r in rows}


def test_confirmed_matches_stripped_and_case_insensitively(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row(" Ann.Lee@Example.COM "), row("zoë@exämple.de")])
        found = state.confirmed(["ANN.LEE@example.com  ", "Zoë@Exämple.de", "nobody@x.io"])
        assert found == {
            "ann.lee@example.com": row("ann.lee@example.com").digest,
            "zoë@exämple.de": row("zoë@exämple.de").digest,
        }
        assert state.confirmed([]) == {}


def test_pending_rows_are_not_confirmed_until_the_batch_settles(path: Path) -> None:
    with SqliteState(path, wall_clock=lambda: 1_700_000_000.5) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b-1", [row("a@x.io"), row("b@x.io")])
        assert state.confirmed(["a@x.io", "b@x.io"]) == {}
        assert state.open_batches() == [
            OpenBatch("b-1", 1_700_000_000.5, (row("a@x.io"), row("b@x.io")))
        ]
        state.settle_batch("b-1", ["A@X.IO"])  # b@x.io was rejected
        assert state.confirmed(["a@x.io", "b@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert state.open_batches() == []


def test_a_failed_batch_keeps_the_older_confirmed_digest(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io", "old"), row("b@x.io", "old")])
        state.record_batch("b-2", [row("a@x.io", "new"), row("b@x.io", "new")])
        # pending digests do not replace the confirmed ones while the batch is open
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io", "old").digest}
        state.settle_batch("b-2", ["b@x.io"])  # a@x.io failed
        assert state.confirmed(["a@x.io", "b@x.io"]) == {
            "a@x.io": row("a@x.io", "old").digest,
            "b@x.io": row("b@x.io", "new").digest,
        }
        state.record_batch("b-3", [row("a@x.io", "newer")])
        state.settle_batch("b-3", [])  # the whole batch failed
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io", "old").digest}


def test_settling_a_batch_that_is_not_open_changes_nothing(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.settle_batch("never-recorded", ["a@x.io"])  # the list does not exist yet either
        state.record_batch("b", [row("a@x.io")])
        state.settle_batch("b", ["a@x.io"])
        state.settle_batch("b", ["a@x.io"])
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert state.open_batches() == []


def test_recording_an_open_batch_again_adds_and_replaces_rows(path: Path) -> None:
    clock = itertools.count(10.0, 10.0)
    with SqliteState(path, wall_clock=lambda: next(clock)) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b", [row("a@x.io", "1"), row("b@x.io")])
        (first,) = state.open_batches()
        state.record_batch("b", [row("a@x.io", "2"), row("c@x.io")])
        assert state.open_batches() == [
            OpenBatch("b", first.submitted_at, (row("a@x.io", "2"), row("b@x.io"), row("c@x.io")))
        ]


def test_open_batches_survive_a_killed_process(path: Path) -> None:
    holder = Holder(path, mode="crash")
    assert holder.finish() < 0  # killed by its own SIGKILL after record_batch returned
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)  # the dead child's lock is gone
        (batch,) = state.open_batches()
        assert batch.batch_id == "crash-batch"
        assert batch.rows == (StoredRow("held@example.com", bytes(16)),)
        # the confirmed digest from before the batch still holds
        assert state.confirmed(["held@example.com"]) == {"held@example.com": bytes(range(16))}


def test_open_batches_after_close_without_settling(path: Path) -> None:
    with SqliteState(path, wall_clock=lambda: 5.0) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b-old", [row("a@x.io")])
        state.record_batch("b-empty", [])
    with SqliteState(path) as store:
        batches = store.open_list(ACCOUNT, 1, write=False).open_batches()
    assert batches == [OpenBatch("b-old", 5.0, (row("a@x.io"),)), OpenBatch("b-empty", 5.0, ())]


def test_many_accounts_and_lists_in_one_file(path: Path) -> None:
    scopes = [(ACCOUNT, 1), (ACCOUNT, 2), (OTHER_ACCOUNT, 1)]
    with SqliteState(path) as store:
        for account, list_id in scopes:
            state = store.open_list(account, list_id, write=True)
            state.record_confirmed([row("same@x.io", f"{account}{list_id}")])
            state.record_batch(f"batch-{list_id}", [row(f"only{list_id}@x.io")])
            state.record_run({"list": list_id})
        for account, list_id in scopes:
            state = store.open_list(account, list_id, write=False)
            assert state.confirmed(["same@x.io", "only1@x.io", "only2@x.io"]) == {
                "same@x.io": row("same@x.io", f"{account}{list_id}").digest
            }
            assert [b.batch_id for b in state.open_batches()] == [f"batch-{list_id}"]
        summaries = store.summaries()
    assert [(s.account, s.list_id, s.confirmed, s.open_batches) for s in summaries] == [
        (ACCOUNT, 1, 1, 1),
        (ACCOUNT, 2, 1, 1),
        (OTHER_ACCOUNT, 1, 1, 1),
    ]
    assert [s.last_run is not None and s.last_run["list"] for s in summaries] == [1, 2, 1]


def test_record_run_keeps_the_last_twenty(path: Path) -> None:
    clock = iter(float(i) for i in range(100))
    with SqliteState(path, wall_clock=lambda: next(clock)) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_run({"n": 0})
        (summary,) = store.summaries()
        first_at = summary.last_run["recorded_at"] if summary.last_run else None
        started = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        for n in range(1, 25):
            state.record_run({"n": n, "started_at": started, "errors": {"bad": 1}})
        (summary,) = store.summaries()
    assert summary == ListSummary(
        ACCOUNT,
        1,
        0,
        0,
        {
            "n": 24,
            "started_at": "2026-01-02T03:04:05+00:00",
            "errors": {"bad": 1},
            "recorded_at": summary.last_run["recorded_at"] if summary.last_run else -1,
        },
    )
    assert summary.last_run is not None
    assert summary.last_run["recorded_at"] > (first_at or 0)
    with sqlite3.connect(path) as raw:
        seqs = [s for (s,) in raw.execute("SELECT seq FROM runs ORDER BY seq")]
    raw.close()
    assert seqs == list(range(6, 26))


def test_a_summary_that_is_not_json_is_refused(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="JSON values"):
            state.record_run({"client": object()})
        with pytest.raises(ConfigError, match="mapping"):
            state.record_run(["not", "a", "mapping"])  # type: ignore[arg-type]
        assert store.summaries() == []  # nothing half-written


def test_dry_run_on_a_missing_file_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "state.db"
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=False)
        assert state.confirmed(["a@x.io"]) == {}
        assert state.open_batches() == []
        assert store.summaries() == []
        assert store.forget("a@x.io") == 0
        for write in (
            lambda: state.record_confirmed([row("a@x.io")]),
            lambda: state.record_batch("b", [row("a@x.io")]),
            lambda: state.settle_batch("b", []),
            lambda: state.record_run({}),
        ):
            with pytest.raises(ConfigError, match="opened for reading"):
                write()
        state.close()
    assert list(tmp_path.iterdir()) == []


def test_dry_run_on_an_existing_file_changes_nothing(path: Path) -> None:
    with SqliteState(path) as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
    before = path.read_bytes()
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=False)
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert store.open_list(ACCOUNT, 2, write=False).confirmed(["a@x.io"]) == {}
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.db", "state.db.lock"]


def test_a_reader_sees_what_a_writer_commits(path: Path) -> None:
    with SqliteState(path) as writer_store, SqliteState(path) as reader_store:
        writer = writer_store.open_list(ACCOUNT, 1, write=True)
        reader = reader_store.open_list(ACCOUNT, 1, write=False)
        assert reader.confirmed(["a@x.io"]) == {}
        writer.record_confirmed([row("a@x.io")])
        assert reader.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}


def test_calls_may_come_from_other_threads(path: Path) -> None:
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                state.record_batch("t", [row("a@x.io")])
                state.settle_batch("t", ["a@x.io"])
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=30)
        assert errors == []
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}


def test_confirmed_without_json_support_gives_the_same_answer(path: Path) -> None:
    rows = [row(f"p{i}@x.io") for i in range(2_000)]
    with SqliteState(path) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed(rows)
        asked = [r.email for r in rows[::2]] + ["nobody@x.io"]
        with_json = state.confirmed(asked)
        store._json = False  # as on an SQLite built without JSON1
        assert state.confirmed(asked) == with_json
        assert len(with_json) == 1_000


def test_bad_arguments_raise_config_error(path: Path) -> None:
    with pytest.raises(ConfigError, match="16 bytes"):
        StoredRow("a@x.io", b"short")
    with pytest.raises(ConfigError, match="must be bytes"):
        StoredRow("a@x.io", "0" * 16)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty"):
        StoredRow("   ", bytes(16))
    with SqliteState(path) as store:
        for account, list_id in [("", 1), (ACCOUNT, 0), (ACCOUNT, True), (ACCOUNT, "1")]:
            with pytest.raises(ConfigError):
                store.open_list(account, list_id, write=True)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="without credentials") as info:
            store.open_list("https://user:hunter2@acct.api-us1.com/api/3", 1, write=True)
        assert "hunter2" not in str(info.value)
        state = store.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="batch id"):
            state.record_batch("", [row("a@x.io")])
        with pytest.raises(ConfigError, match="StoredRow"):
            state.record_confirmed([("a@x.io", bytes(16))])  # type: ignore[list-item]
        with pytest.raises(ConfigError, match="single string"):
            state.confirmed("a@x.io")
        with pytest.raises(ConfigError, match="must be a string, not bytes"):
            state.confirmed(["a@x.io", b"b@x.io"])  # type: ignore[list-item]
        with pytest.raises(ConfigError, match="must not be empty"):
            state.confirmed(["a@x.io", "  "])
        with pytest.raises(ConfigError, match="single string"):
            state.settle_batch("b", "a@x.io")


def test_closed_lists_and_stores_refuse_to_work(path: Path) -> None:
    store = SqliteState(path)
    state = store.open_list(ACCOUNT, 1, write=True)
    state.close()
    state.close()
    with pytest.raises(StateError, match="closed"):
        state.confirmed(["a@x.io"])
    again = store.open_list(ACCOUNT, 1, write=True)  # the lock went with close()
    store.close()
    store.close()
    with pytest.raises(StateError, match="closed"):
        again.record_confirmed([row("a@x.io")])
    with pytest.raises(StateError, match="closed"):
        store.summaries()


def test_the_api_key_is_never_stored(tmp_path: Path) -> None:
    client = ActiveCampaign("https://acct.api-us1.com", KEY)
    path = tmp_path / "state.db"
    with SqliteState(path) as store:
        state = store.open_list(client.api_url, 1, write=True)
        state.record_batch("b", [row("a@x.io")])
        state.settle_batch("b", ["a@x.io"])
        state.record_run({"sent": 1, "client": repr(client)})
        assert [s.account for s in store.summaries()] == ["https://acct.api-us1.com/api/3"]
        written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert b"acct.api-us1.com" in written  # the check below looks at the right bytes
        assert KEY.encode() not in written
        assert KEY not in repr(store)
        assert KEY not in repr(state)
    client.close()


def test_forget_erases_one_person_everywhere(path: Path) -> None:
    secret = "Secret.Person@Example.com"
    with SqliteState(path) as store:
        for list_id in (1, 2):
            state = store.open_list(ACCOUNT, list_id, write=True)
            state.record_confirmed([row(secret), row("keep@x.io")])
        state.record_batch("b", [row(secret, "new"), row("keep@x.io", "new")])
        state.record_run({"errors": [f"row 3: {secret.lower()} was refused"], secret: 1})
        other = store.open_list(OTHER_ACCOUNT, 1, write=True)
        other.record_confirmed([row("keep@x.io")])

        assert store.forget(f"  {secret.upper()} ") == 3  # two confirmed, one pending
        assert store.forget(secret) == 0

        for list_id in (1, 2):
            reader = store.open_list(ACCOUNT, list_id, write=False)
            assert reader.confirmed([secret, "keep@x.io"]) == {"keep@x.io": row("keep@x.io").digest}
        (batch,) = state.open_batches()
        assert batch.rows == (row("keep@x.io", "new"),)
        last_run = store.summaries()[1].last_run
        assert last_run is not None
        assert last_run["errors"] == ["row 3: [forgotten] was refused"]
        assert last_run["[forgotten]"] == 1
        # no copy left in the file, its journal, or freed pages
        on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir()).lower()
        assert secret.lower().encode() not in on_disk
        assert b"keep@x.io" in on_disk


def test_a_run_summary_edited_by_hand_is_shown_not_fatal(path: Path) -> None:
    with SqliteState(path, wall_clock=lambda: 3.0) as store:
        store.open_list(ACCOUNT, 1, write=True).record_run({"sent": 1})
    raw = sqlite3.connect(path)
    raw.execute("UPDATE runs SET summary = 'not json, Ann@X.io'")
    raw.commit()
    raw.close()
    with SqliteState(path) as store:
        (summary,) = store.summaries()
        assert summary.last_run == {"unreadable": "not json, Ann@X.io", "recorded_at": 3.0}
        assert store.forget("ann@x.io") == 0
        (summary,) = store.summaries()
    assert summary.last_run == {"unreadable": "not json, [forgotten]", "recorded_at": 3.0}


def test_a_reader_of_an_empty_file_sees_what_another_store_writes_later(path: Path) -> None:
    path.touch()
    with SqliteState(path) as reader_store, SqliteState(path) as writer_store:
        reader = reader_store.open_list(ACCOUNT, 1, write=False)
        assert reader.confirmed(["a@x.io"]) == {}
        writer_store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
        assert reader.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
