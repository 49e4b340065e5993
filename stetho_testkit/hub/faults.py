"""Faults while real agents record: the hub SIGKILLed, PostgreSQL restarted, nothing lost.

Issue 15's fault test, on real parts: several `stetho run` agents (one care home each, simulated
stethoscopes running faster than real, `receipt_timeout_s` short so unreceipted recordings are
sent again), one Mosquitto, a `python -m stetho_hub run` process on a PostgreSQL started by the
test. While the recordings arrive the hub is SIGKILLed and PostgreSQL stopped ("immediate", as a
crash) and started again, each at a random point. Then the agents stop recording (restarted
without a schedule, as a nurse ending monitoring does) and drain. The truth is read from the
files, not the logs: every recording an agent's outbox holds is archived exactly once, with the
SHA-256 of the FLAC the agent stored, and no outbox still waits for a receipt.
The short form runs in `make test` (tests/stetho_hub/test_faults.py), the 300-recording form in
`make bench` (bench/hub_faults_bench.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.receipts import FLAC
from edge_agent.storage.salvage import OUTBOX_FILE
from stetho_hub.storage import AudioStore, DatabaseTarget, open_database, summary
from stetho_testkit.agent_harness import AgentProcess, write_config
from stetho_testkit.hub.harness import HubProcess, archived, receipts_status, write_hub_config
from stetho_testkit.poll import wait_until
from stetho_testkit.postgres import PostgresServer


@dataclass(frozen=True)
class FaultPlan:
    """`recordings` to wait for (a few more arrive while the agents stop); the faults."""

    recordings: int
    agents: int = 3
    devices: int = 2  # stethoscopes per agent
    hub_kills: int = 3
    postgres_restarts: int = 1
    speed: float = 20.0  # the simulated stethoscopes' clock against the wall clock
    interval_s: float = 20.0  # simulated seconds between two recordings of one stethoscope
    receipt_timeout_s: float = 3.0
    seed: int = 15
    drain_timeout_s: float = 180.0


@dataclass
class CareHome:
    """One agent process, its config and state directory."""

    index: int
    workdir: Path
    port: int
    plan: FaultPlan
    process: AgentProcess = field(init=False)

    def __post_init__(self) -> None:
        self.process = AgentProcess(self.config(monitoring=True), self.workdir / "agent.log")

    @property
    def state(self) -> Path:
        return self.workdir / "state"

    def config(self, monitoring: bool) -> Path:
        devices = tuple(f"steth-{d}" for d in range(self.plan.devices))
        return write_config(
            self.workdir / "agent.toml",
            self.port,
            self.state,
            devices=devices,
            speed=self.plan.speed,
            interval_s=self.plan.interval_s,
            duration_s=1.0,
            site=f"home-{self.index}",
            agent_id=f"pi-{self.index}",
            receipt_timeout_s=self.plan.receipt_timeout_s,
            first_seed=self.plan.seed * 100 + self.index * self.plan.devices,  # no twin audio
            monitoring=monitoring,
        )

    def stop(self) -> None:
        """SIGTERM; an agent that does not exit is made to show where it hangs (SIGABRT
        makes Python's faulthandler, on via PYTHONFAULTHANDLER, print every thread's stack)."""
        try:
            code = self.process.stop()
        except subprocess.TimeoutExpired:
            assert self.process.process is not None
            self.process.process.send_signal(signal.SIGABRT)
            self.process.process.wait(timeout=10)
            raise AssertionError(
                f"agent {self.index} ignored SIGTERM:\n{self.process.output()[-6000:]}"
            ) from None
        assert code == 0, self.process.output()[-3000:]

    def stop_recording(self) -> None:
        """SIGTERM (the recording in progress is kept, as a partial one), then idle."""
        self.stop()
        self.config(monitoring=False)
        self.process.start()

    def close(self) -> None:
        if self.process.process is not None and self.process.process.poll() is None:
            self.process.kill()


def quiet_broker(workdir: Path) -> LocalBroker:
    """A Mosquitto that keeps its queues in memory. The broker is never restarted here, and
    the tests' usual one saves its whole database after every change (`autosave_on_changes`,
    interval 1): with megabytes of FLAC queued for the hub during a fault, each message then
    rewrites them all, PUBACKs took longer than the hub's 30 s and the run never drained.
    Mosquitto's own default saves every 30 minutes."""
    return LocalBroker(workdir, persistence=False)


