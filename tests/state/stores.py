"""Stores of either kind over one location per test, for the contract tests (``backend``)."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path
from typing import Any

from pgserver import Cluster

from acexport import SqliteState
from acexport._state import StateStore

__all__ = ["Backend"]


class Backend:
    """Stores of one kind over one location; ``sql`` reads the location's tables directly."""

    def __init__(self, kind: str, tmp_path: Path, cluster: Cluster | None) -> None:
        self.kind = kind
        self.path = tmp_path / "state" / "state.db"
        self.cluster = cluster
        self.schema = "t_" + secrets.token_hex(6)

    def store(self, **options: Any) -> StateStore:
        if self.kind == "sqlite":
            return SqliteState(self.path, **options)
        from acexport import PostgresState

        assert self.cluster is not None
        return PostgresState(self.cluster.dsn, schema=self.schema, **options)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run ``query`` ({s} names the schema) on the stored tables, committed."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.path)
            try:
                rows = conn.execute(query.format(s="main")).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        import psycopg

        assert self.cluster is not None
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            cursor = conn.execute(query.format(s=self.schema).encode())
            return list(cursor.fetchall()) if cursor.description else []

    def exists(self) -> bool:
        """Whether anything was created for this location."""
        if self.kind == "sqlite":
            return self.path.parent.exists()
        return bool(self.sql(f"SELECT 1 FROM pg_namespace WHERE nspname = '{self.schema}'"))
