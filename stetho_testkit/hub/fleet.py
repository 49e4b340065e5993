"""A fleet of simulated care homes against real hub processes: the hub's scale-out scenario.

Each care home is one MQTT v5 connection that publishes recordings in the real wire format
(stetho_testkit/hub/factory.py: FLAC, metadata, user properties, QoS 1, audio before metadata,
each waiting for its PUBACK) and subscribes to its own receipts, as an agent does. The homes
share one event loop on the agent's own transport (`MqttConnection`): a paho thread per home,
as `WirePublisher` has, would be a thousand threads for a thousand homes.

Time runs `speedup` times faster than real: each stethoscope records every `interval_s`
simulated seconds from a random phase, so a home with three stethoscopes and 300 s sends a
recording every 100 simulated seconds. The hubs are `python -m stetho_hub run` processes
(harness.HubProcess); their CPU time and peak RSS come from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttConnection, MqttSettings, ReceivedMessage
from edge_agent.wire import topics
from firmware_bridge.flac import FLAC_CONTENT_TYPE
from stetho_hub.storage import DatabaseTarget, open_database, summary
from stetho_testkit.hub.factory import WireRecording, make_recording
from stetho_testkit.hub.harness import HubProcess, write_hub_config
from stetho_testkit.poll import eventually

CONNECTS_AT_ONCE = 32  # the default executor runs paho's blocking connect()s
DRAIN_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class FleetPlan:
    homes: int
    devices_per_home: int = 3
    interval_s: float = 300.0  # simulated seconds between one stethoscope's recordings
    sim_s: float = 900.0  # simulated time span
    speedup: float = 10.0
    audio_s: float = 0.5  # seconds of 4 kHz audio per recording
    seed: int = 1

    def __post_init__(self) -> None:
        if self.homes < 1 or self.devices_per_home < 1 or self.speedup <= 0:
            raise ValueError(f"a fleet needs homes, devices and a positive speed-up: {self}")

    def schedule(self) -> dict[int, list[tuple[float, int]]]:
        """Per home: (real seconds from the start, device index), in time order."""
        rng = random.Random(self.seed)
        plan: dict[int, list[tuple[float, int]]] = {}
        for home in range(self.homes):
            shots = []
            for device in range(self.devices_per_home):
                at = rng.uniform(0, self.interval_s)
                while at < self.sim_s:
                    shots.append((at / self.speedup, device))
                    at += self.interval_s
            plan[home] = sorted(shots)
        return plan

    @property
    def recordings(self) -> int:
        return sum(len(s) for s in self.schedule().values())


def site_of(home: int) -> str:
    return f"home-{home:04d}"


def _messages(rec: WireRecording) -> tuple[OutboundMessage, OutboundMessage]:
    audio = OutboundMessage(
        rec.audio_topic, rec.flac, content_type=FLAC_CONTENT_TYPE, user_properties=rec.properties
    )
    meta = OutboundMessage(
        rec.meta_topic,
        rec.meta_json,
        content_type="application/json",
        user_properties=rec.properties,
    )
    return audio, meta


class Fleet:
    """The care homes' side: connections, publishing by the schedule, receipts received."""

    def __init__(self, plan: FleetPlan, port: int) -> None:
        self.plan, self.port = plan, port
        self.published: dict[str, float] = {}  # recording id -> wall clock before its audio
        self.receipts: Counter[str] = Counter()
        self.receipt_at: dict[str, float] = {}
        self._inbox: asyncio.Queue[ReceivedMessage] = asyncio.Queue()
        self._connections: list[MqttConnection] = []
        self.started = time.time()  # set again when publishing starts

    async def connect(self) -> None:
        limit = asyncio.Semaphore(CONNECTS_AT_ONCE)

        async def one(home: int) -> MqttConnection:
            settings = MqttSettings(
                "127.0.0.1", self.port, f"fleet-{home}", keepalive_s=60, session_expiry_s=0,
                clean_start=True, subscriptions=(topics.receipts(site_of(home)),),
            )  # fmt: skip
            connection = MqttConnection(settings, self._inbox)
            async with limit:
                await connection.connect()
            return connection

        self._connections = list(await asyncio.gather(*map(one, range(self.plan.homes))))

    async def publish(self) -> None:
        start = time.monotonic()
        self.started = time.time()
        async with asyncio.TaskGroup() as group:
            for home, shots in self.plan.schedule().items():
                group.create_task(self._home(home, shots, start))

    async def _home(self, home: int, shots: list[tuple[float, int]], start: float) -> None:
        connection = self._connections[home]
        for n, (offset, device) in enumerate(shots):
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            seed = self.plan.seed * 10_000_000 + home * 1000 + n
            # Made in a thread: encoding the FLAC on a busy machine held the loop past 0.5 s.
            rec = await asyncio.to_thread(
                make_recording, seed, site_of(home), f"steth-{device}", seconds=self.plan.audio_s
            )
            self.published[rec.recording_id] = time.time()
            for message in _messages(rec):
                await connection.publish(message)

    async def receive(self) -> None:
        while True:
            message = await self._inbox.get()
            rid = json.loads(message.payload)["recording_id"]
            self.receipts[rid] += 1
            self.receipt_at.setdefault(rid, time.time())

    async def wait_receipts(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):  # the caller counts what is missing
            await eventually(lambda: len(self.receipt_at) >= len(self.published), timeout_s, 0.1)

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self._connections))