def outbox_flacs(state: Path) -> dict[str, dict[str, Any]]:
    """Per recording in an outbox: the SHA-256 its receipt must name, whether one came, and the
    SHA-256 of the FLAC bytes the outbox holds (read-only, the agent may still run)."""
    db = sqlite3.connect(f"file:{state / OUTBOX_FILE}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT recording_id, audio_sha256, archived_at FROM receipts")
        out = {str(r): {"expected": s, "receipted": a is not None} for r, s, a in rows}
        flacs = db.execute(
            "SELECT m.recording_id, p.payload FROM messages m JOIN payloads p ON p.seq = m.seq"
            " WHERE m.content_type = ?",
            (FLAC,),
        )
        for rid, payload in flacs:
            out.setdefault(str(rid), {}).setdefault("held", set()).add(
                hashlib.sha256(payload).hexdigest()
            )
    finally:
        db.close()
    return out


def _fault_points(plan: FaultPlan, rng: random.Random) -> list[tuple[int, str]]:
    """Which fault comes when: at random counts of stored recordings, in a random order."""
    kinds = ["hub_sigkill"] * plan.hub_kills + ["postgresql_restart"] * plan.postgres_restarts
    rng.shuffle(kinds)
    points = rng.sample(range(max(1, plan.recordings // 10), plan.recordings * 8 // 10), len(kinds))
    return list(zip(sorted(points), kinds, strict=True))


def _stored(homes: list[CareHome]) -> set[str]:
    ids: set[str] = set()
    for home in homes:
        assert home.process.process is not None and home.process.process.poll() is None, (
            home.process.output()[-3000:]
        )
        ids |= home.process.stored_ids()
    return ids


def _wait_stored(homes: list[CareHome], n: int, timeout_s: float = 300) -> None:
    wait_until(
        lambda: len(_stored(homes)) >= n,
        timeout_s,
        what=f"{n} recordings to be stored",
        describe=lambda: f"agents stored {len(_stored(homes))} of {n}",
    )


def _inject(
    homes: list[CareHome], hub: HubProcess, postgres: PostgresServer, plan: FaultPlan
) -> list[dict[str, Any]]:
    """Each fault once its point is reached; how long the hub or the database was away."""
    rng = random.Random(plan.seed)
    done = []
    for at, kind in _fault_points(plan, rng):
        _wait_stored(homes, at)
        down = time.monotonic()
        if kind == "hub_sigkill":
            hub.kill()
            time.sleep(rng.uniform(0.1, 1.0))  # recordings queue at the broker meanwhile
            hub.start()  # returns once it is connected to the broker again
        else:
            postgres.stop("immediate")  # as a crash would: no checkpoint, no goodbye
            time.sleep(rng.uniform(0.5, 2.0))
            postgres.start()
        away = round(time.monotonic() - down, 2)
        done.append({"fault": kind, "at_stored": len(_stored(homes)), "away_s": away})
    return done


def _drained(homes: list[CareHome], target: DatabaseTarget) -> bool:
    """Every recording an agent logged is archived, and no outbox waits for a receipt."""
    in_archive = set(archived(target))
    for home in homes:
        outbox = outbox_flacs(home.state)
        if not home.process.stored_ids() <= in_archive:
            return False
        if not all(row.get("receipted") for row in outbox.values()):
            return False
    return True


def _wait_drained(
    homes: list[CareHome], target: DatabaseTarget, hub: HubProcess, timeout_s: float
) -> None:
    wait_until(
        lambda: _drained(homes, target),
        timeout_s,
        every_s=0.5,
        what="the outboxes to drain",
        describe=lambda: ([receipts_status(h.state) for h in homes], hub.output()[-3000:]),
    )


@contextlib.contextmanager
def _faulthandler_on() -> Iterator[None]:
    """Child processes print every thread's stack on SIGABRT (see CareHome.stop)."""
    before = os.environ.get("PYTHONFAULTHANDLER")
    os.environ["PYTHONFAULTHANDLER"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONFAULTHANDLER"]
        else:
            os.environ["PYTHONFAULTHANDLER"] = before


@contextlib.contextmanager
def _running(hub: HubProcess, homes: list[CareHome]) -> Iterator[None]:
    """The hub and the agents are killed whatever happens (a failed assertion included)."""
    try:
        yield
    finally:
        for home in homes:
            home.close()
        hub.close()


def run_faults(
    broker: LocalBroker,
    postgres: PostgresServer,
    workdir: Path,
    plan: FaultPlan,
    database: str = "faults",
) -> dict[str, Any]:
    """The scenario; returns counts, durations and the checks' outcomes (asserting nothing)."""
    target = DatabaseTarget("postgresql", postgres.create_database(database))
    audio = workdir / "audio"
    hub_config = write_hub_config(workdir / "hub.toml", broker.port, target, audio)
    hub = HubProcess(hub_config, workdir / "hub.log")
    homes = []
    for i in range(plan.agents):
        (workdir / f"home-{i}").mkdir(parents=True)
        homes.append(CareHome(i, workdir / f"home-{i}", broker.port, plan))
    with _faulthandler_on(), _running(hub, homes):
        hub.start()
        started = time.monotonic()
        for home in homes:
            home.process.start()
        faults = _inject(homes, hub, postgres, plan)
        _wait_stored(homes, plan.recordings)
        arrived_s = time.monotonic() - started
        with ThreadPoolExecutor(len(homes)) as pool:  # together, so none records meanwhile
            list(pool.map(CareHome.stop_recording, homes))
        stopped = time.monotonic()
        _wait_drained(homes, target, hub, plan.drain_timeout_s)
        drained_s = time.monotonic() - stopped
        for home in homes:
            home.stop()
        assert hub.stop() == 0, hub.output()[-3000:]
    figures = check(homes, hub, target, audio)
    figures.update(
        faults=faults,
        recordings_arrived_s=round(arrived_s, 1),
        drained_after_capture_stopped_s=round(drained_s, 1),
        total_s=round(time.monotonic() - started, 1),
    )
    return figures


def _sent_again(log: str) -> int:
    return sum(int(n) for n in re.findall(r"event=recordings_sent_again count=(\d+)", log))


def check(
    homes: list[CareHome], hub: HubProcess, target: DatabaseTarget, audio: Path
) -> dict[str, Any]:
    """What the files say once every process has stopped: the outboxes against the archive."""
    outboxes = {h.index: outbox_flacs(h.state) for h in homes}
    in_outboxes = {rid: row for rows in outboxes.values() for rid, row in rows.items()}
    logged_stored = set().union(*(h.process.stored_ids() for h in homes))
    archive = archived(target)
    db = open_database(target)
    try:
        counts = summary(db)
    finally:
        db.close()
    store = AudioStore(audio)
    sha_ok = [
        rid in archive
        and row["expected"] == archive[rid]
        and row.get("held", {row["expected"]}) == {archive[rid]}
        and hashlib.sha256(store.read(archive[rid])).hexdigest() == archive[rid]
        for rid, row in in_outboxes.items()
    ]
    hub_logged = Counter(hub.archived_ids())
    agent_logs = [h.process.output() for h in homes]
    return {
        "agents": len(homes),
        "recordings_stored": len(in_outboxes),
        "stored_but_not_in_outbox": len(logged_stored - set(in_outboxes)),
        "archived": len(set(archive) & set(in_outboxes)),
        "archived_unknown_to_agents": len(set(archive) - set(in_outboxes)),
        "hub_rows": {k: counts[k] for k in ("recordings_metadata", "recordings_audio")},
        "hub_logged_archived_twice": sum(1 for n in hub_logged.values() if n > 1),
        "sha256_matches_agent": sum(sha_ok),
        "unreceipted_in_outboxes": sum(1 for r in in_outboxes.values() if not r.get("receipted")),
        "receipt_mismatches": sum(log.count("event=receipt_mismatch") for log in agent_logs),
        "sent_again": sum(_sent_again(log) for log in agent_logs),
        "hub_storage_unavailable": hub.output().count("event=storage_unavailable"),
        "hub_connects": hub.output().count("event=hub_connected"),
    }


def assert_nothing_lost(figures: dict[str, Any]) -> None:
    """Issue 15: each recording archived exactly once, the agent's SHA-256, no outbox waiting."""
    n = figures["recordings_stored"]
    assert n > 0 and figures["stored_but_not_in_outbox"] == 0, figures
    assert figures["archived"] == n and figures["archived_unknown_to_agents"] == 0, figures
    assert figures["hub_rows"] == {"recordings_metadata": n, "recordings_audio": n}, figures
    assert figures["hub_logged_archived_twice"] == 0, figures
    assert figures["sha256_matches_agent"] == n, figures
    assert figures["unreceipted_in_outboxes"] == 0, figures
    assert figures["receipt_mismatches"] == 0, figures
