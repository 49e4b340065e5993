"""What the doctor's console reads and writes: the inbox, one recording, the audit log.

Every read takes the reader's sites (None for an administrator: every site) and filters in
SQL, so a doctor's query never returns another care home's rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stetho_hub.storage.database import Database

LEVEL_ORDER = "CASE a.level WHEN 'urgent' THEN 0 WHEN 'review' THEN 1 ELSE 2 END"


@dataclass(frozen=True)
class InboxRow:
    alert_id: str
    recording_id: str
    site: str
    level: str
    recorded_at: str
    resident: str
    auscultation_site: str
    flags: tuple[dict[str, Any], ...]  # the alert's flags as sent (code, reason, value, ...)
    archived: bool
    exam_id: str | None = None  # the exam the recording belongs to, if any
    age_band: str | None = None  # which rate ranges the triage used (absent: adult)


def _site_filter(sites: tuple[str, ...] | None, column: str) -> tuple[str, list[Any]]:
    if sites is None:
        return "1 = 1", []
    if not sites:
        return "1 = 0", []
    return f"{column} IN ({', '.join('?' for _ in sites)})", list(sites)


def inbox(db: Database, sites: tuple[str, ...] | None, limit: int = 200) -> list[InboxRow]:
    """Alerts, most urgent first, then newest first."""
    where, params = _site_filter(sites, "a.site")
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT a.alert_id, a.recording_id, a.site, a.level, a.recorded_at, a.payload,"  # noqa: S608 - placeholders only
            " (SELECT COUNT(*) FROM archived r WHERE r.recording_id = a.recording_id),"
            " (SELECT r.exam_id FROM recordings r WHERE r.recording_id = a.recording_id)"
            f" FROM alerts a WHERE {where}"
            f" ORDER BY {LEVEL_ORDER}, a.recorded_at DESC LIMIT ?",
            [*params, limit],
        )
    out = []
    for alert_id, rid, site, level, recorded_at, payload, archived, exam_id in rows:
        doc = json.loads(payload)
        flags = tuple(f for f in doc.get("flags", []) if isinstance(f, dict))
        band = doc["age_band"] if isinstance(doc.get("age_band"), str) else None
        out.append(InboxRow(
            str(alert_id), str(rid), str(site), str(level), str(recorded_at),
            str(doc.get("resident", "")), str(doc.get("auscultation_site", "")), flags,
            bool(archived), str(exam_id) if exam_id else None, band,
        ))  # fmt: skip
    return out


def newest_alert_at(db: Database, sites: tuple[str, ...] | None) -> str | None:
    where, params = _site_filter(sites, "site")
    with db.transaction() as tx:
        row = tx.one(f"SELECT MAX(received_at) FROM alerts WHERE {where}", params)  # noqa: S608
    return str(row[0]) if row is not None and row[0] is not None else None


@dataclass(frozen=True)
class RecordingView:
    recording_id: str
    site: str
    metadata: dict[str, Any]
    audio_sha256: str | None


def recording(
    db: Database, recording_id: str, sites: tuple[str, ...] | None
) -> RecordingView | None:
    """One recording the reader may see, or None (unknown, or another care home's)."""
    where, params = _site_filter(sites, "r.site")
    with db.transaction() as tx:
        row = tx.one(
            "SELECT r.site, r.payload, a.audio_sha256 FROM recordings r"  # noqa: S608 - placeholders
            " LEFT JOIN archived a ON a.recording_id = r.recording_id"
            f" WHERE r.recording_id = ? AND {where}",
            [recording_id, *params],
        )
    if row is None:
        return None
    return RecordingView(recording_id, str(row[0]), json.loads(row[1]), row[2])


@dataclass(frozen=True)
class EarlierRow:
    recording_id: str
    started_at: str
    auscultation_site: str
    triage_level: str | None


def same_resident(db: Database, view: RecordingView, limit: int = 50) -> list[EarlierRow]:
    """The resident's other recordings at the same care home, newest first (the reader may
    see them: same care home as `view`, which was already checked)."""
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT recording_id, started_at, auscultation_site, triage_level FROM recordings"
            " WHERE site = ? AND resident = ? AND recording_id <> ?"
            " ORDER BY started_at DESC LIMIT ?",
            (view.site, str(view.metadata.get("resident")), view.recording_id, limit),
        )
    return [EarlierRow(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


@dataclass(frozen=True)
class HomeRow:
    site: str
    sources: tuple[tuple[str, str, str | None, dict[str, Any]], ...]  # id, state, at, detail
    archived: int
    waiting_for_audio: int
    newest_recording: str | None


@dataclass(frozen=True)
class LatestExam:
    """One exam of the care homes' page: a routine exam raises no alert, so the inbox never
    links it; this list does."""

    exam_id: str
    site: str
    exam: dict[str, Any]  # the latest stetho.exam message, as sent
    answered: bool  # a doctor has answered it


def latest_exams(db: Database, sites: tuple[str, ...] | None, limit: int = 20) -> list[LatestExam]:
    """The reader's care homes' most recently updated exams, newest first."""
    where, params = _site_filter(sites, "e.site")
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT e.exam_id, e.site, e.payload, EXISTS (SELECT 1 FROM exam_answers a"  # noqa: S608
            f" WHERE a.exam_id = e.exam_id) FROM exams e WHERE {where}"
            " ORDER BY e.updated_at DESC, e.exam_id LIMIT ?",
            [*params, limit],
        )
    return [LatestExam(str(i), str(s), json.loads(p), bool(a)) for i, s, p, a in rows]


def homes(db: Database, sites: tuple[str, ...] | None) -> list[HomeRow]:
    """Each visible care home: its agents' and stethoscopes' last status, archive counts."""
    where, params = _site_filter(sites, "site")
    with db.transaction() as tx:
        names = [str(r[0]) for r in tx.all(
            f"SELECT site FROM sites WHERE {where} ORDER BY site", params  # noqa: S608
        )]  # fmt: skip
        out = []
        for site in names:
            status = tx.all(
                "SELECT source, state, at, payload FROM status WHERE site = ? ORDER BY source",
                (site,),
            )
            archived = tx.one("SELECT COUNT(*) FROM archived WHERE site = ?", (site,))
            waiting = tx.one(
                "SELECT COUNT(*) FROM recordings r WHERE r.site = ? AND NOT EXISTS"
                " (SELECT 1 FROM archived a WHERE a.recording_id = r.recording_id)",
                (site,),
            )
            newest = tx.one("SELECT MAX(started_at) FROM recordings WHERE site = ?", (site,))
            out.append(HomeRow(
                site,
                tuple((str(s), str(st), at, json.loads(p).get("detail", {}))
                      for s, st, at, p in status),
                int(archived[0]) if archived else 0,
                int(waiting[0]) if waiting else 0,
                newest[0] if newest else None,
            ))  # fmt: skip
    return out


def audit(
    db: Database, username: str, action: str, site: str | None, target: str | None, client: str
) -> None:
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO audit_log (at, username, action, site, target, client)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now, username, action, site, target, client[:64]),
        )


def audit_entries(db: Database, limit: int = 10_000) -> list[tuple[str, ...]]:
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT at, username, action, site, target, client FROM audit_log"
            " ORDER BY at DESC LIMIT ?",
            (limit,),
        )
    return [tuple("" if v is None else str(v) for v in row) for row in rows]


def alert_ids(db: Database, recording_id: str) -> list[str]:
    """The alerts a care home raised on this recording (a doctor's decision acknowledges them)."""
    with db.transaction() as tx:
        rows = tx.all("SELECT alert_id FROM alerts WHERE recording_id = ?", [recording_id])
    return [str(row[0]) for row in rows]
