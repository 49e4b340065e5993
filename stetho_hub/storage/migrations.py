"""Versioned schema migrations, applied in order, each in its own transaction, and the one
policy by which every hub process opens its database (`open_database`).

`schema_migrations` records every version applied, with its name and the SHA-256 of its SQL. A
migration is never edited once released: a change is a new version. Several hub processes may
start together, so the check-and-apply runs under a lock (SQLite's BEGIN IMMEDIATE, a
PostgreSQL advisory lock). Every record is compared with this hub's list, not only the highest:
a gap, a number recorded under another name or checksum, or one newer than the hub stops it
before it writes anything. The check runs on every connection the hub opens, the first and each
reconnection, whoever opens it: the console, the FHIR export, the ingest, each command.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from stetho_hub.errors import SchemaVersionError
from stetho_hub.storage.database import Database, DatabaseTarget, Transaction, connect

log = logging.getLogger(__name__)
ADVISORY_LOCK_KEY = 0x5737_4855  # any constant; names the hub's migration lock in pg_locks


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]

    @property
    def checksum(self) -> str:
        """SHA-256 (hex) of the SQL as applied: each statement in order, ending in ";\\n"."""
        script = "".join(f"{statement};\n" for statement in self.statements)
        return hashlib.sha256(script.encode("utf-8")).hexdigest()


_V1 = (
    """CREATE TABLE sites (
        site TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL
    )""",
    """CREATE TABLE exams (
        exam_id TEXT PRIMARY KEY,
        site TEXT NOT NULL REFERENCES sites(site),
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # Every distinct exam message (one when it opens, one per site recorded, one at close).
    """CREATE TABLE exam_messages (
        exam_id TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (exam_id, payload_sha256)
    )""",
    """CREATE TABLE recordings (
        recording_id TEXT PRIMARY KEY,
        site TEXT NOT NULL REFERENCES sites(site),
        agent TEXT NOT NULL,
        device TEXT NOT NULL,
        resident TEXT NOT NULL,
        kind TEXT NOT NULL,
        auscultation_site TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        exam_id TEXT,
        partial INTEGER NOT NULL,
        pcm_sha256 TEXT NOT NULL,
        audio_size BIGINT NOT NULL,
        triage_level TEXT,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    "CREATE INDEX recordings_site_started ON recordings (site, started_at)",
    "CREATE INDEX recordings_resident ON recordings (site, resident, started_at)",
    "CREATE INDEX recordings_exam ON recordings (exam_id)",
    """CREATE TABLE audio (
        recording_id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        device TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    """CREATE TABLE archived (
        recording_id TEXT PRIMARY KEY REFERENCES recordings(recording_id),
        site TEXT NOT NULL,
        device TEXT NOT NULL,
        audio_sha256 TEXT NOT NULL,
        pcm_sha256 TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        archived_at TEXT NOT NULL,
        receipt_sent_at TEXT
    )""",
    "CREATE INDEX archived_receipt_pending ON archived (receipt_sent_at, archived_at)",
    """CREATE TABLE triage (
        recording_id TEXT PRIMARY KEY,
        site TEXT NOT NULL REFERENCES sites(site),
        level TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    """CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        recording_id TEXT NOT NULL,
        site TEXT NOT NULL REFERENCES sites(site),
        level TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    "CREATE INDEX alerts_inbox ON alerts (site, level, recorded_at)",
    """CREATE TABLE acks (
        alert_id TEXT NOT NULL,
        by_whom TEXT NOT NULL,
        at TEXT NOT NULL,
        site TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (alert_id, by_whom, at)
    )""",
    # The latest status of each agent and stethoscope (retained on the broker).
    """CREATE TABLE status (
        site TEXT NOT NULL REFERENCES sites(site),
        source TEXT NOT NULL,
        agent TEXT NOT NULL,
        device TEXT,
        state TEXT NOT NULL,
        at TEXT,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (site, source)
    )""",
    # Counts, not copies: a flood of bad messages must not fill the database.
    """CREATE TABLE refusals (
        reason TEXT PRIMARY KEY,
        count BIGINT NOT NULL,
        last_topic TEXT NOT NULL,
        last_at TEXT NOT NULL
    )""",
    """CREATE TABLE users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE assignments (
        username TEXT NOT NULL REFERENCES users(username),
        site TEXT NOT NULL,
        PRIMARY KEY (username, site)
    )""",
)

_V2 = (
    # Who looked at or listened to what, and every sign-in: an administrator reads and exports it.
    """CREATE TABLE audit_log (
        at TEXT NOT NULL,
        username TEXT NOT NULL,
        action TEXT NOT NULL,
        site TEXT,
        target TEXT,
        client TEXT
    )""",
    "CREATE INDEX audit_log_at ON audit_log (at)",
)

_V3 = (
    # Doctors' answers to exams (stetho.exam-answer), kept as sent: the FHIR export's decision.
    """CREATE TABLE exam_answers (
        exam_id TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        site TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (exam_id, payload_sha256)
    )""",
)

_V4 = (
    # Each version's checksum beside its name: a released migration edited since is seen. The
    # rows recorded before the column existed get this hub's checksums as it is added (_record).
    "ALTER TABLE schema_migrations ADD COLUMN checksum TEXT",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "archive, receipts, users", _V1),
    Migration(2, "console audit log", _V2),
    Migration(3, "doctors' exam answers", _V3),
    Migration(4, "migration checksums", _V4),
)
LATEST = MIGRATIONS[-1].version


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _ensure_table(tx: Transaction) -> None:
    tx.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )"""
    )


def _has_checksums(db: Database, tx: Transaction) -> bool:
    """Whether `schema_migrations` has its checksum column yet (migration 4 adds it)."""
    if db.dialect == "postgresql":
        sql = (
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'schema_migrations' AND column_name = 'checksum'"
        )
    else:
        sql = "SELECT 1 FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'"
    return tx.one(sql) is not None


def _lock(db: Database, tx: Transaction) -> None:
    if db.dialect == "postgresql":
        tx.one("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK_KEY,))


def current_version(db: Database) -> int:
    with db.transaction() as tx:
        _ensure_table(tx)
        row = tx.one("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row is not None and row[0] is not None else 0


@dataclass(frozen=True)
class SchemaDrift:
    """How the migrations a database records differ from a hub's list: sorted versions."""

    newer: tuple[int, ...]  # beyond the hub's last: a newer hub applied them (a downgrade)
    foreign: tuple[int, ...]  # a number the hub knows, recorded under another name
    missing: tuple[int, ...]  # the hub's, absent below one applied: a gap
    pending: tuple[int, ...]  # the hub's, after the last applied: `stetho hub migrate`
    changed: tuple[int, ...] = ()  # the hub's, recorded with another checksum (or none)


