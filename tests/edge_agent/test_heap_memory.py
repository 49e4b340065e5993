"""Memory the agent holds outside Python's heap stays bounded (issue 18's one-hour soak).

The soak (bench/soak_bench.py, docs/scaling.md) found RSS growing where tracemalloc sees
nothing: SQLite's page caches, and what glibc's malloc keeps after each recording's analysis in
the arenas of an unbounded set of worker threads. These are the fast checks of each remedy.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import platform
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_agent.config import parse_config
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime import daemon, heap
from edge_agent.storage.outbox import CACHE_KIB, OutboundMessage, OutboxStore
from edge_agent.wire.recording import Capture, RecordingContext

RATE = 4000
CTX = RecordingContext("home-m", "pi-m", "steth-m", "res-1", "mitral", "heart")


def _sqlite_memory_used() -> int | None:
    """Bytes SQLite holds in this process, if Python's sqlite3 uses the shared library."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def test_outbox_connections_keep_a_small_page_cache(tmp_path: Path) -> None:
    before = _sqlite_memory_used()
    store = OutboxStore(tmp_path / "outbox.sqlite3", quota_bytes=1 << 30)
    try:
        for db in (store._db, store._reader):
            assert db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB  # default -2000
        audio = os.urandom(100_000)  # about one 20 s FLAC
        for i in range(30):  # SQLite's default 2 MB cache was full after about 20
            store.put_many([OutboundMessage("s/d/audio", audio, recording_id=str(i))])
            store.mark_sent_many([m.seq for m in store.pending(10)])
        after = _sqlite_memory_used()
    finally:
        store.close()
    if before is not None and after is not None:
        assert after - before < 2 * CACHE_KIB * 1024 + 512 * 1024  # was about 2.3 MB


@pytest.fixture
def fresh_trimmer() -> Iterator[None]:
    heap.trimmer.cache_clear()
    yield
    heap.trimmer.cache_clear()


@pytest.mark.usefixtures("fresh_trimmer")
def test_release_free_heap_does_nothing_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert heap.trimmer() is None
    assert heap.release_free_heap() is False


@pytest.mark.usefixtures("fresh_trimmer")
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_free_heap_trims_on_glibc() -> None:
    assert heap.trimmer() is not None
    kept = [bytearray(64 * 1024) for _ in range(200)][::2]  # freed pieces between kept ones
    assert isinstance(heap.release_free_heap(), bool)
    assert len(kept) == 100


def _agent(state: Path) -> daemon.Agent:
    raw = {
        "site": "home-m",
        "agent_id": "pi-m",
        "broker": {"host": "127.0.0.1", "port": 1},
        "storage": {"state_dir": str(state)},
    }
    return daemon.Agent(parse_config(raw, "test"))


def test_agent_trims_on_its_analysis_thread_after_each_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[str] = []

    def trim() -> bool:
        trims.append(_thread())
        return True

    monkeypatch.setattr(daemon, "release_free_heap", trim)
    agent = _agent(tmp_path / "state")
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * RATE).astype(np.float32)

    async def two_recordings() -> None:
        for _ in range(2):
            capture = Capture(uuid.uuid4(), time.time(), RATE, samples, (), False)
            assert await agent.accept(capture, CTX, DeviceStats())

    try:
        asyncio.run(two_recordings())
    finally:
        agent.analysis.shutdown(wait=True)  # runs the trims still queued
        agent.journal.close()
        agent.outbox.close()
        agent.exams.store.close()
    assert trims == ["analysis_0", "analysis_0"]  # one thread; not asyncio's growing pool


def _thread() -> str:
    return threading.current_thread().name


def test_stetho_run_bounds_the_worker_threads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: set[str] = set()

    def work() -> None:
        seen.add(_thread())
        time.sleep(0.02)

    class BusyAgent:
        def __init__(self, config: object) -> None:
            pass

        async def run(self) -> None:  # many short jobs at once, as in a burst of activity
            await asyncio.gather(*(asyncio.to_thread(work) for _ in range(12)))

    monkeypatch.setattr(daemon, "Agent", BusyAgent)
    state = {"state_dir": str(tmp_path)}  # run() holds it: not the machine's /var/lib
    asyncio.run(daemon.run(parse_config({"site": "s", "broker": {"host": "h"}, "storage": state},
                                        "test")))  # fmt: skip
    # asyncio's own default is min(32, cpus + 4) threads, each with a malloc arena of its own.
    assert 1 <= len(seen) <= daemon.WORKER_THREADS
