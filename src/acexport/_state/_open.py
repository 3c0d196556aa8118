"""Building a store from what ``state=`` was given, and copying a state between stores."""

from __future__ import annotations

import os

from .._exceptions import ConfigError
from ._postgres import PostgresState
from ._postgres_util import is_postgres_url
from ._protocol import ListSummary, StateStore, StoredRow
from ._sqlite import SqliteState

__all__ = ["copy_state", "open_store"]

_COPY_CHUNK = 10_000  # rows read and written per transaction while copying


def open_store(state: str | os.PathLike[str] | StateStore) -> StateStore:
    """The store ``state`` names: a ``postgresql://`` URL gives a :class:`PostgresState`, any
    other path an :class:`SqliteState`; a :class:`StateStore` is returned as it is."""
    if isinstance(state, StateStore):
        return state
    if is_postgres_url(state):
        assert isinstance(state, str)
        return PostgresState(state.strip())
    return SqliteState(state)


def copy_state(src: StateStore, dst: StateStore) -> list[ListSummary]:
    """Copy every list of ``src`` into ``dst`` (SQLite to PostgreSQL, or back).

    Copies each list's confirmed contacts (digest, customer key and ActiveCampaign contact id),
    its open batches (with their rows) and its last run summary. Each list is locked for
    writing in both stores while it is copied, so no export can change either meanwhile (one
    that tries gets ConfigError). A list that ``dst`` already holds is refused with
    :class:`~acexport.ConfigError` before anything is written: copy into an empty state.
    Returns what ``dst`` now holds for the lists copied. The API key is not in either store,
    so it is not copied either.
    """
    if not isinstance(src, StateStore) or not isinstance(dst, StateStore):
        raise ConfigError("copy_state takes two StateStore objects (SqliteState, PostgresState)")
    if src is dst or src.location == dst.location:
        raise ConfigError(f"cannot copy the state {src.location} onto itself")
    lists = src.summaries()
    present = {(s.account, s.list_id) for s in dst.summaries()}
    clash = [f"list {s.list_id} of {s.account}" for s in lists if (s.account, s.list_id) in present]
    if clash:
        raise ConfigError(
            f"the state {dst.location} already holds {', '.join(clash)}: copy into an empty "
            "state (acexport never merges two states)"
        )
    copied = set()
    for summary in lists:
        source = src.open_list(summary.account, summary.list_id, write=True)
        try:
            target = dst.open_list(summary.account, summary.list_id, write=True)
            try:
                after = ""  # the source is locked for writing: its pages cannot shift
                while page := source.tracked(after, _COPY_CHUNK):
                    after = page[-1].email
                    digests = source.confirmed([c.email for c in page])
                    target.record_confirmed(
                        [
                            StoredRow(c.email, digests[c.email], key=c.key)
                            for c in page
                            if c.email in digests
                        ]
                    )
                    ids = {c.email: c.contact_id for c in page if c.contact_id is not None}
                    if ids:
                        target.remember_contact_ids(ids)
                for batch in source.open_batches():
                    target.record_batch(batch.batch_id, batch.rows)
                if summary.last_run is not None:
                    run = {k: v for k, v in summary.last_run.items() if k != "recorded_at"}
                    target.record_run({**run, "copied_from": src.location})
            finally:
                target.close()
        finally:
            source.close()
        copied.add((summary.account, summary.list_id))
    return [s for s in dst.summaries() if (s.account, s.list_id) in copied]
