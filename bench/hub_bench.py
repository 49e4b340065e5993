"""The hospital hub: ingest throughput against raw paho, and the 300-recording kill test.

Throughput: N recordings (audio + metadata, 0.5 s of 4 kHz noise each) wait at the broker
in a persistent session; then a plain paho subscriber (its own network thread, automatic
PUBACK, nothing stored: the baseline) or the hub (commit + fsync before each PUBACK,
receipts published) takes them all. Same broker, same run; the ratio is hub / raw.
Faults: 300 recordings while the hub is SIGKILLed 3 times, on SQLite and on PostgreSQL (all
the faults at once, under real agents: bench/hub_faults_bench.py).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget, open_database, summary
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import (
    HubProcess,
    WirePublisher,
    run_kill_scenario,
    write_hub_config,
)
from stetho_testkit.postgres import PostgresServer

N_THROUGHPUT = 300
N_FAULTS = 300


def _session(port: int, client_id: str, on_message: Any = None) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if on_message is not None:
        client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    return client


def _queue(broker: LocalBroker, n: int, seed: int) -> None:
    with WirePublisher(broker.host, broker.port, f"bench-agent-{seed}") as agent:
        for i in range(n):
            agent.recording(make_recording(seed * 100_000 + i))


def raw_seconds(broker: LocalBroker, n: int) -> float:
    """Baseline: paho's own thread receives the 2n queued messages and stores nothing."""
    client_id = "bench-raw"
    first = _session(broker.port, client_id)
    first.loop_start()
    first.subscribe([("stetho/v1/+/+/recordings", 1), ("stetho/v1/+/+/recordings/audio", 1)])
    time.sleep(0.5)
    first.disconnect()
    first.loop_stop()
    _queue(broker, n, seed=1)
    done = threading.Event()
    count = [0]

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] == 2 * n:
            done.set()

    start = time.perf_counter()
    client = _session(broker.port, client_id, on_message)
    client.loop_start()
    done.wait(300)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


def hub_seconds(broker: LocalBroker, target: DatabaseTarget, work: Path, n: int) -> float:
    """The hub takes the 2n queued messages: parse, store, fsync, PUBACK, receipt."""
    config = write_hub_config(work / "hub.toml", broker.port, target, work / "audio", "bench")
    hub = HubProcess(config, work / "hub.log")
    hub.start()
    hub.stop()  # the session and its subscriptions now wait at the broker
    _queue(broker, n, seed=2)
    db = open_database(target)
    try:
        hub.start()  # returns once connected: the clock starts with the first deliveries
        start = time.perf_counter()
        # The database, not the log, is the truth: a batch committed just before a lost
        # connection is archived silently (its re-delivery finds it archived).
        while summary(db)["recordings_archived"] < n:
            if time.perf_counter() - start > 300:
                raise TimeoutError(f"hub archived {summary(db)['recordings_archived']} of {n}")
            time.sleep(0.02)
        return time.perf_counter() - start
    finally:
        db.close()
        hub.stop()


def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    postgres = PostgresServer()
    postgres.start()
    try:
        with LocalBroker(work / "broker") as broker:
            raw_s = raw_seconds(broker, N_THROUGHPUT)
            results: dict[str, Any] = {"recordings": N_THROUGHPUT, "raw_paho_s": round(raw_s, 3)}
            targets = {
                "sqlite": DatabaseTarget("sqlite", str(work / "t.db")),
                "postgresql": DatabaseTarget("postgresql", postgres.create_database("bench")),
            }
            for name, target in targets.items():
                (work / name).mkdir()
                hub_s = hub_seconds(broker, target, work / name, N_THROUGHPUT)
                results[f"hub_{name}_s"] = round(hub_s, 3)
                results[f"hub_{name}_recordings_per_s"] = round(N_THROUGHPUT / hub_s, 1)
                results[f"hub_{name}_ratio_to_raw"] = round(raw_s / hub_s, 3)
        faults = {}
        for name, target in {
            "sqlite": DatabaseTarget("sqlite", str(work / "f.db")),
            "postgresql": DatabaseTarget("postgresql", postgres.create_database("faults")),
        }.items():
            (work / f"f-{name}").mkdir()
            with LocalBroker(work / f"fb-{name}") as broker:
                faults[name] = run_kill_scenario(
                    broker, target, work / f"f-{name}", n=N_FAULTS, kills=3, seed=3
                )
        return {"throughput": results, "sigkill_3x_300_recordings": faults}
    finally:
        postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
