"""Stethoscopes paired with `stetho pair` join a running agent, for exams, without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge_agent.config import parse_config
from edge_agent.runtime import daemon
from edge_agent.runtime.paired import known_keys, paired_devices
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice


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
