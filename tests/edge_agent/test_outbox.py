import sqlite3
from pathlib import Path

import pytest

from edge_agent.errors import OutboxFullError
from edge_agent.storage.outbox import OutboundMessage, OutboxStore, admit


def msg(n: int, size: int = 10) -> OutboundMessage:
    return OutboundMessage(
        f"t/{n}",
        bytes([n % 256]) * size,
        content_type="application/json",
        user_properties=(("recording_id", str(n)),),
        recording_id=str(n),
    )


def test_messages_survive_reopen_in_order_until_marked_sent(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    store = OutboxStore(path, quota_bytes=10**8, min_free_disk_bytes=0)
    seqs = store.put_many([msg(1), msg(2), msg(3)])
    store.mark_sent(seqs[0])
    store.close()

    reopened = OutboxStore(path, quota_bytes=10**8, min_free_disk_bytes=0)
    pending = reopened.pending(limit=10)
    assert [p.message.topic for p in pending] == ["t/2", "t/3"]
    assert pending[0].message == msg(2)
    assert reopened.pending(limit=10, after_seq=pending[0].seq)[0].message.topic == "t/3"
    assert reopened.stats().pending == 2


def test_store_uses_wal_and_full_sync(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", quota_bytes=10**8)
    store.put_many([msg(1)])
    db = sqlite3.connect(tmp_path / "o.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_quota_refuses_new_recordings_and_keeps_old(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", quota_bytes=200_000, min_free_disk_bytes=0)
    store.put_many([msg(1, 50_000)])
    with pytest.raises(OutboxFullError, match="quota"):
        store.put_many([msg(2, 200_000)])
    assert [p.message.topic for p in store.pending(10)] == ["t/1"]


def test_prune_removes_only_sent(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", quota_bytes=10**8)
    first, _ = store.put_many([msg(1), msg(2)])
    store.mark_sent(first)
    assert store.prune_sent(older_than_s=-1) == 1
    assert [p.message.topic for p in store.pending(10)] == ["t/2"]


@pytest.mark.parametrize(
    ("used", "incoming", "free", "accept", "alarm"),
    [
        (0, 10, 10**9, True, False),
        (850, 60, 10**9, True, True),  # past 90 %: alarm, still accepted
        (950, 60, 10**9, False, True),  # over quota: refused
        (0, 10, 55, False, True),  # disk nearly full
    ],
)
def test_admission_rule(used: int, incoming: int, free: int, accept: bool, alarm: bool) -> None:
    decision = admit(used, incoming, 1000, free, 50, 0.9)
    assert (decision.accept, decision.alarm) == (accept, alarm)
    assert (decision.reason is None) == (not alarm)
