"""What the console's exam view reads: one exam with its recordings, a resident's exams.

An exam's latest `stetho.exam` message names its sites, each with every recording taken there
and the one that counts; the recordings themselves are rows of `recordings`. As in
`views`, every read takes the reader's sites (None for an administrator) and filters in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stetho_hub.storage.database import Database
from stetho_hub.storage.views import RecordingView, _site_filter


@dataclass(frozen=True)
class ExamView:
    exam_id: str
    site: str
    exam: dict[str, Any]  # the latest stetho.exam message, as sent
    recordings: dict[str, RecordingView]  # every archived recording of the exam, by id

    @property
    def resident(self) -> str:
        return str(self.exam.get("resident", ""))


@dataclass(frozen=True)
class ResidentExam:
    """One exam of a resident with its recordings' analyses (the timeline's and list's row)."""

    exam_id: str
    exam: dict[str, Any]
    analyses: tuple[tuple[str, dict[str, Any]], ...]  # (recording_id, analysis) it counted


def exam(db: Database, exam_id: str, sites: tuple[str, ...] | None) -> ExamView | None:
    """One exam the reader may see, or None (unknown, or another care home's)."""
    where, params = _site_filter(sites, "site")
    with db.transaction() as tx:
        row = tx.one(
            f"SELECT site, payload FROM exams WHERE exam_id = ? AND {where}",  # noqa: S608
            [exam_id, *params],
        )
        if row is None:
            return None
        site = str(row[0])
        rows = tx.all(
            "SELECT r.recording_id, r.payload, a.audio_sha256 FROM recordings r"
            " LEFT JOIN archived a ON a.recording_id = r.recording_id"
            " WHERE r.exam_id = ? AND r.site = ? ORDER BY r.started_at",
            (exam_id, site),
        )
    found = {str(r[0]): RecordingView(str(r[0]), site, json.loads(r[1]), r[2]) for r in rows}
    return ExamView(exam_id, site, json.loads(row[1]), found)


def counted_ids(exam_doc: dict[str, Any]) -> list[str]:
    """The recordings that count in an exam: one per recorded site (re-records left out)."""
    return [
        str(s["counted_recording_id"])
        for s in exam_doc.get("sites", [])
        if s.get("counted_recording_id")
    ]


def resident_exams(db: Database, site: str, resident: str, limit: int = 50) -> list[ResidentExam]:
    """A resident's exams at one care home, oldest first, each with its counted analyses.

    The caller has checked that the reader may see `site`. Exams are found through their
    recordings (the `recordings` table indexes the resident), so an exam with no recording
    yet is not listed: it has nothing to show.
    """
    with db.transaction() as tx:
        exams = tx.all(
            "SELECT e.exam_id, e.payload FROM exams e WHERE e.site = ? AND e.exam_id IN"
            " (SELECT DISTINCT r.exam_id FROM recordings r WHERE r.site = ? AND r.resident = ?"
            " AND r.exam_id IS NOT NULL)",
            (site, site, resident),
        )
        recs = tx.all(
            "SELECT recording_id, exam_id, payload FROM recordings"
            " WHERE site = ? AND resident = ? AND exam_id IS NOT NULL",
            (site, resident),
        )
    by_exam: dict[str, dict[str, dict[str, Any]]] = {}
    for rid, eid, payload in recs:
        analysis = json.loads(payload).get("analysis")
        if analysis is not None:
            by_exam.setdefault(str(eid), {})[str(rid)] = analysis
    out = []
    for eid, payload in exams:
        doc = json.loads(payload)
        analysed = by_exam.get(str(eid), {})
        counted = tuple((rid, analysed[rid]) for rid in counted_ids(doc) if rid in analysed)
        out.append(ResidentExam(str(eid), doc, counted))
    out.sort(key=lambda e: str(e.exam.get("opened_at", "")))
    return out[-limit:]


def known_device(db: Database, site: str, device: str) -> bool:
    """Whether the hub has heard from `device` at `site` (a live listen asks only such)."""
    with db.transaction() as tx:
        row = tx.one(
            "SELECT 1 FROM recordings WHERE site = ? AND device = ?"
            " UNION SELECT 1 FROM status WHERE site = ? AND device = ?",
            (site, device, site, device),
        )
    return row is not None


def exam_alert_ids(db: Database, exam_id: str, site: str) -> list[str]:
    """The alerts the care home raised on any of the exam's recordings (a decision acks them)."""
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT a.alert_id FROM alerts a JOIN recordings r ON r.recording_id = a.recording_id"
            " WHERE r.exam_id = ? AND a.site = ?",
            (exam_id, site),
        )
    return [str(row[0]) for row in rows]
