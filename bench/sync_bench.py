"""Durable sync: outbox + publisher against a raw paho QoS 1 loop, backlog, latencies, memory.

Every figure comes from a real Mosquitto on loopback started here. The baseline is a plain
paho QoS 1 publish loop of the same payloads in the same run (no disk, no ordering window).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench._timing import best_in_turn
from edge_agent.pipeline.live import LiveStreamer, decode_chunk
from edge_agent.pipeline.recordings import process_capture
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttConnection, MqttSettings
from edge_agent.transport.publisher import Publisher
from edge_agent.wire import topics
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.sources import AudioBlock
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize

SITE = "bench"
N_THROUGHPUT = 200  # recordings (4 messages each) for the throughput comparison
N_BACKLOG = 3000  # a day offline for a busy home
N_LATENCY = 200
RSS_SECONDS = 30.0  # wall seconds; at speed 20 that is 10 simulated minutes


def recording_messages(scenario: str, seconds: float, seed: int = 0) -> list[OutboundMessage]:
    """The real outbound messages of one recording: FLAC, metadata, triage, alert."""
    synth = synthesize(scenario, seconds, 4000, seed)
    capture = Capture(uuid.uuid4(), time.time(), 4000, synth.samples, (), False)
    ctx = RecordingContext(SITE, "agent", "steth-a", "res-1", "mitral", "heart")
    return process_capture(capture, ctx, TriageThresholds()).outbound


def wire_sizes() -> dict[str, Any]:
    """Bytes on the wire per 30 s recording: our binary FLAC + JSON vs the alternatives."""
    out: dict[str, Any] = {}
    for scenario, kind in (("normal", "heart"), ("murmur", "heart"), ("wheeze", "lung")):
        messages = recording_messages(scenario, 30.0)
        flac = messages[0].payload
        metadata = messages[1].payload
        pcm_bytes = 30 * 4000 * 2
        doc = json.loads(metadata)
        doc["audio_base64"] = base64.b64encode(flac).decode()
        out[scenario] = {
            "kind": kind,
            "pcm16_bytes": pcm_bytes,
            "wav_bytes": pcm_bytes + 44,
            "flac_bytes": len(flac),
            "metadata_json_bytes": len(metadata),
            "flac_plus_json_bytes": len(flac) + len(metadata),
            "json_with_base64_flac_bytes": len(json.dumps(doc).encode()),
            "json_with_base64_pcm_bytes": len(metadata) + (pcm_bytes + 2) // 3 * 4,
        }
    return out


def _settings(broker: LocalBroker, client_id: str, inflight: int = 20) -> MqttSettings:
    return MqttSettings(broker.host, broker.port, client_id, max_inflight=inflight)


def raw_paho_seconds(broker: LocalBroker, messages: list[OutboundMessage]) -> float:
    """Baseline: paho's own thread, QoS 1, same window, wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(20)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        start = time.perf_counter()
        infos = [client.publish(m.topic, m.payload, qos=1) for m in messages]
        for info in infos:
            info.wait_for_publish(60)
        return time.perf_counter() - start
    finally:
        client.disconnect()
        client.loop_stop()


async def durable_seconds(
    broker: LocalBroker, recordings: list[list[OutboundMessage]], db: Path, prefill: bool
) -> float:
    """Outbox write (fsync per recording) then publish and mark sent, until nothing pends.

    With `prefill` the outbox is filled first and only the drain is timed (a backlog).
    """
    outbox = Outbox(OutboxStore(db, 10**11, min_free_disk_bytes=0))
    if prefill:
        for messages in recordings:
            await outbox.put_many(messages)
    publisher = Publisher(_settings(broker, f"durable-{db.stem}"), outbox)
    task = asyncio.create_task(publisher.run())
    start = time.perf_counter()
    if not prefill:
        for messages in recordings:
            await outbox.put_many(messages)
    while (await outbox.stats()).pending:  # noqa: ASYNC110 - polling the disk is the point
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outbox.close()
    return elapsed


async def alert_latency_ms(broker: LocalBroker, db: Path) -> dict[str, float]:
    """From analysis done (messages handed to the outbox) to the alert at a subscriber."""
    recordings = [recording_messages("tachycardia", 5.0, seed) for seed in range(5)]
    doctor = MqttConnection(_settings(broker, "doctor-latency"))
    await doctor.connect()
    await doctor.subscribe([topics.alerts(SITE)])
    outbox = Outbox(OutboxStore(db, 10**11, min_free_disk_bytes=0))
    publisher = Publisher(_settings(broker, "agent-latency"), outbox)
    task = asyncio.create_task(publisher.run())
    await publisher.connected.wait()
    samples = []
    for i in range(N_LATENCY):
        start = time.perf_counter()
        await outbox.put_many(recordings[i % len(recordings)])
        while not (await doctor.messages.get()).topic.endswith("/alerts"):
            pass
        samples.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await doctor.disconnect()
    outbox.close()
    return _percentiles(samples)


