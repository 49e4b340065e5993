"""Versioned schema migrations, applied in order, each in its own transaction.

`schema_migrations` records every version applied. A migration is never edited once
released: a change is a new version. Several hub processes may start together, so the
check-and-apply runs under a lock (SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from stetho_hub.errors import SchemaVersionError
from stetho_hub.storage.database import Database, Transaction

ADVISORY_LOCK_KEY = 0x5737_4855  # any constant; names the hub's migration lock in pg_locks


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "archive, receipts, users", _V1),
    Migration(2, "console audit log", _V2),
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


def _lock(db: Database, tx: Transaction) -> None:
    if db.dialect == "postgresql":
        tx.one("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK_KEY,))


def current_version(db: Database) -> int:
    with db.transaction() as tx:
        _ensure_table(tx)
        row = tx.one("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row is not None and row[0] is not None else 0


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    applied: list[int] = []
    for migration in migrations:
        with db.transaction() as tx:
            _lock(db, tx)
            _ensure_table(tx)
            done = tx.one("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,))
            if done is not None:
                continue
            for statement in migration.statements:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, _utcnow()),
            )
            applied.append(migration.version)
    return applied


def check_version(db: Database) -> None:
    """Refuse to run against a database this hub does not know (newer) or has not migrated."""
    version = current_version(db)
    if version > LATEST:
        raise SchemaVersionError(
            f"the database is at schema version {version}, newer than this hub knows "
            f"({LATEST}); upgrade the hub"
        )
    if version < LATEST:
        raise SchemaVersionError(
            f"the database is at schema version {version}, this hub needs {LATEST}: "
            "run `stetho hub migrate --config ...`"
        )
