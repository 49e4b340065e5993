"""Receipts at their edges: the policy's smallest pass, the jitter's source, the oldest waiting."""

import hashlib
import random
import sqlite3
from pathlib import Path

from edge_agent.storage import receipts
from edge_agent.storage.outbox import OutboxStore
from edge_agent.storage.receipts import ResendPolicy
from tests.edge_agent.test_receipt_backoff import FLAC, Clock, open_store, recording

TIMEOUT_S = 10.0
T0 = 1_800_000_000.0


def send_all(s: OutboxStore) -> None:
    s.mark_sent_many([m.seq for m in s.pending(1000)])


def test_a_policy_of_one_recording_per_pass_is_accepted() -> None:
    assert ResendPolicy(TIMEOUT_S, TIMEOUT_S, per_pass=1).per_pass == 1


def test_a_resend_wait_is_drawn_from_the_rng_given_in_the_upper_half_of_its_ceiling() -> None:
    policy = ResendPolicy(TIMEOUT_S, cap_s=100 * TIMEOUT_S)
    # After re-send k the ceiling is timeout * 2**k; the wait is drawn from its upper half.
    assert policy.wait_after(1, random.Random(5)) == random.Random(5).uniform(10.0, 20.0)
    assert policy.wait_after(3, random.Random(6)) == random.Random(6).uniform(40.0, 80.0)


def test_resend_overdue_keeps_the_wait_its_rng_drew_in_the_recordings_row(tmp_path: Path) -> None:
    clock = Clock()
    s = open_store(tmp_path, clock)
    s.put_many(recording("r"))
    send_all(s)
    s.close()
    db = sqlite3.connect(tmp_path / "o.sqlite3")
    try:
        policy = ResendPolicy(TIMEOUT_S, cap_s=100 * TIMEOUT_S)
        again = receipts.resend_overdue(db, policy, T0 + TIMEOUT_S + 1, random.Random(9))
        row = db.execute("SELECT attempt, wait_s FROM receipts WHERE recording_id = 'r'").fetchone()
    finally:
        db.close()
    assert again == ["r"]
    assert row == (1, random.Random(9).uniform(10.0, 20.0))


def test_receipt_stats_give_the_oldest_recording_still_waiting(tmp_path: Path) -> None:
    clock = Clock()
    s = open_store(tmp_path, clock)
    s.put_many(recording("old"))
    clock.now += 5.0
    s.put_many(recording("new"))
    first = s.receipt_stats()
    s.apply_receipt("old", hashlib.sha256(FLAC).hexdigest())
    second = s.receipt_stats()
    s.apply_receipt("new", hashlib.sha256(FLAC).hexdigest())
    third = s.receipt_stats()
    s.close()
    assert (first.awaiting, first.oldest_stored_at) == (2, T0)
    assert (second.awaiting, second.oldest_stored_at) == (1, T0 + 5.0)
    assert (third.awaiting, third.oldest_stored_at) == (0, None)
