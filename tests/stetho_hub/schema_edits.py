"""What the schema tests share: the refusals' sentences, and a database changed, migrated or
read outside the hub."""

from __future__ import annotations

from stetho_hub.storage.database import Database, DatabaseTarget, connect
from stetho_hub.storage.migrations import LATEST, MIGRATIONS, Migration, migrate

SCHEMA_DOCS = 'see docs/hospital.md §3, "Schema checks"'
BEFORE_CHECKSUMS = MIGRATIONS[:3]  # what the hub released before migration 4 applied


def pending_refusal(where: str) -> str:
    return (
        f"the database {where} lacks migration 4 (this hub needs {LATEST}): "
        "run `stetho hub migrate --config ...`"
    )


def changed_refusal(where: str, version: int) -> str:
    return (
        f"the database {where} records migration {version} with another checksum than this "
        f"hub's SQL (edited after it was applied): run the hub release that applied it, or "
        f"{SCHEMA_DOCS}"
    )


def edit_outside(target: DatabaseTarget, sql: str, params: tuple[object, ...] = ()) -> None:
    """A change made outside the hub: by hand, a restored backup, another build."""
    db = connect(target)
    try:
        with db.transaction() as tx:
            tx.execute(sql, params)
    finally:
        db.close()


def migrated_outside(
    target: DatabaseTarget, migrations: tuple[Migration, ...] = MIGRATIONS
) -> None:
    db = connect(target)
    try:
        migrate(db, migrations)
    finally:
        db.close()


def recorded_checksums(db: Database) -> dict[int, str | None]:
    with db.transaction() as tx:
        return dict(tx.all("SELECT version, checksum FROM schema_migrations ORDER BY version"))
