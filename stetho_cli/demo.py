"""`stetho demo`: the whole chain on one machine, ending by itself with a summary.

Simulated stethoscopes -> agent (analysis, FLAC, outbox) -> a private Mosquitto on a free
loopback port -> the hospital hub (SQLite archive, receipts back to the agent) and a doctor's
subscriber that prints the alerts it receives; each recording's FHIR R4 Bundle, validated, is
written to a folder.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from edge_agent.config import parse_config
from edge_agent.runtime.daemon import Agent
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.mqtt import MqttSettings, ReceivedMessage
from edge_agent.wire import messages, topics
from stetho_common.waits import stopped
from stetho_doctor.client import reasons_text, received
from stetho_hub.config import HubConfig
from stetho_hub.fhir.bundle import build_bundle, bundle_json
from stetho_hub.fhir.from_saved import exam_from_message
from stetho_hub.ingest.runner import mqtt_settings as hub_mqtt_settings
from stetho_hub.ingest.runner import open_archive
from stetho_hub.ingest.service import IngestService

RECORDINGS_PER_DEVICE = 2
DEMO_SITE = "demo-care-home"

# Four residents, four stethoscopes; the simulator runs 10x faster than real time.
DEMO_DEVICES: list[dict[str, Any]] = [
    {"id": "steth-1", "scenario": "normal", "resident": "res-0001", "auscultation_site": "mitral"},
    {"id": "steth-2", "scenario": "tachycardia", "resident": "res-0002",
     "auscultation_site": "aortic"},
    {"id": "steth-3", "scenario": "irregular", "resident": "res-0003",
     "auscultation_site": "mitral"},
    {"id": "steth-4", "scenario": "wheeze", "resident": "res-0004",
     "auscultation_site": "lung-right-lower", "analysis_kind": "lung"},
]  # fmt: skip


def demo_config(
    state_dir: Path, port: int, recordings: int | None = RECORDINGS_PER_DEVICE
) -> dict[str, Any]:
    """The agent's config; each stethoscope stops after `recordings` (None: never)."""
    # The demo's stethoscopes make their recordings and no more: a slow machine is not buried.
    limit = {} if recordings is None else {"recordings": recordings}
    devices = [
        {
            "kind": "simulated",
            "seed": index,
            "speed": 10.0,
            "monitoring": {"interval_s": 20.0, "duration_s": 15.0, **limit},
            **device,
        }
        for index, device in enumerate(DEMO_DEVICES)
    ]
    return {
        "site": DEMO_SITE,
        "agent_id": "demo-pi",
        "broker": {"host": "127.0.0.1", "port": port},
        # The hub runs: keep each recording until its receipt, as a care home with a hub does.
        "storage": {"state_dir": str(state_dir), "receipt_timeout_s": 30.0},
        "devices": devices,
    }


def hub_config(workdir: Path, port: int) -> HubConfig:
    return HubConfig.model_validate(
        {
            "hub_id": "demo-hub",
            "broker": {"host": "127.0.0.1", "port": port},
            "database": {"sqlite": str(workdir / "hub.sqlite3")},
            "archive": {"audio_dir": str(workdir / "hub-audio")},
        }
    )


