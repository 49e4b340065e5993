"""Hub fixtures: a database of each kind (SQLite file, real PostgreSQL), an archive on disk."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stetho_hub.storage import Archive, AudioStore, Database, DatabaseTarget, migrate, open_database
from stetho_testkit.postgres import PostgresServer

_names = itertools.count()
# `make mutate` runs each covering test once per mutant: SQLite alone there (the same SQL),
# as a PostgreSQL server per run would cost more than the tests themselves.
_DIALECTS = ["sqlite"] if os.environ.get("STETHO_MUTATE") == "1" else ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session; each test gets a database of its own in it."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(params=_DIALECTS)
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseTarget:
    if request.param == "sqlite":
        return DatabaseTarget("sqlite", str(tmp_path / "db" / "hub.db"))
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return DatabaseTarget("postgresql", server.create_database(f"t{next(_names)}"))


@pytest.fixture
def db(db_target: DatabaseTarget) -> Iterator[Database]:
    database = open_database(db_target, migrating=True)
    migrate(database)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def archive(db: Database, tmp_path: Path) -> Archive:
    return Archive(db, AudioStore(tmp_path / "audio"))
