"""Memory between runs: the state store protocol and its SQLite implementation."""

from __future__ import annotations

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
    "ScanningListState",
    "SqliteState",
    "StateStore",
    "StoredRow",
    "TrackedContact",
]
