"""The paired-device registry: a JSON file in the agent's state directory, written atomically.

Each write goes to a temporary file in the same directory, is fsynced, then renamed over the
old file, so a power cut leaves either the old or the new registry, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Final

from edge_agent.errors import RegistryError

__all__ = ["DeviceRegistry", "RegisteredDevice", "RegistryError", "device_id_for"]

REGISTRY_FILE: Final = "devices.json"
_FORMAT_VERSION: Final = 1


@dataclass(frozen=True)
class RegisteredDevice:
    """One paired stethoscope. Times are Unix seconds; `location` is a free label."""

    id: str
    address: str
    name: str
    location: str = ""
    bonded_at: float | None = None
    last_seen: float | None = None
    battery_percent: int | None = None


def device_id_for(name: str, address: str) -> str:
    """A stable, config-safe id: the name as a slug plus the address's last two bytes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "stethoscope"
    return f"{slug}-{address.replace(':', '')[-4:].lower()}"


class DeviceRegistry:
    """Load, change and save the registry under `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / REGISTRY_FILE

    def list(self) -> list[RegisteredDevice]:
        """All devices, by id."""
        return sorted(self._load().values(), key=lambda d: d.id)

    def get(self, device_id: str) -> RegisteredDevice:
        """The device with this id or address; RegistryError if none."""
        devices = self._load()
        if device_id in devices:
            return devices[device_id]
        for device in devices.values():
            if device.address.upper() == device_id.upper():
                return device
        raise RegistryError(f"no paired device {device_id!r} (see `stetho devices`)")

    def upsert(self, device: RegisteredDevice) -> None:
        """Add or replace a device (matched by id)."""
        devices = self._load()
        devices[device.id] = device
        self._save(devices)

    def touch(self, device_id: str, *, seen_at: float, battery_percent: int | None) -> None:
        """Record that a device was just seen, with its battery level if known."""
        device = self.get(device_id)
        battery = device.battery_percent if battery_percent is None else battery_percent
        self.upsert(replace(device, last_seen=seen_at, battery_percent=battery))

    def remove(self, device_id: str) -> RegisteredDevice:
        """Remove and return a device; RegistryError if absent."""
        device = self.get(device_id)
        devices = self._load()
        del devices[device.id]
        self._save(devices)
        return device

    def _load(self) -> dict[str, RegisteredDevice]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"cannot read device registry {self.path}: {exc}") from exc
        try:
            entries = [RegisteredDevice(**entry) for entry in raw["devices"]]
        except (KeyError, TypeError) as exc:
            raise RegistryError(
                f"device registry {self.path} is not in the expected format"
            ) from exc
        return {d.id: d for d in entries}

    def _save(self, devices: dict[str, RegisteredDevice]) -> None:
        payload = {
            "version": _FORMAT_VERSION,
            "devices": [asdict(d) for d in sorted(devices.values(), key=lambda d: d.id)],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".devices-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
