"""Stethoscopes paired with `stetho pair` join the running agent without a config edit.

The config's `[[devices]]` are the defaults; the registry (`<state_dir>/devices.json`, written
by `stetho pair`) adds to them. A registry entry becomes a BLE stethoscope that records on
demand, for exams; a device the config already names (by id or by address) keeps its config.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from edge_agent.config import BleDevice, DeviceConfig
from edge_agent.storage.registry import DeviceRegistry, RegistryError

__all__ = ["REGISTRY_POLL_S", "known_keys", "paired_devices"]

log = logging.getLogger(__name__)
REGISTRY_POLL_S = 5.0  # a nurse who has just paired a stethoscope waits at most this long


def known_keys(devices: list[DeviceConfig]) -> set[str]:
    """Ids and (upper-case) addresses of the devices the agent already runs."""
    keys = {d.id for d in devices}
    keys |= {d.address.upper() for d in devices if isinstance(d, BleDevice)}
    return keys


def paired_devices(state_dir: Path, known: set[str]) -> list[BleDevice]:
    """The registry's stethoscopes the agent does not run yet; an unreadable registry is
    logged and read as empty (the configured devices carry on)."""
    try:
        entries = DeviceRegistry(state_dir).list()
    except RegistryError as exc:
        log.warning("event=registry_unreadable reason=%r", str(exc))
        return []
    found = []
    for entry in entries:
        if entry.id in known or entry.address.upper() in known:
            continue
        try:
            found.append(BleDevice(id=entry.id, kind="ble", address=entry.address))
        except ValidationError as exc:
            log.warning("event=registry_entry_refused device=%r errors=%d", entry.id,
                        exc.error_count())  # fmt: skip
    return found
