"""The doctor's console with 100 000 recordings (10 000 alerts, 50 care homes) in SQLite: p50
and p95 of the inbox (200 most urgent/newest) and of a recording's page, signed in as a doctor
of one care home (2 000 recordings, 200 alerts) and as an administrator (all of them)."""

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
from tests.stetho_hub.console_fixture import console_running
from tests.stetho_hub.test_console import Browser

N_RECORDINGS = 100_000
ALERT_EVERY = 10
SITES = 50
ROUNDS = 40


def _fill(target: DatabaseTarget) -> list[str]:
    """Rows as the archive writes them, inserted in one transaction (no audio files)."""
    db = open_database(target)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    with db.transaction() as tx:
        for s in range(SITES):
            tx.execute(
                "INSERT INTO sites (site, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (f"care-{s}", start.isoformat()),
            )
        for i in range(N_RECORDINGS):
            rid, site = str(uuid.UUID(int=i + 1, version=4)), f"care-{i % SITES}"
            at = (start + timedelta(minutes=i)).isoformat(timespec="microseconds")
            meta = {"resident": f"res-{i % 997}", "auscultation_site": "mitral", "kind": "heart",
                    "started_at": at, "n_samples": 120000, "sample_rate_hz": 4000,
                    "analysis": None, "analysis_error": "bench"}  # fmt: skip
            tx.execute(
                "INSERT INTO recordings VALUES (?, ?, 'pi', 'steth', ?, 'heart', 'mitral', ?, ?,"
                " NULL, 0, ?, 100, 'review', ?, ?)",
                (rid, site, meta["resident"], at, at, "0" * 64, json.dumps(meta), at),
            )
            if i % ALERT_EVERY == 0:
                alert = {"resident": meta["resident"], "auscultation_site": "mitral",
                         "flags": [{"reason": "Heart rate 131/min is above 130."}]}  # fmt: skip
                level = "urgent" if i % 3 == 0 else "review"
                tx.execute(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), rid, site, level, at, json.dumps(alert), at),
                )
            ids.append(rid)
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
        result: dict[str, Any] = {"recordings": N_RECORDINGS + 2, "fill_s": round(fill_s, 1)}
        for user in ("dr-a", "admin"):
            browser = Browser(hub.url)
            browser.sign_in(user)
            visible = ids[0::SITES] if user == "dr-a" else ids  # dr-a: care-0 (and home-a)
            pages = [f"/recordings/{visible[(i * 7919) % len(visible)]}" for i in range(ROUNDS)]
            result[user] = {"inbox": _timed(browser, ["/"] * ROUNDS),
                            "recording": _timed(browser, pages)}  # fmt: skip
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
