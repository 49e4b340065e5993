"""The stethoscope side: the open BLE audio profile, its codec and the audio sources.

Entry points: `firmware_bridge.sources` (AudioSource, BleSource, UsbSource, FileSource,
simulated_source), `codec`/`gatt` (the profile's bytes), `reassembly` (gap marking),
`synth` (synthetic auscultation sounds), `pairing` and `recorder`.
"""

from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    BridgeError,
    ConfigurationError,
    ControlRejectedError,
    DeviceNotFoundError,
    LinkLostError,
    MalformedFrameError,
    PairingRejectedError,
    RecordingError,
)

__all__ = [
    "AdapterUnavailableError",
    "BluetoothPermissionError",
    "BridgeError",
    "ConfigurationError",
    "ControlRejectedError",
    "DeviceNotFoundError",
    "LinkLostError",
    "MalformedFrameError",
    "PairingRejectedError",
    "RecordingError",
]
