"""The StateStore contract, run against every store: SqliteState and PostgresState.

Each test takes ``backend`` (tests/state/conftest.py): stores of one kind over one location
(an SQLite file, or a schema of its own in the throwaway PostgreSQL cluster), so the same
behaviour is asserted of both.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import threading

import pytest
from stores import Backend

from acexport import (
    ConfigError,
    ListState,
    ListSummary,
    OpenBatch,
    StateError,
    StoredRow,
    TrackedContact,
)
from acexport._state import StateStore

ACCOUNT = "https://acct.api-us1.com/api/3"
OTHER_ACCOUNT = "https://other.api-us1.com/api/3"


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def row(email: str, version: str = "v1") -> StoredRow:
    return StoredRow(email, digest(f"{email.strip().lower()}|{version}"))


def test_it_is_a_state_store(backend: Backend) -> None:
    with backend.store() as store:
        assert isinstance(store, StateStore)
        state = store.open_list(ACCOUNT, 1, write=True)
        assert isinstance(state, ListState)
        assert type(store).__name__ in repr(store)
        assert store.location in repr(store)


def test_round_trip_survives_reopening(backend: Backend) -> None:
    rows = [row(f"person{i}@example.com") for i in range(600)]
    with backend.store() as store:
        store.open_list(ACCOUNT, 7, write=True).record_confirmed(rows)
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 7, write=False)
        asked = [r.email for r in rows] + ["stranger@example.com"]
        assert state.confirmed(asked) == {r.email: r.digest for r in rows}


def test_confirmed_matches_stripped_and_case_insensitively(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row(" Ann.Lee@Example.COM "), row("zoë@exämple.de")])
        found = state.confirmed(["ANN.LEE@example.com  ", "Zoë@Exämple.de", "nobody@x.io"])
        assert found == {
            "ann.lee@example.com": row("ann.lee@example.com").digest,
            "zoë@exämple.de": row("zoë@exämple.de").digest,
        }
        assert state.confirmed([]) == {}


def test_pending_rows_are_not_confirmed_until_the_batch_settles(backend: Backend) -> None:
    with backend.store(wall_clock=lambda: 1_700_000_000.5) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b-1", [row("b@x.io"), row("a@x.io")])
        assert state.confirmed(["a@x.io", "b@x.io"]) == {}
        assert state.open_batches() == [
            OpenBatch("b-1", 1_700_000_000.5, (row("a@x.io"), row("b@x.io")))
        ]
        state.settle_batch("b-1", ["A@X.IO"])  # b@x.io was rejected
        assert state.confirmed(["a@x.io", "b@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert state.open_batches() == []


def test_a_failed_batch_keeps_the_older_confirmed_digest(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io", "old"), row("b@x.io", "old")])
        state.record_batch("b-2", [row("a@x.io", "new"), row("b@x.io", "new")])
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io", "old").digest}
        state.settle_batch("b-2", ["b@x.io"])  # a@x.io failed
        assert state.confirmed(["a@x.io", "b@x.io"]) == {
            "a@x.io": row("a@x.io", "old").digest,
            "b@x.io": row("b@x.io", "new").digest,
        }
        state.record_batch("b-3", [row("a@x.io", "newer")])
        state.settle_batch("b-3", [])  # the whole batch failed
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io", "old").digest}


def test_settling_a_batch_that_is_not_open_changes_nothing(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.settle_batch("never-recorded", ["a@x.io"])  # the list does not exist yet either
        state.record_batch("b", [row("a@x.io")])
        state.settle_batch("b", ["a@x.io"])
        state.settle_batch("b", ["a@x.io"])
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert state.open_batches() == []


def test_recording_an_open_batch_again_adds_and_replaces_rows(backend: Backend) -> None:
    clock = itertools.count(10.0, 10.0)
    with backend.store(wall_clock=lambda: next(clock)) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b", [row("a@x.io", "1"), row("b@x.io")])
        (first,) = state.open_batches()
        state.record_batch("b", [row("a@x.io", "2"), row("c@x.io")])
        assert state.open_batches() == [
            OpenBatch("b", first.submitted_at, (row("a@x.io", "2"), row("b@x.io"), row("c@x.io")))
        ]


def test_the_same_email_twice_in_one_call_keeps_the_last(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io", "1"), row("A@x.io", "2")])
        state.record_batch("b", [row("b@x.io", "1"), row("b@X.io ", "2")])
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io", "2").digest}
        assert state.open_batches()[0].rows == (row("b@x.io", "2"),)


def test_open_batches_after_close_without_settling(backend: Backend) -> None:
    with backend.store(wall_clock=lambda: 5.0) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b-old", [row("a@x.io")])
        state.record_batch("b-empty", [])
    with backend.store() as store:
        batches = store.open_list(ACCOUNT, 1, write=False).open_batches()
    assert batches == [OpenBatch("b-old", 5.0, (row("a@x.io"),)), OpenBatch("b-empty", 5.0, ())]


def test_many_accounts_and_lists_in_one_state(backend: Backend) -> None:
    scopes = [(ACCOUNT, 1), (ACCOUNT, 2), (OTHER_ACCOUNT, 1)]
    with backend.store() as store:
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


def test_record_run_keeps_the_last_twenty(backend: Backend) -> None:
    clock = iter(float(i) for i in range(100))
    with backend.store(wall_clock=lambda: next(clock)) as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        started = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        for n in range(25):
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
            "recorded_at": 25.0,  # the clock also dated the list (0.0)
        },
    )
    seqs = [s for (s,) in backend.sql("SELECT seq FROM {s}.runs ORDER BY seq")]
    assert seqs == list(range(6, 26))


def test_a_summary_that_is_not_json_is_refused(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="JSON values"):
            state.record_run({"client": object()})
        with pytest.raises(ConfigError, match="mapping"):
            state.record_run(["not", "a", "mapping"])  # type: ignore[arg-type]
        assert store.summaries() == []  # nothing half-written


def test_a_dry_run_on_a_new_state_leaves_nothing_behind(backend: Backend) -> None:
    with backend.store() as store:
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
    assert not backend.exists()


def test_a_dry_run_on_an_existing_state_changes_nothing(backend: Backend) -> None:
    with backend.store() as store:
        store.open_list(ACCOUNT, 1, write=True).record_confirmed([row("a@x.io")])
    query = "SELECT email, digest FROM {s}.contacts ORDER BY email"
    before = backend.sql(query)
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=False)
        assert state.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}
        assert store.open_list(ACCOUNT, 2, write=False).confirmed(["a@x.io"]) == {}
    assert backend.sql(query) == before
    assert backend.sql("SELECT count(*) FROM {s}.lists") == [(1,)]


def test_a_reader_sees_what_a_writer_commits(backend: Backend) -> None:
    with backend.store() as writer_store, backend.store() as reader_store:
        writer = writer_store.open_list(ACCOUNT, 1, write=True)
        reader = reader_store.open_list(ACCOUNT, 1, write=False)
        assert reader.confirmed(["a@x.io"]) == {}
        writer.record_confirmed([row("a@x.io")])
        assert reader.confirmed(["a@x.io"]) == {"a@x.io": row("a@x.io").digest}


def test_a_second_writer_of_a_list_is_refused_at_once(backend: Backend) -> None:
    with backend.store() as first, backend.store() as second:
        held = first.open_list(ACCOUNT, 1, write=True)
        with pytest.raises(ConfigError, match="another export is writing list 1") as info:
            second.open_list(ACCOUNT, 1, write=True)
        assert first.location in str(info.value)
        with pytest.raises(ConfigError, match="in this process"):
            first.open_list(ACCOUNT, 1, write=True)
        other = second.open_list(ACCOUNT, 2, write=True)  # another list is free
        second.open_list(ACCOUNT, 1, write=False).confirmed(["a@x.io"])  # readers are never
        held.close()
        again = second.open_list(ACCOUNT, 1, write=True)  # the lock went with close()
        again.record_confirmed([row("a@x.io")])
        other.close()


def test_calls_may_come_from_other_threads(backend: Backend) -> None:
    with backend.store() as store:
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


def test_bad_arguments_raise_config_error(backend: Backend) -> None:
    with backend.store() as store:
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


def test_closed_lists_and_stores_refuse_to_work(backend: Backend) -> None:
    store = backend.store()
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


def test_forget_erases_one_person_everywhere(backend: Backend) -> None:
    secret = "Secret.Person@Example.com"
    with backend.store() as store:
        for list_id in (1, 2):
            state = store.open_list(ACCOUNT, list_id, write=True)
            state.record_confirmed([row(secret), row("keep@x.io")])
        state.record_batch("b", [row(secret, "new"), row("keep@x.io", "new")])
        state.record_run({"errors": [f"row 3: {secret.lower()} was refused"], secret: 1})
        store.open_list(OTHER_ACCOUNT, 1, write=True).record_confirmed([row("keep@x.io")])

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
    # nothing left in the live tables
    for table, column in [("contacts", "email"), ("batch_rows", "email"), ("runs", "summary")]:
        texts = backend.sql(f"SELECT {column} FROM {{s}}.{table}")
        assert texts
        assert all(secret.lower() not in str(t).lower() for (t,) in texts)


def test_scan_and_count_hand_over_every_confirmed_row(backend: Backend) -> None:
    rows = [row(f"p{i}@x.io", str(i % 3)) for i in range(2_500)]
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.count_confirmed() == 0  # type: ignore[attr-defined]
        assert list(state.scan_confirmed()) == []  # type: ignore[attr-defined]
        state.record_confirmed(rows)
        state.record_batch("pending", [row("pending@x.io")])  # not confirmed: not handed over
        store.open_list(ACCOUNT, 2, write=True).record_confirmed([row("other@x.io")])
        chunks = list(state.scan_confirmed(1_000))  # type: ignore[attr-defined]
        assert [len(c) for c in chunks] == [1_000, 1_000, 500]
        assert dict(pair for c in chunks for pair in c) == {r.email: r.digest for r in rows}
        assert state.count_confirmed() == 2_500  # type: ignore[attr-defined]


# -- membership and identity (on_leave, FieldMapping(key=...)) --------------------------------


def keyed(email: str, key: str | None, version: str = "v1") -> StoredRow:
    return StoredRow(email, row(email, version).digest, key=key)


def test_tracked_pages_through_the_confirmed_contacts_in_email_order(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        assert state.tracked("", 10) == []  # the list does not exist yet
        state.record_confirmed([row(f"p{i:04d}@x.io") for i in range(2_500)])
        state.record_batch("b", [row("pending@x.io")])  # not confirmed: not tracked
        store.open_list(ACCOUNT, 2, write=True).record_confirmed([row("other@x.io")])
        seen: list[str] = []
        after = ""
        while page := state.tracked(after, 1_000):
            assert len(page) <= 1_000
            seen += [c.email for c in page]
            after = page[-1].email
        assert seen == [f"p{i:04d}@x.io" for i in range(2_500)]
        assert [c.email for c in state.tracked("p2497@x.io", 10)] == ["p2498@x.io", "p2499@x.io"]
        assert state.tracked("p0000@x.io\x00", 1) == [TrackedContact("p0001@x.io")]
        for bad in (0, -1, True, "10"):
            with pytest.raises(ConfigError, match="limit"):
                state.tracked("", bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="after"):
            state.tracked(None, 10)  # type: ignore[arg-type]


def test_contact_ids_keys_move_and_drop(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([keyed("a@x.io", "cust-1"), row("b@x.io"), row("c@x.io")])
        state.remember_contact_ids({"A@x.io ": 11, "c@x.io": 13, "nobody@x.io": 99})
        assert state.tracked("", 10) == [
            TrackedContact("a@x.io", 11, "cust-1"),
            TrackedContact("b@x.io", None, None),
            TrackedContact("c@x.io", 13, None),
        ]
        assert state.confirmed(["nobody@x.io"]) == {}  # an id alone does not make a row
        assert state.emails_of_keys(["cust-1", "cust-2"]) == {"cust-1": ("a@x.io", 11)}
        assert state.emails_of_keys([]) == {}

        state.move("a@x.io", "New@x.io", 12)  # the digest stays: the new address is sent again
        assert state.emails_of_keys(["cust-1"]) == {"cust-1": ("new@x.io", 12)}
        assert state.confirmed(["a@x.io", "new@x.io"]) == {"new@x.io": row("a@x.io").digest}
        state.move("new@x.io", "c@x.io", None)  # onto a tracked address: that row is replaced
        assert state.tracked("", 10) == [
            TrackedContact("b@x.io", None, None),
            TrackedContact("c@x.io", 12, "cust-1"),  # no id given: the moved row's is kept
        ]
        assert state.confirmed(["c@x.io"]) == {"c@x.io": row("a@x.io").digest}
        state.move("c@x.io", "c@x.io", 14)  # the same address: nothing to do
        state.move("gone@x.io", "d@x.io", 15)  # nothing to move: no row is made
        assert state.confirmed(["d@x.io"]) == {}

        state.drop(["B@x.io ", "unknown@x.io"])
        assert [c.email for c in state.tracked("", 10)] == ["c@x.io"]
        state.drop([])
        state.record_confirmed([row("c@x.io", "v2")])  # a key-less export drops the key...
        assert state.emails_of_keys(["cust-1"]) == {}
        assert state.tracked("", 10) == [TrackedContact("c@x.io", 12, None)]  # ...not the id


def test_a_key_travels_with_a_pending_row_until_its_batch_settles(backend: Backend) -> None:
    with backend.store() as store:
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_batch("b1", [keyed("a@x.io", "k1"), keyed("b@x.io", "k2"), row("c@x.io")])
        state.record_batch("b1", [keyed("b@x.io", "k3")])  # the row is replaced, key and all
        (batch,) = state.open_batches()
        assert batch.rows == (keyed("a@x.io", "k1"), keyed("b@x.io", "k3"), row("c@x.io"))
        assert state.emails_of_keys(["k1", "k3"]) == {}  # pending: not confirmed yet
        state.settle_batch("b1", ["a@x.io", "c@x.io"])  # b@x.io failed
        assert state.emails_of_keys(["k1", "k2", "k3"]) == {"k1": ("a@x.io", None)}
        assert state.tracked("", 10) == [
            TrackedContact("a@x.io", None, "k1"),
            TrackedContact("c@x.io", None, None),
        ]
    with backend.store() as store:  # and it survives reopening
        reader = store.open_list(ACCOUNT, 1, write=False)
        assert reader.emails_of_keys(["k1"]) == {"k1": ("a@x.io", None)}


def test_the_membership_methods_refuse_bad_arguments_and_read_only_lists(
    backend: Backend,
) -> None:
    with backend.store() as store:
        reader = store.open_list(ACCOUNT, 1, write=False)
        assert reader.tracked("", 10) == []
        assert reader.emails_of_keys(["k"]) == {}
        for write in (
            lambda: reader.drop(["a@x.io"]),
            lambda: reader.remember_contact_ids({"a@x.io": 1}),
            lambda: reader.move("a@x.io", "b@x.io", 1),
        ):
            with pytest.raises(ConfigError, match="opened for reading"):
                write()
        state = store.open_list(ACCOUNT, 1, write=True)
        state.record_confirmed([row("a@x.io")])
        with pytest.raises(ConfigError, match="single string"):
            state.drop("a@x.io")
        with pytest.raises(ConfigError, match="single string"):
            state.emails_of_keys("k")
        for bad_id in (0, -3, True, "12", 1.5):
            with pytest.raises(ConfigError, match="contact id"):
                state.remember_contact_ids({"a@x.io": bad_id})  # type: ignore[dict-item]
            with pytest.raises(ConfigError, match="contact id"):
                state.move("a@x.io", "b@x.io", bad_id)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="must not be empty"):
            state.move("a@x.io", " ", 1)
        with pytest.raises(ConfigError, match="customer key"):
            StoredRow("a@x.io", bytes(16), key="")
        assert state.tracked("", 10) == [TrackedContact("a@x.io")]  # nothing half-written
    assert not backend.sql("SELECT 1 FROM {s}.lists WHERE list_id = 2")
