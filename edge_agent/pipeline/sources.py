"""Which audio source a stethoscope uses: from the agent's config, or from a command's spec."""

from __future__ import annotations

from pathlib import Path

from edge_agent.config import BleDevice, DeviceConfig, FileDevice, SimulatedDevice, UsbDevice
from edge_agent.pipeline.radio import Radio
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice
from firmware_bridge.errors import RecordingError
from firmware_bridge.sources import (
    FAULT_PRESETS,
    AudioSource,
    BleSource,
    FileSource,
    UsbSource,
    parse_sim_device,
    simulated_source,
)
from stetho_common import next_delay, persistent_delay
from stetho_signal import MAX_RATE_HZ, MIN_RATE_HZ

__all__ = ["given_up_reason", "open_source", "retry_delay", "source_for_spec"]

# A file's recording is any WAV or FLAC: one at a rate the analysis refuses is refused on opening.
ANALYSIS_RATES_HZ = (MIN_RATE_HZ, MAX_RATE_HZ)
# A command gives up on a stethoscope that does not answer; the daemon never does.
COMMAND_BLE_ATTEMPTS = 5


def open_source(device: DeviceConfig, radio: Radio | None = None) -> AudioSource:
    """Build the source for one configured device (not yet connected); BLE through `radio`."""
    if isinstance(device, SimulatedDevice):
        faults = FAULT_PRESETS[device.link] if device.link else None
        return simulated_source(
            device.id, device.scenario, device.seed, device.speed, device.sample_rate_hz, faults
        )
    if isinstance(device, BleDevice):
        radio = radio or Radio()
        return BleSource(device.address, device_id=device.id, sample_rate_hz=device.sample_rate_hz,
                         client_backend=radio.client_backend,
                         scanner_backend=radio.scanner_backend)  # fmt: skip
    if isinstance(device, UsbDevice):
        return UsbSource(device.id, device.input_device, device.sample_rate_hz)
    if isinstance(device, FileDevice):
        return FileSource(device.path, device_id=device.id, realtime=device.realtime,
                          rates_hz=ANALYSIS_RATES_HZ, rates_owner="the analysis")  # fmt: skip
    raise TypeError(f"no source for device kind {type(device).__name__}")  # unreachable by config


def retry_delay(device: DeviceConfig, attempt: int, error: BaseException) -> float | None:
    """Seconds before a device's next try after `error`, or None to give the device up.

    The one backoff policy (`stetho_common.backoff`), read by what the source is. A stethoscope
    (BLE, USB, simulated) is never given up: an adapter comes back, a permission is fixed, so
    even a set-up error (`Response.STOP`) waits the longest. A file device's recording cannot
    turn into a good one by waiting: a set-up error (not audio, damaged, a rate the analysis
    cannot take) gives it up at once; a transient one is retried as a stethoscope's would be.
    """
    if isinstance(device, FileDevice):
        return next_delay(attempt, error)
    return persistent_delay(attempt, error)


def given_up_reason(error: BaseException) -> str:
    """Why a device was given up, as a class the hospital hub may see: `RecordingError.reason`
    ("not_audio", "empty", "damaged", "rate_unsupported", "unreadable"), else "unplayable".

    Never the error's message: it holds the care home's file path and libsndfile's words,
    which stay on the agent (its log, status.json, `stetho status`, the nurses' page).
    """
    return error.reason if isinstance(error, RecordingError) else "unplayable"


def source_for_spec(
    spec: str, registry: DeviceRegistry, *, seed: int = 0, speed: float = 1.0
) -> tuple[AudioSource, RegisteredDevice | None]:
    """`sim:SCENARIO[+PRESET]`, `usb:[INPUT]`, `file:PATH` or a paired stethoscope's id.

    The registry entry comes back for a paired stethoscope, so that the caller can record what
    the device said about itself.
    """
    kind, _, rest = spec.partition(":")
    if kind == "sim":
        scenario, faults = parse_sim_device(spec)
        return simulated_source(spec, scenario, seed=seed, speed=speed, faults=faults), None
    if kind == "usb":
        return UsbSource(spec, rest or "default"), None
    if kind == "file":
        source = FileSource(Path(rest), device_id=spec, realtime=speed < 100, speed=speed,
                            rates_hz=ANALYSIS_RATES_HZ, rates_owner="the analysis")  # fmt: skip
        return source, None
    entry = registry.get(spec)
    return BleSource(entry.address, device_id=entry.id, max_attempts=COMMAND_BLE_ATTEMPTS), entry
