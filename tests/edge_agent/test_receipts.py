"""With receipts on, a recording leaves the outbox only once the hospital says it archived it."""

import hashlib
import time
from pathlib import Path

from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.storage.receipts import ReceiptOutcome, ResendPolicy

FLAC = b"fLaC" + bytes(range(200))


def recording(rid: str) -> list[OutboundMessage]:
    return [
        OutboundMessage("stetho/v1/h/s/recordings", b"{}", recording_id=rid),
        OutboundMessage(
            "stetho/v1/h/s/recordings/audio", FLAC, content_type="audio/flac", recording_id=rid
        ),
        OutboundMessage("stetho/v1/h/triage", b"{}", recording_id=rid),
        OutboundMessage("stetho/v1/h/alerts", b"{}", recording_id=rid),
    ]


def store(tmp_path: Path, receipts: bool = True) -> OutboxStore:
    return OutboxStore(tmp_path / "o.sqlite3", quota_bytes=10**8, await_receipts=receipts)


def send_all(s: OutboxStore) -> None:
    s.mark_sent_many([m.seq for m in s.pending(100)])


def test_sent_but_unreceipted_recordings_are_never_pruned_or_dropped(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put_many(recording("r1"))
    send_all(s)
    assert s.receipt_stats().awaiting == 1
    assert s.prune_sent(0) == 0 and s._drop_sent() == 0
    assert s.has_recording("r1")
    digest = hashlib.sha256(FLAC).hexdigest()
    assert s.apply_receipt("r1", digest) is ReceiptOutcome.ARCHIVED
    assert s.apply_receipt("r1", digest) is ReceiptOutcome.ALREADY  # idempotent
    assert s.receipt_stats().awaiting == 0
    time.sleep(0.01)
    assert s.prune_sent(0) == 4 and not s.has_recording("r1")
    assert s.apply_receipt("r2", digest) is ReceiptOutcome.UNKNOWN


def test_overdue_and_mismatched_recordings_are_sent_again_without_triage_or_alert(
    tmp_path: Path,
) -> None:
    s = store(tmp_path)
    s.put_many(recording("r1"))
    s.put_many(recording("r2"))
    policy = ResendPolicy(timeout_s=0.001, cap_s=0.001)
    assert s.resend_overdue(policy) == []  # nothing sent yet: nothing is overdue
    send_all(s)
    time.sleep(0.01)
    assert sorted(s.resend_overdue(policy)) == ["r1", "r2"]
    again = s.pending(100)
    assert sorted(m.message.topic.rsplit("/", 2)[-1] for m in again) == [
        "audio", "audio", "recordings", "recordings",
    ]  # fmt: skip
    assert {m.message.payload for m in again} == {b"{}", FLAC}
    send_all(s)
    assert s.apply_receipt("r1", "0" * 64) is ReceiptOutcome.MISMATCH
    assert [m.message.recording_id for m in s.pending(100)] == ["r1", "r1"]
    assert s.receipt_stats().resent_total == 3


def test_without_receipts_the_outbox_behaves_as_before(tmp_path: Path) -> None:
    s = store(tmp_path, receipts=False)
    s.put_many(recording("r1"))
    send_all(s)
    assert s.receipt_stats().awaiting == 0
    time.sleep(0.01)
    assert s.prune_sent(0) == 4
