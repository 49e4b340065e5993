"""Which audio source a configured device uses."""

from __future__ import annotations

from edge_agent.config import BleDevice, DeviceConfig, FileDevice, SimulatedDevice, UsbDevice
from firmware_bridge.sources import AudioSource, BleSource, FileSource, UsbSource, simulated_source


def open_source(device: DeviceConfig) -> AudioSource:
    """Build the source for one configured device (not yet connected)."""
    if isinstance(device, SimulatedDevice):
        return simulated_source(
            device.id, device.scenario, device.seed, device.speed, device.sample_rate_hz
        )
    if isinstance(device, BleDevice):
        return BleSource(device.address, device_id=device.id, sample_rate_hz=device.sample_rate_hz)
    if isinstance(device, UsbDevice):
        return UsbSource(device.id, device.input_device, device.sample_rate_hz)
    if isinstance(device, FileDevice):
        return FileSource(device.path, device_id=device.id, realtime=device.realtime)
    raise TypeError(f"no source for device kind {type(device).__name__}")  # unreachable by config
