"""Shared fixtures: event-log databases.

- ``sqlite_url``: a SQLAlchemy URL of a new SQLite file in the test's tmp_path.
- ``postgres_url`` (session): a database on a throwaway PostgreSQL cluster
  started for the test session (``control_center.testing.pg``). Without the
  server binaries the tests that use it are skipped, or fail when ``CI`` is set.
- ``pg_database``: a fresh, empty database on that cluster for one test.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_db_counter = itertools.count(1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a (not yet existing) SQLite log file in ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'openastro.db'}"


@pytest.fixture(scope="session")
def _pg_cluster() -> Iterator[object]:
    from control_center.testing.pg import PostgresCluster, PostgresUnavailable, find_pg_bin

    if find_pg_bin() is None:
        message = "PostgreSQL server binaries (initdb, postgres) not found"
        if os.environ.get("CI"):
            pytest.fail(message + " (required when CI is set)")
        pytest.skip(message)
    try:
        cluster = PostgresCluster.start(fsync=False)
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(_pg_cluster: object) -> str:
    """URL of a database on the session's throwaway PostgreSQL cluster."""
    return _pg_cluster.create_database("openastro_test")  # type: ignore[attr-defined]


@pytest.fixture
def pg_database(_pg_cluster: object) -> str:
    """URL of a new, empty database for one test (same cluster)."""
    return _pg_cluster.create_database(f"openastro_t{next(_db_counter)}")  # type: ignore[attr-defined]
