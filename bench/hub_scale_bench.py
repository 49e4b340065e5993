"""A thousand simulated care homes against one Mosquitto and the hub: one process, then two.

Each home is one MQTT v5 connection with three stethoscopes; each stethoscope records every
five simulated minutes, and time runs STETHO_HUB_SPEEDUP times faster than real (the
publishers and the scenario are stetho_testkit/hub/fleet.py). Measured per database: recordings
per second archived, ingest lag (publish to commit) p50/p99, the hub's CPU seconds and peak
RSS; then the same load on two hub processes sharing an MQTT v5 subscription ($share/hubs/...),
with the check that every recording was archived exactly once. The baseline is the offered
rate: a hub that keeps up archives as fast as the homes publish.

Environment (to shrink or grow it): STETHO_HUB_HOMES (1000), STETHO_HUB_SPEEDUP (10),
STETHO_HUB_MINUTES (simulated, 15), STETHO_HUB_AUDIO_S (seconds of audio per recording, 0.5),
STETHO_HUB_DATABASES ("sqlite,postgresql").

The broker saves its persistence file every 60 s, not after every change as
deploy/mosquitto/mosquitto.conf does: with a change per message, Mosquitto rewrote its whole
file (9.6 MB here) for each one and stalled at 200 recordings/s offered (hub receipts waited
over 30 s for a PUBACK). Behind a hub, the agents keep each recording until its receipt, so
a broker that loses its last minute loses no recording for good (docs/hospital.md section 5).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.fleet import FleetPlan, run_fleet
from stetho_testkit.postgres import PostgresServer


def plan_from_env() -> FleetPlan:
    env = os.environ
    return FleetPlan(
        homes=int(env.get("STETHO_HUB_HOMES", "1000")),
        speedup=float(env.get("STETHO_HUB_SPEEDUP", "10")),
        sim_s=60 * float(env.get("STETHO_HUB_MINUTES", "15")),
        audio_s=float(env.get("STETHO_HUB_AUDIO_S", "0.5")),
    )


def _target(name: str, work: Path, postgres: PostgresServer | None, label: str) -> DatabaseTarget:
    if name == "sqlite":
        return DatabaseTarget("sqlite", str(work / f"{label}.db"))
    assert postgres is not None
    return DatabaseTarget("postgresql", postgres.create_database(label))


def run() -> dict[str, Any]:
    plan = plan_from_env()
    databases = os.environ.get("STETHO_HUB_DATABASES", "sqlite,postgresql").split(",")
    work = Path(tempfile.mkdtemp(prefix="hub-scale-"))
    postgres = PostgresServer() if "postgresql" in databases else None
    results: dict[str, Any] = {"recordings": plan.recordings}
    try:
        if postgres is not None:
            postgres.start()
        for name in databases:
            for hubs in (1, 2):
                label = f"{name}_{hubs}_hub{'s' if hubs > 1 else ''}"
                (work / label).mkdir()
                with LocalBroker(work / label / "broker", save_every_change=False) as broker:
                    target = _target(name, work / label, postgres, label)
                    figures = run_fleet(plan, broker, target, work / label, hubs)
                offered = figures["offered_recordings_per_s"]
                figures["ratio_to_offered"] = round(figures["recordings_per_s"] / offered, 3)
                results[label] = figures
        return results
    finally:
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
