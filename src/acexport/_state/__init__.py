"""Memory between runs: the state store protocol, its SQLite and PostgreSQL implementations."""

from __future__ import annotations

from ._open import copy_state, open_store
from ._postgres import PostgresState
from ._protocol import (
    ListState,
    ListSummary,
    OpenBatch,
    ScanningListState,
    StateStore,
    StoredRow,
    TrackedContact,
)
from ._sqlite import SqliteState

__all__ = [
    "ListState",
    "ListSummary",
    "OpenBatch",
    "PostgresState",
    "ScanningListState",
    "SqliteState",
    "StateStore",
    "StoredRow",
    "TrackedContact",
    "copy_state",
    "open_store",
]
