"""The hub's database connection, direct: where it is said to live, what a transaction
commits or rolls back, what each failure is told as.

SQLite files are real. The PostgreSQL half runs against one real server for the file
(`postgres_server`), even under `make mutate`: only the PostgreSQL code calls it, so only its
mutants pay the server's start (about 3 s a run).
"""

from __future__ import annotations

import socket
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stetho_hub.errors import StorageUnavailableError
from stetho_hub.storage import database
from stetho_hub.storage.database import (
    Database,
    DatabaseTarget,
    PostgresDatabase,
    SqliteDatabase,
    connect,
)
from stetho_testkit.postgres import PostgresServer


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("postgresql://hub:secret@db.example:5432/hub", "postgresql://hub:***@db.example:5432/hub"),
        ("postgresql://hub:se:cr:et@db/hub", "postgresql://hub:***@db/hub"),  # colons in it
        ("postgres://hub@db/hub", "postgres://hub@db/hub"),  # no password: nothing hidden
        ("postgresql://db.example:5432/hub", "postgresql://db.example:5432/hub"),
        ("postgresql:///hub?host=/run/pg", "postgresql:///hub?host=/run/pg"),
        ("postgresql://db/hub?user=hub&password=secret", "postgresql://db/hub?user=hub&password=***"),
        ("postgresql://db/hub?password=secret&sslmode=require",
         "postgresql://db/hub?password=***&sslmode=require"),
        ("host=db user=hub password=secret dbname=hub", "host=db user=hub password=*** dbname=hub"),
        ("host=db password = 'se cret' dbname=hub", "host=db password = *** dbname=hub"),
        ("host=db password='it\\'s' dbname=hub", "host=db password=*** dbname=hub"),
        ("host=db sslpassword=keypass dbname=hub", "host=db sslpassword=*** dbname=hub"),
        ("host=db dbname=hub", "host=db dbname=hub"),
        # The user part ends at the first @, and comes before the first / after "//".
        ("postgresql://hub:pw@db/hub?application_name=a@b", "postgresql://hub:***@db/hub?application_name=a@b"),
        ("postgresql://hub:pw@db/hub?application_name=x://y", "postgresql://hub:***@db/hub?application_name=x://y"),
        ("postgresql://db:5432/hub?application_name=a@b", "postgresql://db:5432/hub?application_name=a@b"),
    ],
)  # fmt: skip
def test_a_postgresql_location_is_described_without_its_password(location: str, shown: str) -> None:
    assert DatabaseTarget("postgresql", location).describe() == f"postgresql:{shown}"


def test_a_sqlite_location_is_its_path() -> None:
    assert DatabaseTarget("sqlite", "/var/lib/stetho-hub/hub.db").describe() == (
        "sqlite:/var/lib/stetho-hub/hub.db"
    )


# ---- SQLite


def _open(tmp_path: Path) -> SqliteDatabase:
    return SqliteDatabase(tmp_path / "hub.db")


