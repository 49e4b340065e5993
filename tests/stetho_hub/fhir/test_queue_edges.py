"""The FHIR queue's rules one by one, on a real SQLite file, with time passed in.

Nothing lost: a Bundle leaves the queue's count of work only once marked sent; a failure keeps
it (queued with its backoff, or rejected with the server's words), and what is due goes in
the order it came.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from stetho_hub.fhir import FhirConfigError
from stetho_hub.fhir.queue import Backoff, FhirQueue, Pending, QueueStatus, digest


def test_the_backoff_is_the_one_policy_with_its_jitter_from_the_given_source() -> None:
    b = Backoff(base_s=1.0, max_s=8.0)
    assert b.delay(3, random.Random(7)) == b.delay(3, random.Random(7))
    assert {b.delay(2, random.Random(s)) for s in range(20)} != {b.delay(2, random.Random(0))}
    with pytest.raises(ValueError) as refused:
        b.delay(0)
    assert str(refused.value) == "attempts must be >= 1, got 0"


def test_an_empty_queue_says_so_in_every_count(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite")
    assert q.status() == QueueStatus(0, 0, 0, 0, None, None)
    assert q.next_due(now=1e12) is None and q.next_wake() is None
    assert q.retry_rejected(now=0.0) == 0
    q.close()


def test_the_queue_opens_in_folders_it_makes_and_refuses_a_path_it_cannot_use(
    tmp_path: Path,
) -> None:
    q = FhirQueue(tmp_path / "a" / "b" / "fhir.sqlite")  # two folders that do not exist yet
    q.close()
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "fhir.sqlite"
    with pytest.raises(FhirConfigError) as refused:
        FhirQueue(path)
    assert str(refused.value).startswith(f"cannot open the FHIR queue at {path}: ")


def test_the_queue_writes_through_a_power_cut_and_waits_for_a_busy_file(tmp_path: Path) -> None:
    path = tmp_path / "fhir.sqlite"
    q = FhirQueue(path)
    pragma = {
        name: q._db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout")
    }
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30_000}
    q.close()


def test_due_bundles_go_oldest_first_and_a_later_one_waits_its_time(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite")
    q.enqueue("late", b"3", now=50.0)
    q.enqueue("second", b"2", now=20.0)
    q.enqueue("first", b"1", now=10.0)
    order = []
    while (item := q.next_due(now=30.0)) is not None:
        assert item == Pending(item.exam_id, item.bundle, digest(item.bundle), 0)
        order.append(item.exam_id)
        q.mark_sent(item, now=31.0)
    assert order == ["first", "second"]
    assert q.next_wake() == 50.0
    assert q.next_due(now=50.0) == Pending("late", b"3", digest(b"3"), 0)
    q.close()


def test_a_failed_bundle_waits_behind_none_and_keeps_its_count_of_attempts(
    tmp_path: Path,
) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite", Backoff(base_s=4.0, max_s=4.0))
    q.enqueue("e1", b"1", now=0.0)
    q.enqueue("e2", b"2", now=0.0)
    first = q.next_due(now=0.0)
    assert first is not None and first.exam_id == "e1"
    next_at = q.mark_failed(first, now=1.0, error="FHIR server answered 503: busy", retry=True)
    assert next_at is not None and 3.0 <= next_at <= 5.0
    assert q.next_due(now=1.0) == Pending("e2", b"2", digest(b"2"), 0)
    assert q.next_wake() == 0.0  # e2, due since it was queued
    again = q.next_due(now=next_at)
    assert again is not None and again.exam_id == "e2"  # due before e1's retry
    q.mark_sent(again, now=next_at)
    retried = q.next_due(now=next_at)
    assert retried == Pending("e1", b"1", digest(b"1"), 1)
    q.mark_failed(retried, now=next_at, error="FHIR server answered 503: busy", retry=True)
    third = q.next_due(now=1e9)
    assert third is not None and third.attempts == 2
    q.close()


def test_a_refusal_is_kept_with_its_words_cut_at_500_and_its_due_time_unchanged(
    tmp_path: Path,
) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite")
    q.enqueue("e1", b"1", now=5.0)
    item = q.next_due(now=5.0)
    assert item is not None
    words = "FHIR server answered 422: " + "x" * 600
    assert q.mark_failed(item, now=6.0, error=words, retry=False) is None
    status = q.status()
    assert status == QueueStatus(0, 0, 1, 1, words[:500], None)
    assert q.next_due(now=1e9) is None  # not retried by itself
    assert q.retry_rejected(now=7.0) == 1
    assert q.next_wake() == 7.0
    assert q.status().failing == 1  # queued again after a failure: still failing until sent
    q.close()


def test_sent_is_stamped_with_its_time_and_clears_the_failure(tmp_path: Path) -> None:
    path = tmp_path / "fhir.sqlite"
    q = FhirQueue(path, Backoff(base_s=1.0, max_s=1.0))
    q.enqueue("e1", b"1", now=0.0)
    item = q.next_due(now=0.0)
    assert item is not None
    q.mark_failed(item, now=1.0, error="cannot reach the FHIR server", retry=True)
    item = q.next_due(now=10.0)
    assert item is not None
    q.mark_sent(item, now=12.5)
    assert q.status() == QueueStatus(0, 1, 0, 0, None, None)
    q.close()
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT state, sent_at, last_error, attempts FROM fhir_outbox").fetchone()
    assert row == ("sent", 12.5, None, 1)


def test_the_last_error_is_the_one_of_the_latest_due_bundle(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite", Backoff(base_s=100.0, max_s=100.0))
    for exam_id in ("e1", "e2"):
        q.enqueue(exam_id, exam_id.encode(), now=0.0)
    item = q.next_due(now=0.0)
    assert item is not None
    q.mark_failed(item, now=1.0, error="refused", retry=False)  # due time kept: 0
    item = q.next_due(now=1.0)
    assert item is not None
    q.mark_failed(item, now=2.0, error="unreachable", retry=True)  # due in 50 to 100 s
    assert q.status().last_error == "unreachable"
    q.close()


def test_a_write_that_fails_leaves_nothing_half_done(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        q.enqueue("e1", b"1", now=float("nan"))  # SQLite stores NaN as NULL: NOT NULL fails
    assert q.enqueue("e1", b"1", now=1.0)  # the transaction was rolled back, not left open
    assert q.status().queued == 1
    q.close()
