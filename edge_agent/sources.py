"""Which audio source a configured device uses."""

from __future__ import annotations

from edge_agent.config import DeviceConfig, SimulatedDevice
from edge_agent.errors import ConfigError
from firmware_bridge.sources import AudioSource, simulated_source


def open_source(device: DeviceConfig) -> AudioSource:
    """Build the source for one configured device (not yet connected)."""
    if isinstance(device, SimulatedDevice):
        return simulated_source(
            device.id, device.scenario, device.seed, device.speed, device.sample_rate_hz
        )
    raise ConfigError(
        "config",
        [f"devices[{device.id}].kind: {device.kind!r} sources are not available in this build yet"],
    )
