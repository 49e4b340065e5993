"""Re-sends of a recording without a receipt back off (issue 15): a hub that never answers
gets a handful of copies per recording, not one per timeout, and a restart does not reset that.

A simulated clock drives the outbox: every pass is one call, every "send" marks the copies
sent at the clock's time, as the publisher does after the broker's PUBACK.
"""

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.config import StorageConfig
from edge_agent.runtime.receipts import ReceiptWatch, resend_policy
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.storage.receipts import ReceiptOutcome, ResendPolicy
from edge_agent.wire import messages

FLAC = b"fLaC" + bytes(range(200))
TIMEOUT_S = 10.0
STEP_S = TIMEOUT_S / 4  # runtime/receipts.py's pass period for this timeout


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def recording(rid: str) -> list[OutboundMessage]:
    return [
        OutboundMessage("stetho/v1/h/s/recordings", b"{}", recording_id=rid),
        OutboundMessage(
            "stetho/v1/h/s/recordings/audio", FLAC, content_type="audio/flac", recording_id=rid
        ),
    ]


def open_store(path: Path, clock: Clock) -> OutboxStore:
    return OutboxStore(path / "o.sqlite3", quota_bytes=10**8, await_receipts=True, clock=clock)


def send_all(s: OutboxStore) -> None:
    if pending := s.pending(1000):
        s.mark_sent_many([m.seq for m in pending])


def resend_times(s: OutboxStore, clock: Clock, policy: ResendPolicy, timeouts: int) -> list[float]:
    """When recording "r" was sent again over `timeouts` timeouts of a silent hub (in timeouts)."""
    start, times = clock.now, []
    while clock.now < start + timeouts * TIMEOUT_S:
        clock.now += STEP_S
        if s.resend_overdue(policy):
            times.append((clock.now - start) / TIMEOUT_S)
        send_all(s)
    return times


def test_a_silent_hub_gets_geometrically_spaced_resends(tmp_path: Path) -> None:
    clock = Clock()
    s = open_store(tmp_path, clock)
    s.put_many(recording("r"))
    send_all(s)
    times = resend_times(s, clock, ResendPolicy(TIMEOUT_S, cap_s=1024 * TIMEOUT_S), 64)
    # Without backoff: one copy per timeout, about 60 in 64 timeouts. With it, the k-th wait is
    # drawn from [2**(k-1), 2**k] timeouts, so the k-th re-send comes after >= 2**(k-1).
    assert 4 <= len(times) <= 7, times
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps[0] == pytest.approx(1.0, abs=0.26)  # the configured timeout, first
    for k, gap in enumerate(gaps[1:], start=1):
        assert 2 ** (k - 1) <= gap <= 2**k + 0.26, gaps
    assert s.receipt_stats().resent_total == len(times)


def test_resends_are_capped_and_default_cap_is_eight_timeouts(tmp_path: Path) -> None:
    policy = resend_policy(StorageConfig(receipt_timeout_s=TIMEOUT_S))
    assert policy.cap_s == 8 * TIMEOUT_S
    clock = Clock()
    s = open_store(tmp_path, clock)
    s.put_many(recording("r"))
    send_all(s)
    times = resend_times(s, clock, policy, 200)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert all(4 <= gap <= 8.26 for gap in gaps[4:]), gaps  # at the cap: [cap/2, cap]
    assert len(times) <= 3 + 200 // 4  # old code: ~200
    # A cap below the timeout is raised to it: the first wait is always the timeout.
    low = resend_policy(StorageConfig(receipt_timeout_s=60, receipt_resend_max_s=5))
    assert low.cap_s == 60


def test_a_restart_keeps_the_backoff(tmp_path: Path) -> None:
    clock = Clock()
    policy = ResendPolicy(TIMEOUT_S, cap_s=1024 * TIMEOUT_S)
    s = open_store(tmp_path, clock)
    s.put_many(recording("r"))
    send_all(s)
    before = resend_times(s, clock, policy, 16)
    assert len(before) == 4  # sent again after 1, 2-3, 4-7 and 8-15 timeouts
    s.close()
    s = open_store(tmp_path, clock)  # the agent restarts: the next wait is still 8-16 timeouts
    after = resend_times(s, clock, policy, 32)
    assert 8 <= 16 + after[0] - before[-1] <= 16.26, (before, after)


def test_a_receipt_ends_the_resends_and_a_mismatch_restarts_the_backoff(tmp_path: Path) -> None:
    clock = Clock()
    policy = ResendPolicy(TIMEOUT_S, cap_s=1024 * TIMEOUT_S)
    s = open_store(tmp_path, clock)
    s.put_many(recording("r"))
    send_all(s)
    assert len(resend_times(s, clock, policy, 16)) == 4
    assert s.apply_receipt("r", "0" * 64) is ReceiptOutcome.MISMATCH  # the hub answered
    send_all(s)  # the mismatch's copy
    assert resend_times(s, clock, policy, 1.1) == [pytest.approx(1.0, abs=0.26)]  # from 1 again
    assert s.apply_receipt("r", hashlib.sha256(FLAC).hexdigest()) is ReceiptOutcome.ARCHIVED
    assert resend_times(s, clock, policy, 64) == []
    assert s.receipt_stats().awaiting == 0


