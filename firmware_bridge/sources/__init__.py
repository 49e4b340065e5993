"""Audio sources: BLE, USB, file replay and the simulated stethoscope, behind one interface."""

from __future__ import annotations

from typing import Final

from firmware_bridge.errors import ConfigurationError
from firmware_bridge.sources._sim_bleak import simulated_backends
from firmware_bridge.sources.base import AudioBlock, AudioSource, DeviceEvent, EventKind, Gap
from firmware_bridge.sources.ble import BleSource
from firmware_bridge.sources.faults import LinkFaults
from firmware_bridge.sources.replay import FileSource
from firmware_bridge.sources.simulator import PeripheralConfig, SimulatedAir, SimulatedStethoscope
from firmware_bridge.sources.usb import UsbSource
from stetho_sim.scenarios import SCENARIO_SPECS, SCENARIOS

__all__ = [
    "FAULT_PRESETS",
    "SCENARIOS",
    "AudioBlock",
    "AudioSource",
    "BleSource",
    "DeviceEvent",
    "EventKind",
    "FileSource",
    "Gap",
    "LinkFaults",
    "PeripheralConfig",
    "SimulatedAir",
    "SimulatedSource",
    "SimulatedStethoscope",
    "UsbSource",
    "parse_sim_device",
    "simulated_backends",
    "simulated_source",
]

# Link presets usable as `sim:NAME` (normal heart) or `sim:SCENARIO+NAME`.
FAULT_PRESETS: Final[dict[str, LinkFaults]] = {
    "lossy": LinkFaults(loss_percent=5.0),
    "reordering": LinkFaults(reorder_percent=5.0),
    "flaky": LinkFaults(disconnect_after_s=5.0),
}


def parse_sim_device(spec: str) -> tuple[str, LinkFaults | None]:
    """Split `sim:SCENARIO`, `sim:PRESET` or `sim:SCENARIO+PRESET` into scenario and faults."""
    body = spec.removeprefix("sim:")
    scenario, _, preset = body.partition("+")
    if scenario in FAULT_PRESETS and not preset:
        scenario, preset = "normal", scenario
    if scenario not in SCENARIO_SPECS:
        raise ConfigurationError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")
    if preset and preset not in FAULT_PRESETS:
        raise ConfigurationError(
            f"unknown link preset {preset!r}; choose one of {list(FAULT_PRESETS)}"
        )
    return scenario, FAULT_PRESETS[preset] if preset else None


def simulated_source(
    device_id: str,
    scenario: str,
    seed: int = 0,
    speed: float = 1.0,
    sample_rate_hz: int = 4000,
    faults: LinkFaults | None = None,
) -> AudioSource:
    """A simulated stethoscope playing `scenario` (one of `SCENARIOS`) until closed.

    The audio goes through the real path: the simulated peripheral notifies profile frames,
    bleak's `BleakClient` (with the simulator backend) delivers them to `BleSource`, which
    decodes, reassembles and marks gaps. `speed` > 1 runs faster than real time; equal seeds
    give equal audio. The returned `SimulatedSource.peripheral` is the simulated device.
    """
    if scenario not in SCENARIO_SPECS:
        raise ConfigurationError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")
    if speed <= 0:
        raise ConfigurationError(f"speed must be positive, got {speed}")
    peripheral = SimulatedStethoscope(
        scenario, seed=seed, speed=speed, sample_rate_hz=sample_rate_hz, faults=faults
    )
    return SimulatedSource(peripheral, device_id)


class SimulatedSource(BleSource):
    """`BleSource` wired to one simulated stethoscope; `peripheral` is the device itself."""

    def __init__(self, peripheral: SimulatedStethoscope, device_id: str) -> None:
        client_backend, scanner_backend = simulated_backends(SimulatedAir(peripheral))
        super().__init__(
            peripheral.config.address,
            device_id=device_id,
            sample_rate_hz=peripheral.sample_rate_hz,
            backoff_base_s=0.05,
            stall_timeout_s=max(1.0, 5.0 / peripheral.speed),
            client_backend=client_backend,
            scanner_backend=scanner_backend,
        )
        self.peripheral = peripheral
