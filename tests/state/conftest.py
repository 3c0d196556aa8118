"""The state tests' stores: a throwaway PostgreSQL cluster (session scope) and a factory of
stores of either kind over one location per test (``backend``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import Cluster, find_bindir, missing_reason
from stores import Backend


def _unavailable(reason: str) -> None:
    """Skip locally; in CI (``CI`` set) a missing server is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the PostgreSQL tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of its own on 127.0.0.1, for the whole test session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'acexport[postgres]')")
    bindir = find_bindir()
    if bindir is None:
        _unavailable(missing_reason())
    assert bindir is not None
    cluster = Cluster(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    cluster = request.getfixturevalue("pg_cluster") if request.param == "postgres" else None
    return Backend(request.param, tmp_path, cluster)
