"""Schema migrations, direct: every version applied once and in order, each whole or not at
all, recorded with its name and time; a database newer or older than the hub refused in words.

SQLite files are real. The PostgreSQL advisory lock runs against one real server for the file
(`postgres_server`), even under `make mutate`: SQLite alone would leave the lock untested.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from stetho_hub.errors import SchemaVersionError, StorageUnavailableError
from stetho_hub.storage.database import Database, PostgresDatabase, SqliteDatabase
from stetho_hub.storage.migrations import (
    ADVISORY_LOCK_KEY,
    LATEST,
    Migration,
    check_version,
    current_version,
    migrate,
)
from stetho_testkit.postgres import PostgresServer

_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")  # fixed width: sorts


def _recorded(db: Database) -> list[tuple[int, str]]:
    with db.transaction() as tx:
        return [(int(v), n) for v, n in tx.all("SELECT version, name FROM schema_migrations")]


def _tables(db: SqliteDatabase) -> set[str]:
    with db.transaction() as tx:
        return {r[0] for r in tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_new_database_gets_every_version_in_order_once(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "hub.db")
    assert current_version(db) == 0
    before = datetime.now(UTC)
    assert migrate(db) == [1, 2, 3]
    after = datetime.now(UTC)
    assert LATEST == 3 and current_version(db) == 3
    assert sorted(_recorded(db)) == [
        (1, "archive, receipts, users"),
        (2, "console audit log"),
        (3, "doctors' exam answers"),
    ]
    with db.transaction() as tx:
        stamps = [r[0] for r in tx.all("SELECT applied_at FROM schema_migrations")]
    assert all(_STAMP.fullmatch(s) for s in stamps), stamps
    assert all(before <= datetime.fromisoformat(s) <= after for s in stamps)
    assert {"recordings", "archived", "audit_log", "exam_answers"} <= _tables(db)
    assert migrate(db) == []  # again: nothing
    assert len(_recorded(db)) == 3
    db.close()


def test_a_database_part_way_gets_only_the_versions_it_lacks(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "hub.db")
    first = (Migration(1, "one", ("CREATE TABLE one (x TEXT)",)),)
    more = (
        *first,
        Migration(2, "two", ("CREATE TABLE two (x TEXT)", "CREATE INDEX two_x ON two (x)")),
        Migration(3, "three", ("CREATE TABLE three (x TEXT)",)),
    )
    assert migrate(db, first) == [1]
    assert migrate(db, more) == [2, 3]
    assert _recorded(db) == [(1, "one"), (2, "two"), (3, "three")]
    assert current_version(db) == 3
    db.close()


def test_a_failing_migration_is_not_recorded_and_keeps_the_ones_before(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "hub.db")
    broken = (
        Migration(1, "one", ("CREATE TABLE one (x TEXT)",)),
        Migration(2, "two", ("CREATE TABLE two (x TEXT)", "CREATE TABLE one (x TEXT)")),
        Migration(3, "three", ("CREATE TABLE three (x TEXT)",)),
    )
    with pytest.raises(StorageUnavailableError, match="table one already exists"):
        migrate(db, broken)
    assert _recorded(db) == [(1, "one")]
    assert {"one", "schema_migrations"} == _tables(db)  # two's first statement rolled back
    assert current_version(db) == 1
    db.close()


def test_migrations_started_together_apply_each_version_once(tmp_path: Path) -> None:
    applied: list[list[int]] = []
    failures: list[BaseException] = []

    def start() -> None:
        db = SqliteDatabase(tmp_path / "hub.db")
        try:
            applied.append(migrate(db))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            db.close()

    hubs = [threading.Thread(target=start) for _ in range(3)]
    for hub in hubs:
        hub.start()
    for hub in hubs:
        hub.join()
    assert failures == []
    assert sorted(v for versions in applied for v in versions) == [1, 2, 3]


def test_the_hub_runs_only_on_its_own_schema_version(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "hub.db")
    with pytest.raises(SchemaVersionError) as fresh:
        check_version(db)
    assert str(fresh.value) == (
        "the database is at schema version 0, this hub needs 3: "
        "run `stetho hub migrate --config ...`"
    )
    migrate(db, (Migration(1, "archive, receipts, users", ()),))
    with pytest.raises(SchemaVersionError) as older:
        check_version(db)
    assert str(older.value).startswith("the database is at schema version 1, this hub needs 3")
    migrate(db, (Migration(2, "console audit log", ()), Migration(3, "answers", ())))
    check_version(db)  # exactly this hub's version: runs
    migrate(db, (Migration(4, "from a newer hub", ()),))
    with pytest.raises(SchemaVersionError) as newer:
        check_version(db)
    assert str(newer.value) == (
        "the database is at schema version 4, newer than this hub knows (3); upgrade the hub"
    )
    db.close()


def test_on_postgresql_migrations_wait_for_the_advisory_lock(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("migrations_lock")
    db = PostgresDatabase(url)
    holder = psycopg.connect(url)  # another hub, migrating: holds the lock in its transaction
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
    applied: list[list[int]] = []
    worker = threading.Thread(target=lambda: applied.append(migrate(db)))
    worker.start()
    worker.join(0.5)
    assert worker.is_alive() and applied == []
    holder.rollback()  # its transaction ends: the lock goes with it
    worker.join(10)
    assert applied == [[1, 2, 3]]
    assert current_version(db) == 3 and migrate(db) == []
    holder.close()
    db.close()
