"""Hub fixtures: a database of each kind (SQLite file, real PostgreSQL), an archive on disk,
TLS files for a FHIR server (the hub's CLI tests export too)."""

from __future__ import annotations

import itertools
import os
import subprocess
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


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    d = tmp_path_factory.mktemp("fhir-tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt", cwd=d)  # fmt: skip
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                 "-out", f"{name}.crt", cwd=d)  # fmt: skip
    return d
