"""Configured devices get the right source; a replayed WAV goes all the way to the broker."""

import asyncio
import json
from pathlib import Path

import pytest
import soundfile as sf

from edge_agent.config import parse_config
from edge_agent.pipeline.sources import open_source
from edge_agent.runtime.daemon import Agent
from edge_agent.runtime.local_broker import LocalBroker
from firmware_bridge.sources import BleSource, FileSource, UsbSource
from stetho_sim.synth import synthesize
from stetho_testkit.mqtt_client import MqttTestClient

SCHEDULE = {"interval_s": 5, "duration_s": 4}


def device(**fields: object) -> dict[str, object]:
    return {"id": "d1", "resident": "res-1", "schedule": SCHEDULE, **fields}


def config(tmp_path: Path, port: int, *devices: dict[str, object]) -> dict[str, object]:
    return {
        "site": "home-src",
        "broker": {"port": port},
        "storage": {"state_dir": str(tmp_path / "state")},
        "devices": list(devices),
    }


def test_each_kind_maps_to_its_source(tmp_path: Path) -> None:
    sf.write(tmp_path / "x.wav", [0.0] * 400, 4000)  # a file device's recording must be one
    cfg = parse_config(
        config(
            tmp_path,
            1883,
            device(id="b", kind="ble", address="c0:ff:ee:00:00:01"),
            device(id="u", kind="usb", input_device="hw:1,0", sample_rate_hz=8000),
            device(id="f", kind="file", path="x.wav"),
        ),
        "test",
        tmp_path,
    )
    ble, usb, replay = (open_source(d) for d in cfg.devices)
    assert isinstance(ble, BleSource) and ble.address == "C0:FF:EE:00:00:01"
    assert isinstance(usb, UsbSource) and usb.sample_rate_hz == 8000
    assert isinstance(replay, FileSource) and replay.path == tmp_path / "x.wav"


@pytest.mark.broker
def test_replayed_file_is_recorded_analysed_and_published(
    broker: LocalBroker, tmp_path: Path
) -> None:
    wav = tmp_path / "bradycardia.wav"
    sf.write(wav, synthesize("bradycardia", 11.0, 8000, seed=2).samples, 8000, subtype="PCM_16")
    cfg = parse_config(
        config(tmp_path, broker.port, device(kind="file", path=str(wav), realtime=False)),
        "test",
    )

    async def run_agent() -> None:
        agent = Agent(cfg)
        task = asyncio.create_task(agent.run())
        async with asyncio.timeout(30):
            while sum(s.recordings for s in agent.state.devices.values()) < 3:
                await asyncio.sleep(0.05)
            while (await agent.outbox.stats()).pending:
                await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with MqttTestClient(broker.host, broker.port, ["stetho/v1/+/+/recordings"]) as doctor:
        asyncio.run(run_agent())
        got = doctor.wait_for(lambda m: len(m) >= 3)
    bodies = [json.loads(m.payload) for m in got]
    # 11 s of audio: two full 4 s recordings (at 0 s and 5 s), then 1 s left at 10 s.
    assert [b["n_samples"] for b in bodies] == [32000, 32000, 8000]
    assert [b["partial"] for b in bodies] == [False, False, True]
    assert bodies[0]["sample_rate_hz"] == 8000
