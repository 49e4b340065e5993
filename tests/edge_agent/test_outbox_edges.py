"""The outbox at its exact edges: quota, disk reserve and alarm; every stored field; making room.

Real SQLite files throughout. Where a figure must be exact (bytes in use, bytes free on the disk)
the test pins it by replacing the two measurements the store reads, never the rule itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.errors import OutboxError, OutboxFullError
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage import outbox as outbox_module
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import (
    Admission,
    OutboundMessage,
    OutboxStats,
    OutboxStore,
    StoredMessage,
    admit,
)
from stetho_testkit.agent_harness import AgentProcess, write_config

QUOTA = 1000
RESERVE = 50


# ---- the admission rule at its edges ------------------------------------------------------


def test_quota_edge_exactly_full_is_accepted() -> None:
    assert admit(900, 100, QUOTA, 10**9, RESERVE, 0.99) == Admission(
        True, True, "outbox at 100% of its quota"
    )


def test_quota_edge_one_byte_over_is_refused() -> None:
    assert admit(900, 101, QUOTA, 10**9, RESERVE, 0.99) == Admission(
        False, True, "outbox quota reached (1001 of 1000 bytes): recording refused"
    )


def test_disk_reserve_edge_exactly_kept_is_accepted() -> None:
    # 160 free, 110 incoming: exactly the 50 in reserve remain.
    assert admit(0, 110, QUOTA, 160, RESERVE, 0.9) == Admission(True, False, None)


def test_disk_reserve_edge_one_byte_into_it_is_refused() -> None:
    assert admit(0, 111, QUOTA, 160, RESERVE, 0.9) == Admission(
        False,
        True,
        "disk nearly full (160 bytes free, 50 kept in reserve): recording refused",
    )


def test_alarm_edge_rises_at_the_fraction_not_after() -> None:
    assert admit(800, 99, QUOTA, 10**9, RESERVE, 0.9) == Admission(True, False, None)
    assert admit(800, 100, QUOTA, 10**9, RESERVE, 0.9) == Admission(
        True, True, "outbox at 90% of its quota"
    )


def test_quota_is_checked_before_the_disk() -> None:
    decision = admit(QUOTA, 1, QUOTA, 0, RESERVE, 0.9)
    assert decision.reason is not None and decision.reason.startswith("outbox quota reached")


# ---- the store measures what the rule is given ----------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OutboxStore]:
    s = OutboxStore(tmp_path / "o.db", quota_bytes=10**8, min_free_disk_bytes=0)
    yield s
    s.close()


def _pin_measures(
    monkeypatch: pytest.MonkeyPatch, store: OutboxStore, used: int, reusable: int, free: int
) -> None:
    monkeypatch.setattr(store, "_page_bytes", lambda: (used, reusable))
    usage = shutil.disk_usage(store.path.parent)._replace(free=free)
    monkeypatch.setattr(outbox_module.shutil, "disk_usage", lambda _path: usage)


def test_admission_counts_reusable_pages_as_free(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.quota_bytes, store.min_free_disk_bytes = 10_000, 1000
    _pin_measures(monkeypatch, store, used=500, reusable=300, free=1000)
    assert store.admission(300) == Admission(True, False, None)  # 1000 + 300 - 300 = reserve
    assert not store.admission(301).accept
    _pin_measures(monkeypatch, store, used=500, reusable=0, free=1300)
    assert store.admission(300).accept


def test_admission_reports_used_bytes_and_quota(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.quota_bytes, store.alarm_fraction = 1000, 0.5
    _pin_measures(monkeypatch, store, used=400, reusable=0, free=10**9)
    assert store.admission(99) == Admission(True, False, None)
    assert store.admission(100) == Admission(True, True, "outbox at 50% of its quota")
    assert store.admission(601).reason == (
        "outbox quota reached (1001 of 1000 bytes): recording refused"
    )


def test_put_many_sizes_each_message_as_payload_topic_and_200(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [OutboundMessage("t/ab", b"x" * 96), OutboundMessage("t/c", b"y" * 7)]
    exact = (96 + 4 + 200) + (7 + 3 + 200)
    _pin_measures(monkeypatch, store, used=0, reusable=0, free=10**9)
    store.quota_bytes = exact - 1
    with pytest.raises(OutboxFullError, match=f"quota reached \\({exact} of {exact - 1} bytes"):
        store.put_many(messages)
    store.quota_bytes = exact
    seqs, admission = store.put_admitted(messages)
    assert seqs == [1, 2]
    assert admission == Admission(True, True, "outbox at 100% of its quota")


def test_store_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    s = OutboxStore(tmp_path / "sub" / "dir" / "o.db", quota_bytes=123)
    try:
        assert (s.quota_bytes, s.alarm_fraction, s.min_free_disk_bytes) == (123, 0.9, 32 << 20)
        assert s.path == tmp_path / "sub" / "dir" / "o.db"
    finally:
        s.close()


# ---- durability settings, read back from the store's own connections ------------------------


def test_durability_pragmas_on_the_store_connection(store: OutboxStore) -> None:
    db = store._db

    def pragma(name: str) -> Any:
        return db.execute(f"PRAGMA {name}").fetchone()[0]

    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("wal_autocheckpoint") == 100
    assert pragma("secure_delete") == 2  # FAST
    assert pragma("journal_size_limit") == 2 * 1024 * 1024
    assert db.isolation_level is None  # autocommit: transactions are ours, explicit


def test_reader_connection_is_read_only(store: OutboxStore) -> None:
    assert store._reader.execute("PRAGMA query_only").fetchone()[0] == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store._reader.execute("DELETE FROM messages")


def test_unopenable_outbox_is_an_outbox_error(tmp_path: Path) -> None:
    (tmp_path / "o.db").write_bytes(b"this is not a database, but long enough " * 40)
    with pytest.raises(OutboxError, match=r"cannot open the outbox .*o\.db"):
        OutboxStore(tmp_path / "o.db", quota_bytes=10**8)


def test_a_state_dir_that_cannot_be_made_is_an_outbox_error(tmp_path: Path) -> None:
    # Before: private_dir's OSError ended `stetho run` in a traceback (a state_dir under a
    # file, or /var/lib/stetho-edge run by a user who may not write there).
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutboxError, match=r"cannot open the outbox .*outbox\.sqlite3: Not a dir"):
        OutboxStore(tmp_path / "a-file" / "state" / "outbox.sqlite3", quota_bytes=10**8)
    config = tmp_path / "agent.toml"
    config.write_text('site = "h"\n[broker]\nport = 1\n[storage]\nstate_dir = "a-file/state"\n')
    run = subprocess.run([sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "error: cannot open the outbox " in run.stderr


@pytest.mark.broker
def test_a_second_agent_on_the_same_state_dir_is_refused_in_one_line(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # Before: a `stetho run` started by hand beside the service ran too: it checked (and could
    # have moved aside) the outbox in use, published the same messages, and the two took the
    # broker's client id from each other until the agent raised client_id_taken_over.
    config = write_config(tmp_path / "agent.toml", broker.port, tmp_path / "state", devices=())
    first = AgentProcess(config, tmp_path / "first.log")
    first.start()
    try:
        second = subprocess.run([sys.executable, "-m", "stetho_cli", "run", "--config",
                                 str(config)], capture_output=True, text=True, timeout=60,
                                check=False)  # fmt: skip
        assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
        assert (
            f"error: another agent is running on {tmp_path / 'state'}: stop it first "
            "(systemctl stop stetho-edge)" in " ".join(second.stderr.split())
        )
        assert "event=broker_connected" not in second.stdout  # it touched nothing
        assert "event=broker_disconnected" not in first.output()
    finally:
        assert first.stop() == 0
    again = AgentProcess(config, tmp_path / "again.log")  # the lock goes with the process
    again.start()
    assert again.stop() == 0


# ---- every field survives the round trip through SQLite -------------------------------------

FULL = OutboundMessage(
    topic="stetho/v1/site/agent/alert",
    payload=b"\x00\xffpayload\x00",
    qos=2,
    retain=True,
    content_type="application/json; charset=utf-8",
    expiry_s=7 * 24 * 3600,
    user_properties=(("recording_id", "r-1"), ("schema", "2"), ("recording_id", "dup")),
    recording_id="r-1",
)
BARE = OutboundMessage(topic="t", payload=b"", qos=0)


@pytest.mark.parametrize("message", [FULL, BARE], ids=["every-field", "defaults"])
def test_every_field_round_trips_and_survives_reopen(tmp_path: Path, message: Any) -> None:
    path = tmp_path / "o.db"
    first = OutboxStore(path, quota_bytes=10**8, min_free_disk_bytes=0)
    (seq,) = first.put_many([message])
    (stored,) = first.pending(10)
    assert stored.message == message
    first.close()
    again = OutboxStore(path, quota_bytes=10**8, min_free_disk_bytes=0)
    (stored,) = again.pending(10)
    again.close()
    assert stored.seq == seq
    assert stored.message == message
    # Field by field, with types: a bool stored as 1 must come back as True, not 1.
    assert stored.message.retain is message.retain
    assert type(stored.message.qos) is int and type(stored.message.payload) is bytes
    assert stored.message.expiry_s == message.expiry_s
    assert stored.message.user_properties == message.user_properties


def test_created_at_is_the_clock_at_storing(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module.time, "time", lambda: 1234.5)
    store.put_many([BARE])
    (stored,) = store.pending(1)
    assert stored == StoredMessage(1, 1234.5, BARE)
    assert type(stored.created_at) is float


def test_pending_is_ordered_limited_and_after_seq(store: OutboxStore) -> None:
    seqs = store.put_many([OutboundMessage(f"t/{i}", b"p") for i in range(5)])
    assert seqs == [1, 2, 3, 4, 5]
    assert [p.seq for p in store.pending(2)] == [1, 2]
    assert [p.seq for p in store.pending(10, after_seq=3)] == [4, 5]
    store.mark_sent_many([1, 4])
    assert [p.seq for p in store.pending(10)] == [2, 3, 5]


def test_mark_sent_sets_sent_at_only_on_those(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_many([BARE, BARE, BARE])
    monkeypatch.setattr(outbox_module.time, "time", lambda: 99.0)
    store.mark_sent(2)
    rows = store._db.execute("SELECT seq, sent_at FROM messages ORDER BY seq").fetchall()
    assert rows == [(1, None), (2, 99.0), (3, None)]


def test_a_failed_mark_sent_rolls_back_and_keeps_the_message_pending(store: OutboxStore) -> None:
    store.put_many([BARE, BARE])
    store._db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE UPDATE ON messages WHEN new.seq = 2"
        " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    with pytest.raises(OutboxError, match="cannot mark messages sent: refused by test"):
        store.mark_sent_many([1, 2])
    assert [p.seq for p in store.pending(10)] == [1, 2]  # all or none
    store._db.execute("DROP TRIGGER refuse")
    store.mark_sent_many([1])  # the failed transaction did not stay open
    assert [p.seq for p in store.pending(10)] == [2]


def test_a_failed_put_stores_nothing_and_leaves_no_transaction_open(store: OutboxStore) -> None:
    store._db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON messages WHEN new.topic = 'bad'"
        " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    with pytest.raises(OutboxError, match="cannot store in the outbox: refused by test") as info:
        store.put_many([OutboundMessage("good", b"1"), OutboundMessage("bad", b"2")])
    assert not isinstance(info.value, OutboxFullError)
    assert store.pending(10) == []
    assert store.put_many([OutboundMessage("good", b"3")]) == [1]  # sequence rolled back too


def test_disk_full_while_storing_is_outbox_full(store: OutboxStore) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(OutboxFullError, match="disk full while storing"):
        store.put_many([OutboundMessage("t", b"x" * 100_000)])
    store._db.execute("PRAGMA max_page_count=1073741823")
    assert store.pending(10) == []
    assert store.put_many([BARE]) != []


# ---- making room: sent copies go, unsent ones never -------------------------------------------


def test_drop_sent_makes_room_for_a_new_recording(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", quota_bytes=10**8, min_free_disk_bytes=0)
    big = [OutboundMessage(f"t/{i}", bytes([i]) * 100_000, recording_id=str(i)) for i in range(4)]
    seqs = store.put_many(big)
    store.mark_sent_many(seqs[:3])
    used = store.stats().used_bytes
    # Room for what is stored now, not for one more: only dropping the sent copies helps.
    store.quota_bytes = used + 50_000
    (new,) = store.put_many([OutboundMessage("t/new", b"n" * 100_000)])
    assert [p.seq for p in store.pending(10)] == [seqs[3], new]
    assert store._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 2
    assert store._db.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 2
    assert store.stats().used_bytes < used
    store.close()


def test_without_sent_copies_an_over_quota_recording_is_refused(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", quota_bytes=10**8, min_free_disk_bytes=0)
    store.put_many([OutboundMessage("t/old", b"o" * 100_000)])
    store.quota_bytes = store.stats().used_bytes + 50_000
    with pytest.raises(OutboxFullError, match="quota reached"):
        store.put_many([OutboundMessage("t/new", b"n" * 100_000)])
    assert [p.message.topic for p in store.pending(10)] == ["t/old"]
    assert store._drop_sent() == 0
    store.close()


def test_drop_sent_counts_what_it_dropped(store: OutboxStore) -> None:
    store.put_many([BARE, BARE, BARE])
    store.mark_sent_many([1, 3])
    assert store._drop_sent() == 2
    assert [p.seq for p in store.pending(10)] == [2]


def test_drop_sent_on_a_failing_database_reports_nothing_dropped(store: OutboxStore) -> None:
    store.put_many([BARE])
    store.mark_sent_many([1])
    store._db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE DELETE ON messages"
        " BEGIN SELECT RAISE(ABORT, 'no room'); END"
    )
    assert store._drop_sent() == 0


# ---- pruning, lookups and figures --------------------------------------------------------------


def test_prune_edge_keeps_a_copy_sent_exactly_at_the_cutoff(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": 1000.0}
    monkeypatch.setattr(outbox_module.time, "time", lambda: clock["now"])
    store.put_many([BARE, BARE])
    store.mark_sent(1)
    clock["now"] = 1010.0
    assert store.prune_sent(older_than_s=10) == 0  # sent_at == cutoff: kept
    clock["now"] = 1010.5
    assert store.prune_sent(older_than_s=10) == 1
    assert [p.seq for p in store.pending(10)] == [2]
    assert store._db.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 1


def test_has_recording_sees_sent_and_unsent(store: OutboxStore) -> None:
    store.put_many([OutboundMessage("t", b"", recording_id="a"), OutboundMessage("t", b"")])
    assert store.has_recording("a")
    assert not store.has_recording("b")
    store.mark_sent(1)
    assert store.has_recording("a")


def test_stats_figures(store: OutboxStore, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = store.stats()
    assert (empty.pending, empty.oldest_pending_at, empty.quota_bytes) == (0, None, 10**8)
    clock = {"now": 50.0}
    monkeypatch.setattr(outbox_module.time, "time", lambda: clock["now"])
    store.put_many([BARE])
    clock["now"] = 60.0
    store.put_many([BARE, BARE])
    store.mark_sent(1)
    stats = store.stats()
    assert (stats.pending, stats.oldest_pending_at) == (2, 60.0)
    page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    free = store._db.execute("PRAGMA freelist_count").fetchone()[0]
    assert stats.used_bytes == (pages - free) * page_size
    assert 0 < stats.free_disk_bytes <= shutil.disk_usage(store.path.parent).total
    assert OutboxStats(1, None, 250, 1000, 0).used_fraction == 0.25


def test_page_bytes_splits_used_from_reusable(store: OutboxStore) -> None:
    store.put_many([OutboundMessage("t", b"z" * 200_000)])
    used_before, _ = store._page_bytes()
    store.mark_sent(1)
    store._drop_sent()
    used, reusable = store._page_bytes()
    page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
    free_pages = store._db.execute("PRAGMA freelist_count").fetchone()[0]
    assert reusable == free_pages * page_size > 150_000
    assert used + reusable == used_before + reusable - (used_before - used)
    assert used < used_before


# ---- the async face ----------------------------------------------------------------------------


def test_async_outbox_runs_every_call_off_the_loop(tmp_path: Path) -> None:
    async def scenario() -> None:
        outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**8, 0.5, min_free_disk_bytes=0))
        assert not outbox.changed.is_set()
        admission = await outbox.put_recording([FULL, BARE])
        assert outbox.changed.is_set()
        assert admission == Admission(True, False, None)
        outbox.changed.clear()
        assert await outbox.put_many([BARE]) == [3]
        assert outbox.changed.is_set()
        assert await outbox.has_recording("r-1")
        assert not await outbox.has_recording("r-2")
        assert [p.message for p in await outbox.pending(10)] == [FULL, BARE, BARE]
        assert [p.seq for p in await outbox.pending(1, after_seq=1)] == [2]
        await outbox.mark_sent_many([1, 2])
        assert (await outbox.stats()).pending == 1
        assert await outbox.prune_sent(-1) == 2
        assert (await outbox.admission(10**8)).accept is False
        outbox.close()
        with pytest.raises(sqlite3.ProgrammingError):
            outbox.store.stats()

    asyncio.run(scenario())


def test_async_put_recording_returns_the_alarm(tmp_path: Path) -> None:
    async def scenario() -> Admission:
        store = OutboxStore(tmp_path / "o.db", 10**8, alarm_fraction=1e-9, min_free_disk_bytes=0)
        outbox = Outbox(store)
        try:
            return await outbox.put_recording([BARE])
        finally:
            outbox.close()

    admission = asyncio.run(scenario())
    assert admission.accept and admission.alarm
    assert admission.reason is not None and admission.reason.startswith("outbox at ")


def test_async_outbox_uses_two_single_threads(tmp_path: Path) -> None:
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**8, min_free_disk_bytes=0))
    try:
        assert outbox._executor._max_workers == 1
        assert outbox._read_executor._max_workers == 1
        assert outbox._executor is not outbox._read_executor
    finally:
        outbox.close()


def test_a_value_sqlite_cannot_bind_is_an_outbox_error(store: OutboxStore) -> None:
    odd = OutboundMessage("t", b"x", content_type=object())  # type: ignore[arg-type]
    with pytest.raises(OutboxError, match="cannot store in the outbox: Error binding") as info:
        store.put_many([BARE, odd])
    assert not isinstance(info.value, OutboxFullError)
    assert store.pending(10) == []
    assert store.put_many([BARE]) == [1]


def test_executor_threads_are_named_for_the_outbox(tmp_path: Path) -> None:
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**8, min_free_disk_bytes=0))
    try:
        assert outbox._executor._thread_name_prefix == "outbox"
        assert outbox._read_executor._thread_name_prefix == "outbox-read"
    finally:
        outbox.close()


def test_writes_and_reads_run_on_their_own_threads(tmp_path: Path) -> None:
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**8, min_free_disk_bytes=0))
    seen: dict[str, str] = {}
    store = outbox.store
    real_stats, real_pending = store.stats, store.pending

    def stats() -> OutboxStats:
        seen["write"] = threading.current_thread().name
        return real_stats()

    def pending(limit: int, after_seq: int = 0) -> list[StoredMessage]:
        seen["read"] = threading.current_thread().name
        return real_pending(limit, after_seq)

    store.stats, store.pending = stats, pending  # type: ignore[method-assign]

    async def scenario() -> None:
        await outbox.stats()
        await outbox.pending(1)

    asyncio.run(scenario())
    outbox.close()
    assert seen["write"].startswith("outbox_") and seen["read"].startswith("outbox-read_")


@pytest.mark.parametrize("which", ["_executor", "_read_executor"])
def test_close_waits_for_queued_work(tmp_path: Path, which: str) -> None:
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**8, min_free_disk_bytes=0))
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.2)
        done.append(which)

    getattr(outbox, which).submit(slow)  # work queued on that thread alone
    outbox.close()
    assert done == [which]


def test_outbox_files_are_private(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "a" / "b" / "o.db", quota_bytes=10**8, min_free_disk_bytes=0)
    store.put_many([BARE])
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / "a" / "b" / f"o.db{suffix}"
        assert path.exists() and (path.stat().st_mode & 0o777) == 0o600, suffix
    store.close()


# ---- construction, clock, receipts' bookkeeping -------------------------------------------


def _one(topic: str, recording_id: str | None = None) -> OutboundMessage:
    return OutboundMessage(topic, topic.encode(), recording_id=recording_id)


def test_a_store_waits_for_no_receipt_unless_asked(tmp_path: Path) -> None:
    assert OutboxStore(tmp_path / "a.db", QUOTA).await_receipts is False
    assert OutboxStore(tmp_path / "b.db", QUOTA, await_receipts=True).await_receipts is True


def test_a_wal_and_shm_readable_by_others_are_made_private_on_open(tmp_path: Path) -> None:
    path = tmp_path / "state" / "o.db"
    running = OutboxStore(path, 10**6)  # keeps its WAL and -shm open, as a crash leaves them
    running.put_many([_one("h/triage")])
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").chmod(0o644)  # e.g. copied by hand, or an older release's
    second = OutboxStore(path, 10**6)
    modes = {s: Path(f"{path}{s}").stat().st_mode & 0o777 for s in ("", "-wal", "-shm")}
    second.close()
    running.close()
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_pruning_reads_the_stores_clock_and_forgets_old_receipts(tmp_path: Path) -> None:
    now = [1_000.0]
    store = OutboxStore(tmp_path / "o.db", 10**6, await_receipts=True, clock=lambda: now[0])
    flac = b"fLaC" + bytes(100)
    audio = OutboundMessage("h/recordings/audio", flac, content_type="audio/flac", recording_id="r")
    store.put_many([audio])
    store.mark_sent_many([m.seq for m in store.pending(10)])
    # Archived at 1,000 by the store's clock, not the wall's.
    store.apply_receipt("r", hashlib.sha256(flac).hexdigest())
    now[0] = 1_010.0
    assert store.prune_sent(20) == 0  # sent at 1,000: younger than 20 s by the store's clock
    assert store.prune_sent(5) == 1
    assert store._db.execute("SELECT COUNT(*) FROM receipts").fetchone()[0] == 0


def test_a_receipt_the_database_cannot_take_names_the_cause(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", QUOTA, await_receipts=True)
    store._db.close()
    with pytest.raises(OutboxError, match=r"^cannot update receipts in the outbox: Cannot operate"):
        store.apply_receipt("r1", "0" * 64)


def test_payloads_on_a_topic_sent_or_not_oldest_first(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db", 10**6)
    store.put_many([_one("h/alerts"), _one("h/triage"), _one("h/alerts")])
    store.mark_sent(store.pending(1)[0].seq)
    store.put_many([OutboundMessage("h/alerts", b"last")])
    assert store.payloads_on("h/alerts") == [b"h/alerts", b"h/alerts", b"last"]
    assert store.payloads_on("h/triage") == [b"h/triage"]
    assert store.payloads_on("h/none") == []
