"""Stethoscopes paired with `stetho pair` join a running agent, for exams, without a restart."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.config import parse_config
from edge_agent.runtime import daemon
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.runtime.paired import known_keys, paired_devices
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice
from edge_agent.wire import messages


def _config(state: Path) -> dict[str, object]:
    device = {"id": "steth-1", "kind": "ble", "address": "AA:BB:CC:DD:EE:01"}
    return {"site": "home", "agent_id": "pi", "broker": {"port": 9},
            "storage": {"state_dir": str(state)}, "devices": [device]}  # fmt: skip


def test_registry_entries_the_config_lacks_become_exam_stethoscopes(tmp_path: Path) -> None:
    config = parse_config(_config(tmp_path), "test")
    registry = DeviceRegistry(tmp_path)
    registry.upsert(RegisteredDevice("steth-old", "aa:bb:cc:dd:ee:01", "Old"))  # same address
    registry.upsert(RegisteredDevice("ward-b-0002", "AA:BB:CC:DD:EE:02", "Ward B"))
    found = paired_devices(tmp_path, known_keys(config.devices))
    assert [(d.id, d.address, d.monitoring) for d in found] == [
        ("ward-b-0002", "AA:BB:CC:DD:EE:02", None)
    ]
    (tmp_path / "devices.json").write_text("{not json")
    assert paired_devices(tmp_path, set()) == []


def test_a_running_agent_picks_up_a_new_pairing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon, "REGISTRY_POLL_S", 0.05)

    async def main() -> None:
        agent = daemon.Agent(parse_config(_config(tmp_path), "test"))
        task = asyncio.create_task(agent.run())
        await asyncio.sleep(0.3)
        DeviceRegistry(tmp_path).upsert(RegisteredDevice("ward-b-0002", "AA:BB:CC:DD:EE:02", "B"))
        for _ in range(100):
            if "ward-b-0002" in agent.exams.slots:
                break
            await asyncio.sleep(0.05)
        assert [d.id for d in agent.devices] == ["steth-1", "ward-b-0002"]
        assert "ward-b-0002" in agent.exams.slots
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


async def _send(port: int, topic: str, **body: object) -> None:
    command = messages.CommandMessage(
        command_id=uuid.uuid4(),
        by="dr-b",
        at=datetime.now(tz=UTC),
        **body,  # type: ignore[arg-type]
    )
    proc = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic,
        "-m", messages.to_json(command).decode(),
    )  # fmt: skip
    assert await proc.wait() == 0


@pytest.mark.broker
def test_commands_reach_a_stethoscope_paired_after_the_start(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """live_start on the new stethoscope's own topic and live_stop on the agent's topic naming
    it: both taken (the agent subscribes to its topic when it joins), neither rejected."""
    monkeypatch.setattr(daemon, "REGISTRY_POLL_S", 0.05)
    new = "ward-b-0002"

    async def main() -> None:
        raw = {**_config(tmp_path), "broker": {"host": "127.0.0.1", "port": broker.port}}
        agent = daemon.Agent(parse_config(raw, "test"))
        task = asyncio.create_task(agent.run())
        await asyncio.wait_for(agent.publisher.connected.wait(), 10)
        DeviceRegistry(tmp_path).upsert(RegisteredDevice(new, "AA:BB:CC:DD:EE:02", "B"))
        for _ in range(200):  # the SUBACK for its topic has no hook: send until it is taken
            if new in agent.inbound.devices:
                await _send(broker.port, f"stetho/v1/home/{new}/cmd", action="live_start")
                if new in agent.live.sessions:
                    break
            await asyncio.sleep(0.05)
        assert new in agent.live.sessions
        await _send(broker.port, "stetho/v1/home/pi/cmd", action="live_stop", device=new)
        for _ in range(100):
            if new not in agent.live.sessions:
                break
            await asyncio.sleep(0.05)
        assert new not in agent.live.sessions
        assert agent.inbound.stats.rejected == 0, agent.inbound.stats.last_rejection
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
