"""Each migration's checksum (SHA-256 of its SQL as applied), recorded and compared: one edited
after it was applied is refused on every opening; a database recorded before checksums is
backfilled by migration 4. And `open_database`'s two modes, direct.

Real SQLite files and a real PostgreSQL on loopback (`db_target`, SQLite alone under `make
mutate`; the PostgreSQL catalogue's lookup takes `postgres_server`, run there too).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

import pytest

from stetho_hub.errors import SchemaVersionError
from stetho_hub.storage import migrate_database, open_database
from stetho_hub.storage.database import DatabaseTarget, connect
from stetho_hub.storage.migrations import (
    MIGRATIONS,
    Migration,
    SchemaDrift,
    check_version,
    migrate,
    refusal,
    schema_drift,
)
from stetho_testkit.postgres import PostgresServer
from tests.stetho_hub.schema_edits import (
    BEFORE_CHECKSUMS,
    changed_refusal,
    edit_outside,
    migrated_outside,
    pending_refusal,
    recorded_checksums,
)

# ---- checksums -------------------------------------------------------------------------------


def test_a_checksum_is_the_sha256_of_the_sql_as_applied() -> None:
    one = Migration(1, "one", ("CREATE TABLE one (x TEXT)", "CREATE INDEX one_x ON one (x)"))
    script = b"CREATE TABLE one (x TEXT);\nCREATE INDEX one_x ON one (x);\n"
    assert one.checksum == hashlib.sha256(script).hexdigest()
    assert dataclasses.replace(one, name="renamed").checksum == one.checksum  # the SQL only
    assert Migration(1, "one", ()).checksum == hashlib.sha256(b"").hexdigest()


def test_the_drift_compares_every_recorded_checksum() -> None:
    names = {m.version: m.name for m in MIGRATIONS}
    sums: dict[int, str | None] = {m.version: m.checksum for m in MIGRATIONS}
    clean = SchemaDrift((), (), (), ())
    assert schema_drift(names, MIGRATIONS, None) == clean  # no column yet: names alone
    assert schema_drift(names, MIGRATIONS, sums) == clean
    edited = {**sums, 3: "0" * 64, 1: None}  # another SQL, and none at all
    assert schema_drift(names, MIGRATIONS, edited).changed == (1, 3)
    newer = {**sums, 5: "f" * 64}  # a newer hub's: reported as newer, not as changed
    assert schema_drift({**names, 5: "five"}, MIGRATIONS, newer) == SchemaDrift((5,), (), (), ())


def test_the_refusal_of_a_changed_migration_says_which_and_what_to_do() -> None:
    where = "sqlite:/var/lib/stetho-hub/hub.db"
    assert refusal(SchemaDrift((), (), (), (), changed=(2,)), where, 4) == changed_refusal(where, 2)
    both = SchemaDrift((), (), (), (), changed=(1, 3))
    assert refusal(both, where, 4) == changed_refusal(where, 1).replace(
        "migration 1", "migrations 1, 3"
    )
    # A renamed version is graver (another build): said first; a changed one before a gap.
    renamed = SchemaDrift((), (2,), (3,), (), changed=(1,))
    assert "records migration 2 under another name" in str(refusal(renamed, where, 4))
    gap = SchemaDrift((), (), (3,), (4,), changed=(1,))
    assert refusal(gap, where, 4) == changed_refusal(where, 1)


def test_each_version_is_recorded_with_its_checksum(db_target: DatabaseTarget) -> None:
    db = open_database(db_target, migrating=True)
    assert recorded_checksums(db) == {m.version: m.checksum for m in MIGRATIONS}
    db.close()


def _backfilled(target: DatabaseTarget) -> None:
    migrated_outside(target, BEFORE_CHECKSUMS)  # as the release before checksums left it
    db = connect(target)
    with pytest.raises(SchemaVersionError) as pending:
        check_version(db)
    assert str(pending.value) == pending_refusal(target.describe())
    assert migrate(db) == [4]
    assert recorded_checksums(db) == {m.version: m.checksum for m in MIGRATIONS}
    check_version(db)
    db.close()


def test_a_database_recorded_before_checksums_is_backfilled(db_target: DatabaseTarget) -> None:
    _backfilled(db_target)


def test_on_postgresql_a_database_before_checksums_is_backfilled(
    postgres_server: PostgresServer,
) -> None:
    # postgres_server, not db_target: `make mutate` runs SQLite alone through db_target, and
    # PostgreSQL finds the checksum column through its own catalogue.
    target = DatabaseTarget("postgresql", postgres_server.create_database("policy_backfill"))
    _backfilled(target)
    edit_outside(target, "UPDATE schema_migrations SET checksum = NULL WHERE version = 4")
    with pytest.raises(SchemaVersionError) as changed:
        open_database(target)
    assert str(changed.value) == changed_refusal(target.describe(), 4)


def test_a_new_database_records_no_checksum_before_the_column_exists(tmp_path: Path) -> None:
    # A list without the checksum migration (a test's, an older hub's) records names alone.
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    migrated_outside(target, BEFORE_CHECKSUMS)
    db = connect(target)
    with db.transaction() as tx:
        assert tx.all("SELECT version, name FROM schema_migrations ORDER BY version") == [
            (m.version, m.name) for m in BEFORE_CHECKSUMS
        ]
        columns = {r[1] for r in tx.all("PRAGMA table_info(schema_migrations)")}
    assert columns == {"version", "name", "applied_at"}
    check_version(db, BEFORE_CHECKSUMS)
    db.close()


@pytest.mark.parametrize("version", [1, 3, 4])
def test_a_migration_edited_after_it_was_applied_is_refused(
    db_target: DatabaseTarget, version: int
) -> None:
    migrated_outside(db_target)
    # This hub's build has the version's SQL edited (a released migration changed).
    edited = tuple(
        dataclasses.replace(m, statements=(*m.statements, "SELECT 1"))
        if m.version == version
        else m
        for m in MIGRATIONS
    )
    db = connect(db_target)
    where = db_target.describe()
    for attempt in (check_version, migrate):
        with pytest.raises(SchemaVersionError) as refused:
            attempt(db, edited)
        assert str(refused.value) == changed_refusal(where, version)
    db.close()


@pytest.mark.parametrize("checksum", ["0", None], ids=["another", "none"])
def test_a_changed_checksum_is_refused_on_opening(
    db_target: DatabaseTarget, checksum: str | None
) -> None:
    migrated_outside(db_target)
    edit_outside(
        db_target, "UPDATE schema_migrations SET checksum = ? WHERE version = 2", (checksum,)
    )
    for migrating in (False, True):
        with pytest.raises(SchemaVersionError) as refused:
            open_database(db_target, migrating=migrating)
        assert str(refused.value) == changed_refusal(db_target.describe(), 2)


def test_the_two_modes_of_opening(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    with pytest.raises(SchemaVersionError) as fresh:
        open_database(target)  # checking only: a new file is refused, left unmigrated
    assert str(fresh.value).startswith(f"the database {target.describe()} lacks migrations 1, 2")
    with caplog.at_level(logging.INFO, logger="stetho_hub.storage.migrations"):
        db = open_database(target, migrating=True)
        db.close()
        open_database(target, migrating=True).close()  # nothing to apply: nothing said
    assert caplog.messages == ["event=database_migrated versions=1,2,3,4"]
    open_database(target).close()


def test_migrate_database_says_what_it_applied(tmp_path: Path) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    migrated_outside(target, BEFORE_CHECKSUMS)
    assert migrate_database(target) == [4]
    assert migrate_database(target) == []
    edit_outside(target, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 4")
    with pytest.raises(SchemaVersionError, match="records migration 4 with another checksum"):
        migrate_database(target)


def test_the_backfill_runs_only_in_the_transaction_that_adds_the_column(tmp_path: Path) -> None:
    # A later migration's own writes to the records stand: nothing backfills over them.
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    odd = Migration(5, "five", ("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1",))
    migrated_outside(target, (*MIGRATIONS, odd))
    db = connect(target)
    assert recorded_checksums(db) == {
        **{m.version: m.checksum for m in MIGRATIONS},
        1: "x",
        5: odd.checksum,
    }
    db.close()