def schema_drift(
    applied: Mapping[int, str],
    migrations: tuple[Migration, ...] = MIGRATIONS,
    checksums: Mapping[int, str | None] | None = None,
) -> SchemaDrift:
    """Compare every applied version and name (`applied`) with `migrations`, none skipped,
    and each recorded checksum (`checksums`; None: the database has no such column yet).

    `migrations` is in order, as MIGRATIONS is; `top` counts only versions the hub knows, so
    a newer hub's versions do not turn this hub's own pending ones into a gap.
    """
    known = {m.version: m.name for m in migrations}
    sums = {m.version: m.checksum for m in migrations}
    last = max(known)
    top = max((v for v in applied if v in known), default=0)
    return SchemaDrift(
        newer=tuple(sorted(v for v in applied if v > last)),
        foreign=tuple(
            sorted(v for v, name in applied.items() if v <= last and known.get(v) != name)
        ),
        missing=tuple(v for v in known if v < top and v not in applied),
        pending=tuple(v for v in known if v > top),
        changed=tuple(
            sorted(v for v, c in (checksums or {}).items() if v in sums and c != sums[v])
        ),
    )


def _versions(versions: tuple[int, ...]) -> str:
    s = "s" if len(versions) > 1 else ""
    return f"migration{s} {', '.join(map(str, versions))}"


