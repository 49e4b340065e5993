"""The doctor's console with 100 000 recordings (10 000 alerts, 25 000 four-site exams, 50 care
homes) in SQLite: p50 and p95 of the inbox (200 most urgent/newest), of a recording's page and
of an exam view (four sites, the resident's earlier exams and timeline), signed in as a doctor
of one care home (2 000 recordings, 200 alerts, 500 exams) and as an administrator (all)."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stetho_hub.storage import DatabaseTarget, open_database
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running
from stetho_testkit.hub.factory import make_recording

N_RECORDINGS = 100_000
ALERT_EVERY = 10
SITES = 50
ROUNDS = 40
HEART_4 = ("aortic", "pulmonic", "tricuspid", "mitral")
RESIDENTS = 40  # a care home's residents: each has about a dozen exams for the timeline


def _where(i: int) -> tuple[str, str, str, str]:
    """Recording i's care home, resident, auscultation site and exam: each care home's
    recordings come in fours, one exam of one resident over the heart's four sites."""
    site, n = i % SITES, i // SITES
    exam = str(uuid.UUID(int=10**7 + site * 10_000 + n // 4, version=4))
    return f"care-{site}", f"res-{(n // 4) % RESIDENTS}", HEART_4[n % 4], exam


def _exam_payload(exam_id: str, site: str, resident: str, rids: list[str], at: str) -> str:
    sites = [
        {"auscultation_site": name, "state": "done", "recording_ids": [rid],
         "counted_recording_id": rid, "level": "review"}
        for name, rid in zip(HEART_4, rids, strict=True)
    ]  # fmt: skip
    return json.dumps({
        "schema": "stetho.exam", "schema_version": 1, "exam_id": exam_id, "event": "closed",
        "state": "done", "site": site, "agent": "pi", "resident": resident, "staff": "nurse",
        "reason": "bench", "protocol": "heart-4", "age_band": "adult", "sites": sites,
        "opened_at": at, "closed_at": at, "at": at,
    })  # fmt: skip


def _fill(target: DatabaseTarget) -> list[str]:
    """Rows as the archive writes them, inserted in one transaction (no audio files)."""
    db = open_database(target)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # A real analysis on every recording: the exam view draws findings and the timeline.
    made = make_recording(1, seconds=6.0, analysed=True, heart_bpm=134)
    analysis = json.loads(made.meta_json)["analysis"]
    ids = []
    with db.transaction() as tx:
        for s in range(SITES):
            tx.execute(
                "INSERT INTO sites (site, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (f"care-{s}", start.isoformat()),
            )
        exams: dict[str, tuple[str, str, list[str], str]] = {}
        for i in range(N_RECORDINGS):
            rid = str(uuid.UUID(int=i + 1, version=4))
            site, resident, where, exam_id = _where(i)
            at = (start + timedelta(minutes=i)).isoformat(timespec="microseconds")
            meta = {"resident": resident, "auscultation_site": where, "kind": "heart",
                    "started_at": at, "n_samples": 120000, "sample_rate_hz": 4000,
                    "exam_id": exam_id, "device": "steth", "agent": "pi",
                    "analysis": analysis}  # fmt: skip
            tx.execute(
                "INSERT INTO recordings VALUES (?, ?, 'pi', 'steth', ?, 'heart', ?, ?, ?,"
                " ?, 0, ?, 100, 'review', ?, ?)",
                (rid, site, resident, where, at, at, exam_id, "0" * 64, json.dumps(meta), at),
            )
            exams.setdefault(exam_id, (site, resident, [], at))[2].append(rid)
            if i % ALERT_EVERY == 0:
                alert = {"resident": resident, "auscultation_site": where,
                         "flags": [{"reason": "Heart rate 131/min is above 130."}]}  # fmt: skip
                level = "urgent" if i % 3 == 0 else "review"
                tx.execute(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), rid, site, level, at, json.dumps(alert), at),
                )
            ids.append(rid)
        for exam_id, (site, resident, rids, at) in exams.items():
            payload = _exam_payload(exam_id, site, resident, rids, at)
            tx.execute("INSERT INTO exams VALUES (?, ?, ?, ?, ?)", (exam_id, site, payload, at, at))
        tx.execute("INSERT INTO assignments (username, site) VALUES ('dr-a', 'care-0')")
    db.close()
    return ids


def _timed(browser: Browser, paths: list[str]) -> dict[str, float]:
    times = []
    for path in paths:
        start = time.perf_counter()
        status, _body, _h = browser.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, path
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}  # fmt: skip


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, console_running(Path(tmp)) as hub:
        fill_start = time.perf_counter()
        ids = _fill(hub.target)
        fill_s = time.perf_counter() - fill_start
        result: dict[str, Any] = {
            "recordings": N_RECORDINGS + 2, "exams": N_RECORDINGS // 4,
            "fill_s": round(fill_s, 1),
        }  # fmt: skip
        for user in ("dr-a", "admin"):
            browser = Browser(hub.url)
            browser.sign_in(user)
            mine = range(0, N_RECORDINGS, SITES) if user == "dr-a" else range(N_RECORDINGS)
            picks = [mine[(i * 7919) % len(mine)] for i in range(ROUNDS)]  # dr-a: care-0
            pages = [f"/recordings/{ids[i]}" for i in picks]
            exams = [f"/exams/{_where(i)[3]}" for i in picks]
            shown = browser.get(exams[0])[1]  # what is timed: four sites, a drawn timeline
            assert shown.count(b'data-site="') == 4 and shown.count(b"<circle") >= 10, user
            result[user] = {"inbox": _timed(browser, ["/"] * ROUNDS),
                            "recording": _timed(browser, pages),
                            "exam": _timed(browser, exams)}  # fmt: skip
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
