"""Audio sources: BLE, USB, file replay and the simulated stethoscope, behind one interface."""

from __future__ import annotations

from typing import Final

from firmware_bridge.errors import ConfigurationError
from firmware_bridge.sources._direct_sim import DirectSimSource
from firmware_bridge.sources.base import AudioBlock, AudioSource, DeviceEvent, EventKind, Gap
from firmware_bridge.sources.faults import LinkFaults
from firmware_bridge.synth import SCENARIO_SPECS

__all__ = [
    "SCENARIOS",
    "AudioBlock",
    "AudioSource",
    "DeviceEvent",
    "EventKind",
    "Gap",
    "LinkFaults",
    "simulated_source",
]

SCENARIOS: Final[tuple[str, ...]] = tuple(SCENARIO_SPECS)


def simulated_source(
    device_id: str,
    scenario: str,
    seed: int = 0,
    speed: float = 1.0,
    sample_rate_hz: int = 4000,
    faults: LinkFaults | None = None,
) -> AudioSource:
    """A simulated stethoscope playing `scenario` (one of `SCENARIOS`) until closed.

    `speed` > 1 runs faster than real time; equal seeds give equal audio.
    """
    if scenario not in SCENARIO_SPECS:
        raise ConfigurationError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")
    if speed <= 0:
        raise ConfigurationError(f"speed must be positive, got {speed}")
    return DirectSimSource(device_id, scenario, seed, speed, sample_rate_hz, faults)
