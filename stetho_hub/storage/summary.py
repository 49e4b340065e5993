"""What `stetho hub status` prints: counts read from the database, nothing else."""

from __future__ import annotations

from typing import Any

from stetho_hub.storage.database import Database

_COUNTS = {
    "sites": "SELECT COUNT(*) FROM sites",
    "recordings_metadata": "SELECT COUNT(*) FROM recordings",
    "recordings_audio": "SELECT COUNT(*) FROM audio",
    "recordings_archived": "SELECT COUNT(*) FROM archived",
    "receipts_pending": "SELECT COUNT(*) FROM archived WHERE receipt_sent_at IS NULL",
    "alerts": "SELECT COUNT(*) FROM alerts",
    "acks": "SELECT COUNT(*) FROM acks",
    "exams": "SELECT COUNT(*) FROM exams",
    "users": "SELECT COUNT(*) FROM users",
}


def summary(db: Database) -> dict[str, Any]:
    """Counts per table, the oldest unreceipted recording, refusals by reason."""
    with db.transaction() as tx:
        out: dict[str, Any] = {}
        for name, sql in _COUNTS.items():
            row = tx.one(sql)
            out[name] = int(row[0]) if row is not None else 0
        oldest = tx.one("SELECT MIN(archived_at) FROM archived WHERE receipt_sent_at IS NULL")
        out["oldest_pending_receipt"] = oldest[0] if oldest is not None else None
        waiting = tx.one(
            "SELECT COUNT(*) FROM recordings r WHERE NOT EXISTS"
            " (SELECT 1 FROM archived a WHERE a.recording_id = r.recording_id)"
        )
        out["recordings_waiting_for_audio"] = int(waiting[0]) if waiting is not None else 0
        refusals = tx.all("SELECT reason, count FROM refusals ORDER BY reason")
        out["refused"] = {str(reason): int(count) for reason, count in refusals}
    return out