def test_a_backlog_goes_out_a_pass_at_a_time_longest_waiting_first(tmp_path: Path) -> None:
    clock = Clock()
    s = open_store(tmp_path, clock)
    for n in range(80):
        s.put_many(recording(f"r{n:02}"))
        send_all(s)
        clock.now += 1.0  # sent one second apart
    clock.now += TIMEOUT_S  # the hub was away: all 80 overdue at once
    policy = ResendPolicy(TIMEOUT_S, cap_s=8 * TIMEOUT_S, per_pass=32)
    assert s.resend_overdue(policy) == [f"r{n:02}" for n in range(32)]
    # The next pass takes the next 32; the first 32, not yet sent again, are not queued twice.
    assert s.resend_overdue(policy) == [f"r{n:02}" for n in range(32, 64)]
    assert s.resend_overdue(policy) == [f"r{n:02}" for n in range(64, 80)]
    assert s.resend_overdue(policy) == []
    assert len(s.pending(1000)) == 2 * 80


def test_an_outbox_from_before_the_backoff_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    clock = Clock()
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE receipts (recording_id TEXT PRIMARY KEY, audio_sha256 TEXT NOT NULL,"
        " stored_at REAL NOT NULL, resent INTEGER NOT NULL DEFAULT 0, archived_at REAL)"
    )
    old.execute("INSERT INTO receipts VALUES ('r', ?, ?, 5, NULL)", ("a" * 64, clock.now))
    old.commit()
    old.close()
    s = OutboxStore(path, quota_bytes=10**8, await_receipts=True, clock=clock)
    columns = [row[1] for row in s._db.execute("PRAGMA table_info(receipts)")]
    assert columns[-2:] == ["attempt", "wait_s"]
    assert s.receipt_stats().resent_total == 5 and s.receipt_stats().awaiting == 1


@pytest.mark.parametrize(("timeout_s", "cap_s", "per_pass"), [(0, 10, 1), (10, 5, 1), (10, 10, 0)])
def test_a_policy_that_cannot_work_is_refused(
    timeout_s: float, cap_s: float, per_pass: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        ResendPolicy(timeout_s, cap_s, per_pass)


def test_a_stream_of_receipts_does_not_multiply_the_passes(tmp_path: Path) -> None:
    """One re-send pass per period however many receipts arrive (the old loop ran one after
    every receipt that emptied its queue)."""
    outbox = Outbox(OutboxStore(tmp_path / "o.sqlite3", quota_bytes=10**8, await_receipts=True))
    watch = ReceiptWatch(outbox, ResendPolicy(timeout_s=2.0, cap_s=16.0))  # a pass per 0.5 s
    passes = 0
    resend = outbox.resend_overdue

    async def counted(policy: ResendPolicy) -> list[str]:
        nonlocal passes
        passes += 1
        return await resend(policy)

    outbox.resend_overdue = counted  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(watch.run())
        for _ in range(60):  # a receipt every 20 ms for 1.2 s (none ours: counted unknown)
            watch.offer(_receipt())
            await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(scenario())
    finally:
        outbox.close()
    assert watch.counts.unknown == 60
    assert 1 <= passes <= 3, passes


def _receipt() -> messages.ReceiptMessage:
    return messages.ReceiptMessage(
        recording_id=uuid.uuid4(), site="h", device="s", audio_sha256="a" * 64,
        pcm_sha256="b" * 64, size_bytes=1, archived_at=datetime.now(UTC), hub="hub-1",
    )  # fmt: skip


def test_a_stop_that_comes_with_a_receipt_stops_the_watch(tmp_path: Path) -> None:
    """SIGTERM as a receipt arrived once left the agent waiting for this loop forever (one
    `stetho demo --serve` stop in ten: Python 3.11's wait_for dropped the cancellation)."""
    outbox = Outbox(OutboxStore(tmp_path / "o.sqlite3", quota_bytes=10**8, await_receipts=True))
    watch = ReceiptWatch(outbox, ResendPolicy(timeout_s=20.0, cap_s=160.0))  # a pass per 5 s

    async def scenario() -> bool:
        task = asyncio.create_task(watch.run())
        for _ in range(3):
            await asyncio.sleep(0)  # the watch now waits for a receipt
        watch.offer(_receipt())
        await asyncio.sleep(0)  # the queue hands the receipt over...
        task.cancel()  # ...as the stop comes
        done, _ = await asyncio.wait({task}, timeout=2.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return bool(done)

    try:
        assert asyncio.run(scenario()), "the receipt watch went on after its stop"
    finally:
        outbox.close()


def test_a_hub_name_from_the_broker_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The receipt's `hub` is any 1-80 characters a broker client sends on .../receipts; the
    # recording_archived line wrote it raw, so a newline wrote a line of the sender's choosing.
    outbox = Outbox(OutboxStore(tmp_path / "o.sqlite3", quota_bytes=10**8, await_receipts=True))
    watch = ReceiptWatch(outbox, ResendPolicy(timeout_s=20.0, cap_s=160.0))
    outbox.store.put_many(recording("00000000-0000-4000-8000-000000000001"))
    send_all(outbox.store)
    forged = "hub-1\nevent=recording_archived recording=x hub=hub-2"
    receipt = _receipt().model_copy(update={
        "recording_id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "audio_sha256": hashlib.sha256(FLAC).hexdigest(), "hub": forged})  # fmt: skip

    async def scenario() -> None:
        task = asyncio.create_task(watch.run())
        watch.offer(receipt)
        while watch.counts.archived == 0:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(asyncio.wait_for(scenario(), 10))
    finally:
        outbox.close()
    (said,) = [r.getMessage() for r in caplog.records if "recording_archived" in r.getMessage()]
    assert "\n" not in said
    assert said.endswith('hub="hub-1\\nevent=recording_archived recording=x hub=hub-2"')