def test_a_new_database_is_private_in_a_private_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state" / "hub.db"
    SqliteDatabase(path).close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)  # an existing file keeps the mode its owner gave it
    SqliteDatabase(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_each_connection_is_durable_waits_for_a_writer_and_checks_references(
    tmp_path: Path,
) -> None:
    db = _open(tmp_path)
    with db.transaction() as tx:
        settings = [tx.one(f"PRAGMA {name}") for name in
                    ("busy_timeout", "journal_mode", "synchronous", "foreign_keys")]  # fmt: skip
    assert settings == [(10_000,), ("wal",), (2,), (1,)]  # synchronous 2 is FULL
    assert db.dialect == "sqlite"
    db.close()


def test_a_reference_to_nothing_is_refused(tmp_path: Path) -> None:
    db = _open(tmp_path)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE sites (site TEXT PRIMARY KEY)")
        tx.execute("CREATE TABLE exams (exam TEXT, site TEXT NOT NULL REFERENCES sites(site))")
    refused = pytest.raises(StorageUnavailableError, match="FOREIGN KEY constraint failed")
    with refused, db.transaction() as tx:
        tx.execute("INSERT INTO exams VALUES ('e1', 'nowhere')")
    db.close()


def test_a_transaction_takes_the_write_lock_before_its_first_write(tmp_path: Path) -> None:
    db = _open(tmp_path)
    other = sqlite3.connect(tmp_path / "hub.db", timeout=0, isolation_level=None)
    with db.transaction() as tx:
        tx.one("SELECT 1")  # read only so far
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")
    other.close()
    db.close()


def _table(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BIGINT)")


def test_rows_are_committed_for_every_connection_and_read_as_tuples(tmp_path: Path) -> None:
    db = _open(tmp_path)
    _table(db)
    with db.transaction() as tx:
        assert tx.execute("INSERT INTO t VALUES (?, ?)", ["a", 1]) == 1
        assert tx.execute("INSERT INTO t VALUES (?, ?), (?, ?)", ("b", 2, "c", 3)) == 2
        assert tx.execute("UPDATE t SET v = v + 10 WHERE k <> ?", ["a"]) == 2
        assert tx.execute("DELETE FROM t WHERE k = ?", ("none",)) == 0
    other = _open(tmp_path)
    with other.transaction() as tx:
        assert tx.all("SELECT k, v FROM t ORDER BY k") == [("a", 1), ("b", 12), ("c", 13)]
        assert tx.all("SELECT k FROM t WHERE v > ?", [99]) == []
        assert tx.one("SELECT v, k FROM t WHERE k = ?", ["b"]) == (12, "b")
        assert tx.one("SELECT v FROM t WHERE k = ?", ["z"]) is None
        assert type(tx.all("SELECT k FROM t")[0]) is tuple
    other.close()
    db.close()


@pytest.mark.parametrize("raised", [ValueError("stop"), KeyboardInterrupt()])
def test_an_error_inside_rolls_back_and_passes_unchanged(
    tmp_path: Path, raised: BaseException
) -> None:
    db = _open(tmp_path)
    _table(db)
    with pytest.raises(type(raised)) as seen, db.transaction() as tx:
        tx.execute("INSERT INTO t VALUES ('a', 1)")
        raise raised
    assert seen.value is raised
    with db.transaction() as tx:  # the transaction was ended: a new one starts
        assert tx.all("SELECT k FROM t") == []
    db.close()


def test_a_failed_statement_is_storage_unavailable_and_rolls_back(tmp_path: Path) -> None:
    db = _open(tmp_path)
    _table(db)
    with pytest.raises(StorageUnavailableError) as failed, db.transaction() as tx:
        tx.execute("INSERT INTO t VALUES ('a', 1)")
        tx.execute("INSERT INTO t VALUES ('a', 2)")
    assert str(failed.value) == (f"SQLite {tmp_path / 'hub.db'}: UNIQUE constraint failed: t.k")
    assert isinstance(failed.value.__cause__, sqlite3.IntegrityError)
    with db.transaction() as tx:
        assert tx.all("SELECT k FROM t") == []
    db.close()
    with pytest.raises(StorageUnavailableError, match="closed database"), db.transaction():
        pass


def test_a_connection_serves_the_thread_it_is_handed_to(tmp_path: Path) -> None:
    db = _open(tmp_path)
    _table(db)

    def write() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO t VALUES ('from a thread', 1)")

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    with db.transaction() as tx:
        assert tx.all("SELECT k FROM t") == [("from a thread",)]
    db.close()


def test_a_database_that_cannot_be_opened_says_where(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    blocked = tmp_path / "file" / "hub.db"
    with pytest.raises(StorageUnavailableError) as no_folder:
        SqliteDatabase(blocked)
    assert str(no_folder.value).startswith(f"cannot open SQLite database {blocked}: ")
    assert isinstance(no_folder.value.__cause__, OSError)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not SQLite at all, " * 100)
    with pytest.raises(StorageUnavailableError) as not_sqlite:
        SqliteDatabase(garbage)
    assert str(not_sqlite.value) == (
        f"cannot open SQLite database {garbage}: file is not a database"
    )
    assert isinstance(not_sqlite.value.__cause__, sqlite3.DatabaseError)


def test_connect_opens_the_file_named(tmp_path: Path) -> None:
    db = connect(DatabaseTarget("sqlite", str(tmp_path / "x" / "hub.db")))
    assert isinstance(db, SqliteDatabase) and db.path == tmp_path / "x" / "hub.db"
    assert db.target.describe() == f"sqlite:{tmp_path / 'x' / 'hub.db'}"  # what errors name
    db.close()


# ---- PostgreSQL: one real server for the file


def test_postgresql_commits_for_every_connection_and_reads_tuples(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("edges_rows")
    db = connect(DatabaseTarget("postgresql", url))
    assert isinstance(db, PostgresDatabase) and db.dialect == "postgresql"
    with_password = PostgresDatabase(url.replace("hub@", "hub:s3cret@"))  # trusted: ignored
    assert with_password.target.describe() == "postgresql:" + url.replace("hub@", "hub:***@")
    with_password.close()
    _table(db)
    with db.transaction() as tx:
        assert tx.execute("INSERT INTO t VALUES (?, ?)", ["a", 1]) == 1
        assert tx.execute("INSERT INTO t VALUES (?, ?), (?, ?)", ("b", 2, "c", 3)) == 2
        assert tx.execute("UPDATE t SET v = v + 10 WHERE k <> ?", ["a"]) == 2
    other = PostgresDatabase(url)
    with other.transaction() as tx:
        assert tx.all("SELECT k, v FROM t ORDER BY k") == [("a", 1), ("b", 12), ("c", 13)]
        assert tx.all("SELECT k FROM t WHERE v > ? ORDER BY k", [5]) == [("b",), ("c",)]
        assert tx.one("SELECT v, k FROM t WHERE k = ?", ["b"]) == (12, "b")
        assert tx.one("SELECT v FROM t WHERE k = ?", ["z"]) is None
        assert type(tx.all("SELECT k FROM t")[0]) is tuple
        assert type(tx.execute("DELETE FROM t WHERE k = ?", ["a"])) is int
    other.close()
    db.close()


def test_postgresql_rolls_back_on_any_error(postgres_server: PostgresServer) -> None:
    db = PostgresDatabase(postgres_server.create_database("edges_rollback"))
    _table(db)
    with pytest.raises(StorageUnavailableError) as failed, db.transaction() as tx:
        tx.execute("INSERT INTO t VALUES ('a', 1)")
        tx.execute("INSERT INTO t VALUES ('a', 2)")
    assert str(failed.value).startswith("PostgreSQL: duplicate key value violates unique")
    assert isinstance(failed.value.__cause__, psycopg.errors.UniqueViolation)
    with pytest.raises(ValueError, match="stop"), db.transaction() as tx:
        tx.execute("INSERT INTO t VALUES ('b', 1)")
        raise ValueError("stop")
    with db.transaction() as tx:
        assert tx.all("SELECT k FROM t") == []
    db.close()


def test_postgresql_reconnects_after_the_server_went_away(
    postgres_server: PostgresServer,
) -> None:
    db = PostgresDatabase(postgres_server.create_database("edges_restart"))
    _table(db)
    postgres_server.restart()
    with pytest.raises(StorageUnavailableError, match=r"^PostgreSQL: "), db.transaction() as tx:
        tx.one("SELECT 1")
    db.close()  # nothing left to close: no error
    with db.transaction() as tx:  # the next transaction connects again
        assert tx.all("SELECT k FROM t") == []
    db.close()
    with db.transaction() as tx:  # and after a close, too
        assert tx.one("SELECT ?::int + 1", [1]) == (2,)
    db.close()


def test_postgresql_connects_with_a_timeout_and_autocommit(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict[str, object]] = []
    real = psycopg.connect

    def spy(conninfo: str, **kwargs: Any) -> Any:
        asked.append(kwargs)
        return real(conninfo, **kwargs)

    monkeypatch.setattr(psycopg, "connect", spy)
    url = postgres_server.url()
    PostgresDatabase(url).close()
    PostgresDatabase(url, connect_timeout_s=3).close()
    assert asked == [
        {"connect_timeout": 10, "autocommit": True},
        {"connect_timeout": 3, "autocommit": True},
    ]


def test_postgresql_that_cannot_be_reached_is_told_without_the_password() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://hub:s3cret@127.0.0.1:{port}/hub"
    with pytest.raises(StorageUnavailableError) as failed:
        PostgresDatabase(url, connect_timeout_s=2)
    said = str(failed.value)
    assert said.startswith(
        f"cannot connect to postgresql:postgresql://hub:***@127.0.0.1:{port}/hub: "
    )
    assert "s3cret" not in said
    assert isinstance(failed.value.__cause__, psycopg.OperationalError)


class _Switching:
    """A connection whose switch to WAL is refused as "locked" `refusals` times, or fails."""

    def __init__(self, refusals: int, error: str = "database is locked") -> None:
        self.refusals, self.error, self.tries = refusals, error, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode = WAL"
        self.tries += 1
        if self.tries <= self.refusals:
            raise sqlite3.OperationalError(self.error)


def test_wal_is_tried_again_while_another_hub_switches_the_same_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    naps: list[float] = []
    monkeypatch.setattr(database.time, "sleep", naps.append)
    conn = _Switching(refusals=3)
    database._write_ahead(conn)  # type: ignore[arg-type]
    assert conn.tries == 4 and naps == [0.01] * 3  # short naps, not the whole timeout


def test_wal_gives_up_at_the_busy_timeout_and_on_other_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    monkeypatch.setattr(database.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(database.time, "sleep", lambda s: now.__setitem__(0, now[0] + 2.5))
    endless = _Switching(refusals=10**6)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        database._write_ahead(endless)  # type: ignore[arg-type]
    # 10 s: tries at 0, 2.5, 5, 7.5 and 10 (not past it), then a sixth at 12.5 ends it.
    assert endless.tries == 6
    broken = _Switching(refusals=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        database._write_ahead(broken)  # type: ignore[arg-type]
    assert broken.tries == 1
