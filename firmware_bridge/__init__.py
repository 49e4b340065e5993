"""The stethoscope side: the open BLE audio profile, its codec and the audio sources."""

from firmware_bridge.errors import (
    BridgeError,
    DeviceNotFoundError,
    LinkLostError,
    MalformedFrameError,
)

__all__ = ["BridgeError", "DeviceNotFoundError", "LinkLostError", "MalformedFrameError"]
