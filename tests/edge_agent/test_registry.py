"""Device registry: a real JSON file in a temporary state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import RegistryError
from edge_agent.storage.registry import (
    DeviceRegistry,
    RegisteredDevice,
    device_id_for,
)


def entry(address: str = "5E:7A:00:00:00:01", name: str = "Stetho One") -> RegisteredDevice:
    return RegisteredDevice(device_id_for(name, address), address, name, "Room 3", 1.0e9)


def test_round_trip_survives_a_new_instance(tmp_path: Path) -> None:
    DeviceRegistry(tmp_path).upsert(entry())
    devices = DeviceRegistry(tmp_path).list()
    assert devices == [entry()]
    assert devices[0].id == "stetho-one-0001"


def test_lookup_by_id_or_address_and_remove(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(entry())
    registry.upsert(entry("5E:7A:00:00:00:02", "Other"))
    assert registry.get("5e:7a:00:00:00:02").name == "Other"
    removed = registry.remove("stetho-one-0001")
    assert removed.address == "5E:7A:00:00:00:01"
    assert [d.name for d in registry.list()] == ["Other"]
    with pytest.raises(RegistryError, match="no paired device"):
        registry.get("stetho-one-0001")


def test_touch_updates_last_seen_and_keeps_battery_when_unknown(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(entry())
    registry.touch("stetho-one-0001", seen_at=5.0, battery_percent=80)
    registry.touch("stetho-one-0001", seen_at=6.0, battery_percent=None)
    device = registry.get("stetho-one-0001")
    assert (device.last_seen, device.battery_percent) == (6.0, 80)


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    for i in range(5):
        registry.upsert(entry(f"5E:7A:00:00:00:0{i}", f"Device {i}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["devices.json"]


@pytest.mark.parametrize("content", ["{not json", '{"devices": [{"bogus": 1}]}', "[]"])
def test_corrupt_registry_is_a_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "devices.json").write_text(content)
    with pytest.raises(RegistryError, match=r"devices\.json"):
        DeviceRegistry(tmp_path).list()


def test_missing_registry_is_empty(tmp_path: Path) -> None:
    assert DeviceRegistry(tmp_path / "new").list() == []