def proc_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, user + system; peak RSS in MiB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return cpu, int(hwm.split()[1]) / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _archived(target: DatabaseTarget) -> tuple[dict[str, float], dict[str, object]]:
    db = open_database(target)
    try:
        with db.transaction() as tx:
            rows = tx.all("SELECT recording_id, archived_at FROM archived")
        counts = summary(db)
    finally:
        db.close()
    return {str(r): datetime.fromisoformat(str(a)).timestamp() for r, a in rows}, counts


async def _drive(fleet: Fleet, timeout_s: float) -> None:
    await fleet.connect()
    receiver = asyncio.create_task(fleet.receive())
    try:
        await fleet.publish()
        await fleet.wait_receipts(timeout_s)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await fleet.close()


def run_fleet(
    plan: FleetPlan,
    broker: LocalBroker,
    target: DatabaseTarget,
    workdir: Path,
    hubs: int = 1,
    timeout_s: float = DRAIN_TIMEOUT_S,
) -> dict[str, Any]:
    """Publish the plan against `hubs` hub processes (a shared subscription when more than
    one); return the figures and the exactly-once check."""
    group = "hubs" if hubs > 1 else None
    processes = []
    for n in range(hubs):
        config = write_hub_config(
            workdir / f"hub-{n}.toml", broker.port, target, workdir / "audio", f"scale-{n}", group
        )
        processes.append(HubProcess(config, workdir / f"hub-{n}.log"))
    with contextlib.ExitStack() as stack:
        for hub in processes:
            stack.callback(hub.close)  # killed even when an assertion fails halfway
            hub.start()
        assert all(h.process is not None for h in processes)
        cpu_before = [proc_usage(h.process.pid)[0] for h in processes if h.process]
        fleet = Fleet(plan, broker.port)
        asyncio.run(_drive(fleet, timeout_s))
        usage = [proc_usage(h.process.pid) for h in processes if h.process]
        for hub in processes:
            hub.stop()
    archived, counts = _archived(target)
    return _figures(plan, fleet, processes, archived, counts, cpu_before, usage)


def _figures(
    plan: FleetPlan,
    fleet: Fleet,
    hubs: list[HubProcess],
    archived: dict[str, float],
    counts: dict[str, object],
    cpu_before: list[float],
    usage: list[tuple[float, float]],
) -> dict[str, Any]:
    ids = set(fleet.published)
    logged = Counter(rid for hub in hubs for rid in hub.archived_ids())
    lags = [archived[r] - fleet.published[r] for r in ids & set(archived)]
    receipt_lags = [fleet.receipt_at[r] - fleet.published[r] for r in ids & set(fleet.receipt_at)]
    started = fleet.started
    last = max(archived.values(), default=started)
    return {
        "homes": plan.homes,
        "stethoscopes": plan.homes * plan.devices_per_home,
        "speedup": plan.speedup,
        "audio_s": plan.audio_s,
        "hubs": len(hubs),
        "published": len(ids),
        "offered_recordings_per_s": round(len(ids) / (plan.sim_s / plan.speedup), 1),
        "archived": len(ids & set(archived)),
        "recordings_per_s": round(len(archived) / max(last - started, 1e-9), 1),
        "ingest_lag_p50_s": round(_pct(lags, 0.50), 3),
        "ingest_lag_p99_s": round(_pct(lags, 0.99), 3),
        "ingest_lag_max_s": round(max(lags, default=float("nan")), 3),
        "receipt_lag_p99_s": round(_pct(receipt_lags, 0.99), 3),
        "receipted": len(ids & set(fleet.receipt_at)),
        "hub_cpu_s": [round(u[0] - b, 2) for u, b in zip(usage, cpu_before, strict=True)],
        "hub_peak_rss_mib": [round(u[1], 1) for u in usage],
        "archived_per_hub": [len(h.archived_ids()) for h in hubs],
        "archived_exactly_once": (
            set(archived) == ids
            and set(logged) == ids
            and max(logged.values(), default=0) == 1
            and counts["recordings_metadata"] == counts["recordings_audio"] == len(ids)
        ),
    }