def refusal(drift: SchemaDrift, where: str, last: int) -> str | None:
    """The sentence that stops the hub (None: it may run), the gravest difference first."""
    docs = 'see docs/hospital.md §3, "Schema checks"'
    if drift.newer:
        return (
            f"the database {where} has {_versions(drift.newer)} applied, newer than this hub "
            f"knows (up to {last}): run the hub release that migrated it, or {docs}"
        )
    if drift.foreign:
        return (
            f"the database {where} records {_versions(drift.foreign)} under another name than "
            f"this hub's: another build of the hub migrated it; {docs}"
        )
    if drift.changed:
        return (
            f"the database {where} records {_versions(drift.changed)} with another checksum "
            f"than this hub's SQL (edited after it was applied): run the hub release that "
            f"applied it, or {docs}"
        )
    if drift.missing:
        return (
            f"the database {where} lacks {_versions(drift.missing)} although later ones are "
            f"applied (a gap `stetho hub migrate` never leaves); {docs}"
        )
    if drift.pending:
        return (
            f"the database {where} lacks {_versions(drift.pending)} (this hub needs {last}): "
            "run `stetho hub migrate --config ...`"
        )
    return None


def _refuse_drift(db: Database, migrations: tuple[Migration, ...], pending_ok: bool) -> None:
    # Under the lock: a newer hub migrating now is seen once it commits, not just before.
    with db.transaction() as tx:
        _lock(db, tx)
        _ensure_table(tx)
        # One read of every record; before migration 4 adds the column, NULL in its place.
        checksummed = _has_checksums(db, tx)
        rows = tx.all(
            "SELECT version, name, checksum FROM schema_migrations"
            if checksummed
            else "SELECT version, name, NULL FROM schema_migrations"
        )
    sums = {int(v): c for v, _, c in rows} if checksummed else None  # None: no column yet
    drift = schema_drift({int(v): str(n) for v, n, _ in rows}, migrations, sums)
    if pending_ok:
        drift = dataclasses.replace(drift, pending=())
    problem = refusal(drift, db.target.describe(), migrations[-1].version)
    if problem is not None:
        raise SchemaVersionError(problem)


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now.

    A database that `check_version` would refuse for any reason but pending versions is
    refused before anything is applied: filling a gap out of order, or running beside a
    newer hub's schema, is what the check exists to stop.
    """
    _refuse_drift(db, migrations, pending_ok=True)
    applied: list[int] = []
    for migration in migrations:
        with db.transaction() as tx:
            _lock(db, tx)
            _ensure_table(tx)
            done = tx.one("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,))
            if done is not None:
                continue
            had_checksums = _has_checksums(db, tx)
            for statement in migration.statements:
                tx.execute(statement)
            _record(db, tx, migration, migrations, had_checksums)
            applied.append(migration.version)
    return applied


def _record(
    db: Database,
    tx: Transaction,
    migration: Migration,
    migrations: tuple[Migration, ...],
    had_checksums: bool,
) -> None:
    if not _has_checksums(db, tx):  # before the version that adds the column
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, _utcnow()),
        )
        return
    if not had_checksums:
        # This version added the column. The ones recorded before it (their names checked
        # just now, their SQL unchanged since release) get this hub's checksums: from here on
        # every row has one, and an absent one is refused as a changed one.
        for earlier in migrations:
            tx.execute(
                "UPDATE schema_migrations SET checksum = ? WHERE version = ?",
                (earlier.checksum, earlier.version),
            )
    tx.execute(
        "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (?, ?, ?, ?)",
        (migration.version, migration.name, _utcnow(), migration.checksum),
    )


def check_version(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
    """Refuse, in one sentence, a database whose applied migrations are not exactly this
    hub's: newer, recorded under another name, with a gap, or not all applied yet."""
    _refuse_drift(db, migrations, pending_ok=False)


def _migrate_on_connect(db: Database) -> None:
    applied = migrate(db)
    if applied:
        log.info("event=database_migrated versions=%s", ",".join(map(str, applied)))


def open_database(target: DatabaseTarget, *, migrating: bool = False) -> Database:
    """The database, opened for use. Each connection, the first and every reconnection, passes
    `check_version` before anything uses it, or with `migrating` (the ingest of `stetho hub
    run`) `migrate`, which refuses every drift but pending versions. A refusal closes the
    connection and raises SchemaVersionError: its sentence names the database, no password."""
    return connect(target, _migrate_on_connect if migrating else check_version)


def migrate_database(target: DatabaseTarget) -> list[int]:
    """`stetho hub migrate`: apply the pending migrations; return the versions applied now."""
    db = connect(target)
    try:
        return migrate(db)
    finally:
        db.close()