async def live_latency_ms(broker: LocalBroker) -> dict[str, float]:
    """From a 100 ms block's last sample (capture) to the chunk at a subscriber."""
    doctor = MqttConnection(_settings(broker, "doctor-live"))
    await doctor.connect()
    await doctor.subscribe([topics.live(SITE, "steth-a")])
    publisher = Publisher(_settings(broker, "agent-live"), Outbox(OutboxStore(
        Path(tempfile.mkdtemp()) / "o.db", 10**9, min_free_disk_bytes=0)))  # fmt: skip
    task = asyncio.create_task(publisher.run())
    await publisher.connected.wait()
    live = LiveStreamer(SITE, publisher.send_volatile)
    live.start("steth-a", 600, "bench")
    samples = np.zeros(400, dtype=np.float32)
    transport = []
    for i in range(N_LATENCY):
        captured = time.time()
        block = AudioBlock(samples, 4000, i * 400, captured - 0.1)
        start = time.perf_counter()
        live.offer("steth-a", block)
        decode_chunk((await doctor.messages.get()).payload)
        transport.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await doctor.disconnect()
    result = {f"transport_{k}": v for k, v in _percentiles(transport).items()}
    # A sample waits for its block to fill (100 ms from the device) before it can be sent.
    result["capture_to_subscriber_p99_ms"] = round(100.0 + result["transport_p99_ms"], 1)
    return result


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
    }


RSS_GOAL_MIB = 128  # issue 13: the agent with 3 simulated stethoscopes, on a Pi


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def daemon_rss(broker: LocalBroker, workdir: Path, seconds: float = RSS_SECONDS) -> dict[str, Any]:
    """`stetho run` with 3 simulated devices at speed 20: RSS early vs at the end, and the peak."""
    config = workdir / "rss.toml"
    text = f'site = "{SITE}"\n[broker]\nhost = "127.0.0.1"\nport = {broker.port}\n'
    text += f'[storage]\nstate_dir = "{workdir / "rss-state"}"\n'
    for i, scenario in enumerate(("normal", "murmur", "tachycardia")):
        text += (
            f'[[devices]]\nid = "steth-{i}"\nkind = "simulated"\nscenario = "{scenario}"\n'
            f'speed = 20.0\nresident = "res-{i}"\n[devices.schedule]\ninterval_s = 30\n'
            "duration_s = 20\n"
        )
    config.write_text(text)
    agent = subprocess.Popen(
        [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    early_s = min(5.0, seconds / 2)
    try:
        time.sleep(early_s)
        start = _memory_kib(agent.pid)["VmRSS"]
        time.sleep(seconds - early_s)
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited ({agent.returncode}) before the measurement")
        end = _memory_kib(agent.pid)
    finally:
        agent.terminate()
        _, stderr = agent.communicate(timeout=30)
    return {
        "devices": 3,
        "simulated_minutes": round(seconds * 20 / 60, 1),
        "rss_start_mib": round(start / 1024, 1),
        "rss_end_mib": round(end["VmRSS"] / 1024, 1),
        "rss_peak_mib": round(end["VmHWM"] / 1024, 1),
        "goal_mib": RSS_GOAL_MIB,
        "growth_ratio": round(end["VmRSS"] / start, 3),
        "agent_stderr_tail": stderr.decode(errors="replace")[-500:] if agent.returncode else "",
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        work = Path(tmp)
        recordings = [recording_messages("murmur", 30.0, seed) for seed in range(4)]
        batch = [recordings[i % 4] for i in range(N_THROUGHPUT)]
        flat = [m for messages in batch for m in messages]
        databases = itertools.count()  # a fresh outbox for every measurement
        seconds = best_in_turn(
            {
                "raw": lambda: raw_paho_seconds(broker, flat),
                "drain_only": lambda: asyncio.run(
                    durable_seconds(broker, batch, work / f"d{next(databases)}.db", prefill=True)
                ),
                "durable": lambda: asyncio.run(
                    durable_seconds(broker, batch, work / f"t{next(databases)}.db", prefill=False)
                ),
            },
            rounds=3,
        )
        raw_s, drain_only_s, durable_s = seconds["raw"], seconds["drain_only"], seconds["durable"]
        backlog = [recordings[i % 4] for i in range(N_BACKLOG)]
        fill_start = time.perf_counter()
        drain_s = asyncio.run(durable_seconds(broker, backlog, work / "b.db", prefill=True))
        fill_drain_s = time.perf_counter() - fill_start
        alert = asyncio.run(alert_latency_ms(broker, work / "l.db"))
        live = asyncio.run(live_latency_ms(broker))
        rss = daemon_rss(broker, work)
    return {
        "wire_bytes_per_30s_recording": wire_sizes(),
        "throughput": {
            "recordings": N_THROUGHPUT,
            "messages": len(flat),
            "bytes": sum(len(m.payload) for m in flat),
            "raw_paho_msgs_per_s": round(len(flat) / raw_s, 1),
            # Publishing from the durable outbox: read, publish, PUBACK, mark sent (fsync).
            "durable_msgs_per_s": round(len(flat) / drain_only_s, 1),
            "ratio_durable_to_raw": round(raw_s / drain_only_s, 3),
            "goal_ratio": 0.5,
            # Also writing each recording to disk first (one fsync'd transaction each).
            "with_outbox_writes_msgs_per_s": round(len(flat) / durable_s, 1),
            "ratio_with_outbox_writes_to_raw": round(raw_s / durable_s, 3),
        },
        "backlog": {
            "recordings": N_BACKLOG,
            "drain_s": round(drain_s, 1),
            "recordings_per_s": round(N_BACKLOG / drain_s, 1),
            "fill_s": round(fill_drain_s - drain_s, 1),
        },
        "alert_latency": {**alert, "goal_p99_ms": 50},
        "live_latency": {**live, "goal_ms": 150},
        "daemon_memory": rss,
    }


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        json.dump(run(), sys.stdout, indent=2)
        sys.stdout.write("\n")
