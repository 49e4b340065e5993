"""Schema migrations, direct: every version applied once and in order, each whole or not at
all, recorded with its name and time; a database whose versions are not exactly the hub's
(newer, renamed, a gap, not migrated) refused in one sentence naming it and them.

SQLite files are real; the drift tests run on PostgreSQL too (`db_target`, SQLite alone under
`make mutate`). The advisory lock runs against one real server for the file
(`postgres_server`), even under `make mutate`: SQLite alone would leave the lock untested.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from stetho_hub.errors import SchemaVersionError, StorageUnavailableError
from stetho_hub.storage.database import (
    Database,
    DatabaseTarget,
    PostgresDatabase,
    SqliteDatabase,
    connect,
)
from stetho_hub.storage.migrations import (
    ADVISORY_LOCK_KEY,
    LATEST,
    Migration,
    SchemaDrift,
    check_version,
    current_version,
    migrate,
    refusal,
    schema_drift,
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
    assert migrate(db) == [1, 2, 3, 4]
    after = datetime.now(UTC)
    assert LATEST == 4 and current_version(db) == 4
    assert sorted(_recorded(db)) == [
        (1, "archive, receipts, users"),
        (2, "console audit log"),
        (3, "doctors' exam answers"),
        (4, "migration checksums"),
    ]
    with db.transaction() as tx:
        stamps = [r[0] for r in tx.all("SELECT applied_at FROM schema_migrations")]
    assert all(_STAMP.fullmatch(s) for s in stamps), stamps
    assert all(before <= datetime.fromisoformat(s) <= after for s in stamps)
    assert {"recordings", "archived", "audit_log", "exam_answers"} <= _tables(db)
    assert migrate(db) == []  # again: nothing
    assert len(_recorded(db)) == 4
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
    assert sorted(v for versions in applied for v in versions) == [1, 2, 3, 4]


ONE_TWO_THREE = (
    Migration(1, "one", ("CREATE TABLE one (x TEXT)",)),
    Migration(2, "two", ("CREATE TABLE two (x TEXT)",)),
    Migration(3, "three", ("CREATE TABLE three (x TEXT)",)),
)
_DOCS = 'see docs/hospital.md §3, "Schema checks"'


def _drift(applied: dict[int, str]) -> SchemaDrift:
    return schema_drift(applied, ONE_TWO_THREE)


def test_the_drift_sees_every_version_not_only_the_highest() -> None:
    assert _drift({}) == SchemaDrift(newer=(), foreign=(), missing=(), pending=(1, 2, 3))
    assert _drift({1: "one"}) == SchemaDrift((), (), (), (2, 3))
    assert _drift({1: "one", 2: "two", 3: "three"}) == SchemaDrift((), (), (), ())
    assert _drift({1: "one", 3: "three"}) == SchemaDrift((), (), (2,), ())  # a gap
    assert _drift({2: "two"}) == SchemaDrift((), (), (1,), (3,))
    # Another build's version 3 and 2 (dict order is the table's: the drift sorts it).
    assert _drift({1: "one", 3: "drei", 2: "zwei"}) == SchemaDrift((), (2, 3), (), ())
    assert _drift({0: "zero", 1: "one"}) == SchemaDrift((), (0,), (), (2, 3))
    # A newer hub's 5 and 4: a downgrade, whatever else holds.
    full = {1: "one", 2: "two", 3: "three"}
    assert _drift({**full, 5: "five", 4: "four"}) == SchemaDrift((4, 5), (), (), ())
    # Only versions this hub knows mark where its own pending ones start.
    assert _drift({1: "one", 4: "four"}) == SchemaDrift((4,), (), (), (2, 3))
    assert schema_drift(dict(full)) == SchemaDrift((), (1, 2, 3), (), (4,))  # not MIGRATIONS' names


def _all_four() -> SchemaDrift:
    return SchemaDrift(newer=(5, 4), foreign=(2,), missing=(1,), pending=(3,))


def test_the_refusal_names_the_database_the_versions_and_what_to_do() -> None:
    where = "sqlite:/var/lib/stetho-hub/hub.db"
    four = _all_four()
    assert refusal(four, where, 3) == (
        f"the database {where} has migrations 5, 4 applied, newer than this hub knows "
        f"(up to 3): run the hub release that migrated it, or {_DOCS}"
    )
    no_newer = dataclasses.replace(four, newer=())
    assert refusal(no_newer, where, 3) == (
        f"the database {where} records migration 2 under another name than this hub's: "
        f"another build of the hub migrated it; {_DOCS}"
    )
    gap = dataclasses.replace(no_newer, foreign=())
    assert refusal(gap, where, 3) == (
        f"the database {where} lacks migration 1 although later ones are applied "
        f"(a gap `stetho hub migrate` never leaves); {_DOCS}"
    )
    pending = dataclasses.replace(gap, missing=(), pending=(2, 3))
    assert refusal(pending, where, 7) == (
        f"the database {where} lacks migrations 2, 3 (this hub needs 7): "
        "run `stetho hub migrate --config ...`"
    )
    assert refusal(SchemaDrift((), (), (), ()), where, 3) is None
    assert refusal(SchemaDrift((4,), (), (), ()), where, 3) == (
        f"the database {where} has migration 4 applied, newer than this hub knows "
        f"(up to 3): run the hub release that migrated it, or {_DOCS}"
    )


def _edit(db: Database, sql: str) -> None:
    """A change made outside the hub (by hand, a restored backup, another build)."""
    with db.transaction() as tx:
        tx.execute(sql)


def test_a_fresh_database_is_refused_until_migrated(db_target: DatabaseTarget) -> None:
    db = connect(db_target)
    where = db_target.describe()
    with pytest.raises(SchemaVersionError) as fresh:
        check_version(db)
    assert str(fresh.value) == (
        f"the database {where} lacks migrations 1, 2, 3, 4 (this hub needs {LATEST}): "
        "run `stetho hub migrate --config ...`"
    )
    assert migrate(db, ONE_TWO_THREE[:1]) == [1]
    with pytest.raises(SchemaVersionError, match=r"lacks migrations 2, 3 \(this hub needs 3\)"):
        check_version(db, ONE_TWO_THREE)
    assert migrate(db, ONE_TWO_THREE) == [2, 3]
    check_version(db, ONE_TWO_THREE)  # exactly this hub's versions: runs
    db.close()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ("DELETE FROM schema_migrations WHERE version = 2", "lacks migration 2 although"),
        ("UPDATE schema_migrations SET name = 'zwei' WHERE version = 2", "records migration 2"),
        (
            "INSERT INTO schema_migrations VALUES (5, 'from a newer hub', '2026-12-06', 'c')",
            "has migration 5 applied, newer than this hub knows (up to 4)",
        ),
    ],
    ids=["gap", "renamed", "newer"],
)
def test_a_drifted_database_is_refused_by_the_check_and_by_migrate(
    db_target: DatabaseTarget, edit: str, words: str
) -> None:
    db = connect(db_target)
    migrate(db)
    _edit(db, edit)
    before = _recorded(db)
    with pytest.raises(SchemaVersionError) as checked:
        check_version(db)
    with pytest.raises(SchemaVersionError) as migrated:
        migrate(db)  # fills no gap out of order, runs beside no newer schema
    assert str(checked.value) == str(migrated.value)
    assert str(checked.value).startswith(f"the database {db_target.describe()} {words}")
    assert _recorded(db) == before
    db.close()


def test_the_refusal_never_shows_the_password(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("migrations_password")
    db = PostgresDatabase(url.replace("hub@", "hub:s3cret@"))  # the server trusts loopback
    with pytest.raises(SchemaVersionError) as fresh:
        check_version(db)
    assert "s3cret" not in str(fresh.value)
    assert str(fresh.value).startswith(
        f"the database postgresql:{url.replace('hub@', 'hub:***@')} "
    )
    db.close()


def test_a_newer_hub_migrating_now_is_seen_once_it_commits(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("migrations_newer_now")
    db = PostgresDatabase(url)
    migrate(db)
    newer = psycopg.connect(url)  # a newer hub, part way through its version 5
    newer.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
    newer.execute("INSERT INTO schema_migrations VALUES (5, 'five', '2026-12-06', 'c')")
    failures: list[BaseException] = []

    def start() -> None:
        try:
            migrate(db)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    worker = threading.Thread(target=start)
    worker.start()
    worker.join(0.5)
    assert worker.is_alive()  # waits for the lock rather than read the schema half-done
    newer.commit()
    worker.join(10)
    assert len(failures) == 1 and isinstance(failures[0], SchemaVersionError)
    assert "has migration 5 applied, newer than this hub knows" in str(failures[0])
    newer.close()
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
    assert applied == [[1, 2, 3, 4]]
    assert current_version(db) == 4 and migrate(db) == []
    holder.close()
    db.close()
