"""The queue's state rules, on a real SQLite file, with time passed in."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest

from stetho_hub.fhir.queue import Backoff, FhirQueue


def test_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    b = Backoff(base_s=1.0, max_s=8.0)
    rng = random.Random(3)
    for attempts, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (40, 8.0)):
        d = b.delay(attempts, rng)
        assert ceiling / 2 <= d <= ceiling
    with pytest.raises(ValueError, match=">= 1"):
        b.delay(0)


def test_enqueue_dedupes_same_bytes_and_replaces_changed_ones(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "q" / "fhir.sqlite")
    assert q.enqueue("e1", b"v1", now=10.0)
    assert not q.enqueue("e1", b"v1", now=11.0)
    item = q.next_due(now=10.0)
    assert item is not None and item.bundle == b"v1"
    assert q.enqueue("e1", b"v2", now=12.0)  # a decision made it final while v1 was in flight
    q.mark_sent(item, now=13.0)  # v1's answer must not mark v2 sent
    status = q.status()
    assert (status.queued, status.sent) == (1, 0)
    again = q.next_due(now=13.0)
    assert again is not None and again.bundle == b"v2"
    q.mark_sent(again, now=14.0)
    assert q.status().sent == 1
    assert q.next_due(now=100.0) is None
    q.close()


def test_failures_back_off_count_as_failing_and_keep_the_last_error(tmp_path: Path) -> None:
    q = FhirQueue(tmp_path / "fhir.sqlite", Backoff(base_s=10.0, max_s=10.0))
    q.enqueue("e1", b"v1", now=0.0)
    item = q.next_due(now=0.0)
    assert item is not None
    next_at = q.mark_failed(item, now=1.0, error="cannot reach the FHIR server", retry=True)
    assert next_at is not None and 6.0 <= next_at <= 11.0
    assert q.next_due(now=1.5) is None
    status = q.status()
    assert (status.queued, status.failing) == (1, 1)
    assert status.last_error == "cannot reach the FHIR server"
    assert status.next_attempt_at == next_at
    item = q.next_due(now=next_at)
    assert item is not None and item.attempts == 1
    assert q.mark_failed(item, now=20.0, error="FHIR server answered 422", retry=False) is None
    status = q.status()
    assert (status.queued, status.rejected, status.failing) == (0, 1, 1)
    assert q.retry_rejected(now=30.0) == 1
    assert q.next_due(now=30.0) is not None
    q.close()


def test_the_queue_file_is_private_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state" / "fhir.sqlite"
    q = FhirQueue(path)
    q.enqueue("e1", b"v1", now=0.0)
    q.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    q = FhirQueue(path)
    assert q.status().queued == 1
    q.close()
