"""The exams and residents of one care home, kept durably on the Pi (SQLite, synchronous).

Call it from one worker thread at a time (the async ExamService does, via asyncio.to_thread).
Each exam is saved whole after every change, so a restart or a power cut reloads exactly the
last committed state; recordings are rows of their own and are never overwritten.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from edge_agent.exam._db import open_private_db, transaction, translated
from edge_agent.exam.errors import ResidentNotHereError, UnknownExamError
from edge_agent.exam.model import Exam, ExamState, SiteRecording
from edge_agent.exam.residents import Resident, check_ref

_SCHEMA = """
CREATE TABLE IF NOT EXISTS residents (
    ref TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at REAL NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE TABLE IF NOT EXISTS exams (
    exam_id TEXT PRIMARY KEY,
    resident TEXT NOT NULL REFERENCES residents(ref),
    staff TEXT NOT NULL,
    reason TEXT NOT NULL,
    protocol TEXT NOT NULL,
    sites TEXT NOT NULL,
    age_band TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS exams_by_state ON exams(state, opened_at);
CREATE TABLE IF NOT EXISTS exam_recordings (
    recording_id TEXT PRIMARY KEY,
    exam_id TEXT NOT NULL REFERENCES exams(exam_id),
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_by_exam ON exam_recordings(exam_id, seq);
CREATE TABLE IF NOT EXISTS answers (
    exam_id TEXT NOT NULL REFERENCES exams(exam_id),
    body TEXT NOT NULL,
    received_at REAL NOT NULL DEFAULT (strftime('%s', 'now'))
);
"""
MAX_SEARCH = 50
FOLDER = "exams"  # beside the outbox, in a folder of its own that only the agent may open


SOCKET_NAME = "exam.sock"
"""The local API's socket in the exam folder (`stetho exam` talks to the agent there)."""


def exam_dir(state_dir: Path) -> Path:
    """Where the exams, the staff accounts and the local API socket live."""
    return state_dir / FOLDER


class ExamStore:
    def __init__(self, path: Path) -> None:
        self._db = open_private_db(path, _SCHEMA)
        self._lock = threading.Lock()  # one statement sequence at a time across threads

    def close(self) -> None:
        self._db.close()

    # Residents ------------------------------------------------------------------------------

    def add_residents(self, residents: list[Resident]) -> tuple[int, int]:
        """Insert or relabel; returns (added, updated). All or nothing."""
        added = updated = 0
        with self._lock, transaction(self._db, "saving residents") as db:
            for r in residents:
                known = db.execute("SELECT 1 FROM residents WHERE ref=?", (r.ref,)).fetchone()
                db.execute(
                    "INSERT INTO residents(ref, label) VALUES(?, ?) "
                    "ON CONFLICT(ref) DO UPDATE SET label=excluded.label",
                    (r.ref, r.label),
                )
                updated, added = (updated + 1, added) if known else (updated, added + 1)
        return added, updated

    def resident(self, ref: str) -> Resident:
        check_ref(ref)
        with self._lock, translated("reading residents"):
            row = self._db.execute(
                "SELECT ref, label FROM residents WHERE ref=?", (ref,)
            ).fetchone()
        if row is None:
            raise ResidentNotHereError(ref)
        return Resident(row[0], row[1])

    def search_residents(self, text: str = "", limit: int = MAX_SEARCH) -> list[Resident]:
        pattern = "%" + text.strip().replace("%", "").replace("_", "") + "%"
        with self._lock, translated("searching residents"):
            rows = self._db.execute(
                "SELECT ref, label FROM residents WHERE ref LIKE ? OR label LIKE ? "
                "ORDER BY label LIMIT ?",
                (pattern, pattern, min(limit, MAX_SEARCH)),
            ).fetchall()
        return [Resident(a, b) for a, b in rows]

    # Exams ----------------------------------------------------------------------------------

    def save_exam(self, exam: Exam) -> None:
        """Insert or update the exam's row and add its new recordings, in one transaction."""
        with self._lock, transaction(self._db, f"saving exam {exam.exam_id}") as db:
            db.execute(
                "INSERT INTO exams(exam_id, resident, staff, reason, protocol, sites, age_band, "
                "state, opened_at, closed_at) VALUES(?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(exam_id) DO UPDATE SET state=excluded.state, "
                "closed_at=excluded.closed_at",
                (str(exam.exam_id), exam.resident, exam.staff, exam.reason, exam.protocol,
                 json.dumps(exam.sites), exam.age_band, exam.state.value, exam.opened_at,
                 exam.closed_at),
            )  # fmt: skip
            for seq, rec in enumerate(exam.recordings):
                db.execute(
                    "INSERT OR IGNORE INTO exam_recordings(recording_id, exam_id, seq, body) "
                    "VALUES(?,?,?,?)",
                    (str(rec.recording_id), str(exam.exam_id), seq, _recording_json(rec)),
                )

    def add_answer(self, exam_id: uuid.UUID, body: dict[str, Any]) -> None:
        with self._lock, transaction(self._db, "saving an answer") as db:
            db.execute(
                "INSERT INTO answers(exam_id, body) VALUES(?, ?)", (str(exam_id), json.dumps(body))
            )

    def answers(self, exam_id: uuid.UUID) -> list[dict[str, Any]]:
        with self._lock, translated("reading answers"):
            rows = self._db.execute(
                "SELECT body FROM answers WHERE exam_id=? ORDER BY rowid", (str(exam_id),)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def exam(self, exam_id: uuid.UUID) -> Exam:
        with self._lock, translated("reading an exam"):
            row = self._db.execute(
                "SELECT * FROM exams WHERE exam_id=?", (str(exam_id),)
            ).fetchone()
            if row is None:
                raise UnknownExamError(f"no exam {exam_id} on this Pi")
            return self._load(row)

    def exams(self, states: tuple[ExamState, ...] = (), limit: int = 100) -> list[Exam]:
        """Exams in the given states (all if empty), newest first."""
        wanted = [s.value for s in states] or [s.value for s in ExamState]
        marks = ",".join("?" * len(wanted))
        with self._lock, translated("listing exams"):
            rows = self._db.execute(
                f"SELECT * FROM exams WHERE state IN ({marks}) "  # noqa: S608 - marks are "?"
                "ORDER BY opened_at DESC LIMIT ?",
                (*wanted, limit),
            ).fetchall()
            return [self._load(r) for r in rows]

    def _load(self, row: sqlite3.Row | tuple[Any, ...]) -> Exam:
        (exam_id, resident, staff, reason, protocol, sites, age_band, state, opened, closed) = row
        recordings = self._db.execute(
            "SELECT body FROM exam_recordings WHERE exam_id=? ORDER BY seq", (exam_id,)
        ).fetchall()
        return Exam(
            exam_id=uuid.UUID(exam_id), resident=resident, staff=staff, reason=reason,
            protocol=protocol, sites=tuple(json.loads(sites)), opened_at=opened,
            age_band=age_band, state=ExamState(state), closed_at=closed,
            recordings=[_recording_from(json.loads(r[0])) for r in recordings],
        )  # fmt: skip


def _recording_json(rec: SiteRecording) -> str:
    return json.dumps({
        "recording_id": str(rec.recording_id), "site": rec.site, "device": rec.device,
        "started_at": rec.started_at, "duration_s": rec.duration_s,
        "acceptable": rec.acceptable, "level": rec.level, "problems": list(rec.problems),
        "partial": rec.partial, "findings": rec.findings, "alert_id": rec.alert_id,
    })  # fmt: skip


def _recording_from(d: dict[str, Any]) -> SiteRecording:
    return SiteRecording(
        recording_id=uuid.UUID(d["recording_id"]), site=d["site"], device=d["device"],
        started_at=d["started_at"], duration_s=d["duration_s"], acceptable=d["acceptable"],
        level=d["level"], problems=tuple(d["problems"]), partial=d["partial"],
        findings=d["findings"], alert_id=d.get("alert_id"),
    )  # fmt: skip