class DoctorView:
    """What a doctor's subscriber saw."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.recording_ids: dict[str, int] = {}
        self.last_level: dict[str, str] = {}  # device -> triage of its last analysed recording
        self.alerts = 0
        self.audio_bytes = 0
        self.metadata: dict[str, bytes] = {}  # recording id -> its stetho.recording message
        self.audio: dict[str, bytes] = {}  # recording id -> its FLAC

    def handle(self, message: ReceivedMessage) -> None:
        if message.topic.endswith("/recordings/audio"):
            self.audio_bytes += len(message.payload)
            rid = dict(message.user_properties).get("recording_id")
            if rid is not None:
                self.audio[rid] = message.payload
            return
        body = json.loads(message.payload)
        if message.topic.endswith("/recordings"):
            self.metadata[body["recording_id"]] = message.payload
            device = body["device"]
            self.recording_ids[device] = self.recording_ids.get(device, 0) + 1
            if body.get("analysis") is not None:  # a recording cut short may carry none
                self.last_level[device] = body["analysis"]["triage"]["level"]
        elif message.topic.endswith("/alerts"):
            self.alerts += 1
            reasons = reasons_text([f["reason"] for f in body["flags"]])
            colour = "red" if body["level"] == "urgent" else "yellow"
            self.console.print(
                f"[bold {colour}]ALERT {body['level'].upper()}[/] {body['site']} "
                f"resident {body['resident']} ({body['auscultation_site']}, {body['device']}): "
                f"{reasons}",
                highlight=False,
            )

    def complete(self, devices: int) -> bool:
        return len(self.recording_ids) == devices and all(
            n >= RECORDINGS_PER_DEVICE for n in self.recording_ids.values()
        )


async def _follow(settings: MqttSettings, view: DoctorView) -> None:
    async for message in received(settings):
        view.handle(message)


async def run_demo(seconds: float, console: Console, fhir_dir: Path) -> bool:
    """Run the demo; True when every device's recordings reached the doctor and the hub."""
    with (
        tempfile.TemporaryDirectory(prefix="stetho-demo-") as tmp,
        LocalBroker(Path(tmp) / "broker") as broker,
    ):
        console.print(f"[bold]stetho demo[/]: private broker at {broker.url}")
        config = parse_config(demo_config(Path(tmp) / "state", broker.port), "demo defaults")
        hub_settings = hub_config(Path(tmp), broker.port)
        archive = await asyncio.to_thread(open_archive, hub_settings)
        hub = IngestService(hub_mqtt_settings(hub_settings), archive, hub_settings.hub_id)
        agent = Agent(config)
        view = DoctorView(console)
        doctor = MqttSettings(
            host=broker.host,
            port=broker.port,
            client_id="demo-doctor",
            clean_start=True,
            session_expiry_s=0,
            subscriptions=(
                topics.ALL_SITES_ALERTS,
                f"{topics.ROOT}/+/+/recordings",
                f"{topics.ROOT}/+/+/recordings/audio",
            ),
        )
        started = time.monotonic()
        follower = asyncio.create_task(_follow(doctor, view))
        hub_task = asyncio.create_task(hub.run())
        await asyncio.sleep(0.3)  # the doctor and the hub subscribe before the first recording
        runner = asyncio.create_task(agent.run())
        # The doctor stops first: what the summary counts as received is what the wait saw.
        tasks = (follower, runner, hub_task)
        while time.monotonic() - started < seconds and not _done(view, agent, hub):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.2)
        await stopped(*tasks)
        await asyncio.to_thread(archive.db.close)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        bundles = write_bundles(view, fhir_dir)
        return _summary(console, agent, view, hub, bundles, time.monotonic() - started)


def _done(view: DoctorView, agent: Agent, hub: IngestService) -> bool:
    """Every device's recordings reached the doctor, and the hub receipted them: the agent
    applied each receipt, and the hub counted it sent (it counts once it has marked them, which
    can come after the agent applied them)."""
    archived = agent.receipts.counts.archived if agent.receipts is not None else 0
    received = sum(view.recording_ids.values())
    return (
        view.complete(len(DEMO_DEVICES))
        and archived >= received
        and hub.stats.receipts_sent >= received
    )


def write_bundles(view: DoctorView, folder: Path) -> int:
    """One validated FHIR R4 transaction Bundle per complete recording; how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for rid, metadata in sorted(view.metadata.items()):
        flac = view.audio.get(rid)
        if flac is None:
            continue
        message = messages.RecordingMessage.model_validate_json(metadata)
        bundle = build_bundle(exam_from_message(message, flac, None))  # validates every resource
        (folder / f"{rid}.bundle.json").write_text(bundle_json(bundle, indent=2), encoding="utf-8")
        written += 1
    return written


def _summary(
    console: Console,
    agent: Agent,
    view: DoctorView,
    hub: IngestService,
    bundles: int,
    elapsed_s: float,
) -> bool:
    # Stopping the agent keeps the recordings in progress, as partial ones: not lost, but not
    # part of what the demo waited for.
    partial = Counter(r.recording.device for r in agent.state.recordings if r.recording.partial)
    table = Table(title="stetho demo summary")
    for column in ("device", "stored", "received by doctor", "last triage"):
        table.add_column(column)
    for device in DEMO_DEVICES:
        stats = agent.state.devices.get(device["id"])
        table.add_row(
            device["id"],
            str((stats.recordings if stats else 0) - partial[device["id"]]),
            str(view.recording_ids.get(device["id"], 0)),
            view.last_level.get(device["id"], "-"),
        )
    console.print(table)
    stored = sum(s.recordings for s in agent.state.devices.values()) - partial.total()
    received = sum(view.recording_ids.values())
    console.print(
        f"recordings published: {received}, "
        f"stored: {stored}, received: {received}, alerts received: {view.alerts}, "
        f"audio: {view.audio_bytes / 1024:.0f} KiB FLAC, time: {elapsed_s:.1f} s"
        + (f"; {partial.total()} in progress at the end, kept as partial" if partial else "")
    )
    receipted = agent.receipts.counts.archived if agent.receipts is not None else 0
    console.print(
        f"hospital hub: {hub.stats.archived} recordings archived, {hub.stats.receipts_sent} "
        f"receipts sent, {receipted} receipts applied by the agent; "
        f"FHIR R4 bundles validated and written: {bundles}"
    )
    return view.complete(len(DEMO_DEVICES)) and receipted >= received
