"""Errors raised by the stethoscope side, typed by what the caller does next (`response`)."""

from typing import ClassVar

from stetho_common import Response


class BridgeError(Exception):
    """Root of every error firmware_bridge raises."""

    response: ClassVar[Response] = Response.RETRY


class LinkLostError(BridgeError):
    """The link to the stethoscope dropped: reconnect with backoff and mark the gap."""


class MalformedFrameError(BridgeError):
    """A frame broke the profile: count it and drop it."""

    response: ClassVar[Response] = Response.DROP


class DeviceNotFoundError(BridgeError):
    """No stethoscope answered the scan: check it is on and in range."""


class ConfigurationError(BridgeError):
    """A parameter is invalid (scenario, sample rate, device spec): stop and fix the call."""

    response: ClassVar[Response] = Response.STOP


class RecordingError(ConfigurationError):
    """A recording replayed as a source cannot be played: stop (waiting will not mend it).

    `reason` says which case, as data for whoever must not see the message (it holds the
    file's path): the file cannot be read (permission, I/O), is not audio libsndfile reads,
    holds no samples, is damaged further in, or is sampled at a rate the caller does not take.
    """

    UNREADABLE = "unreadable"
    NOT_AUDIO = "not_audio"
    EMPTY = "empty"
    DAMAGED = "damaged"
    RATE_UNSUPPORTED = "rate_unsupported"

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class ControlRejectedError(BridgeError):
    """The stethoscope answered a control-point command with a failure result code."""

    def __init__(self, opcode: int, result: int, message: str) -> None:
        self.opcode = opcode
        self.result = result
        super().__init__(message)


class AdapterUnavailableError(BridgeError):
    """No usable Bluetooth adapter: stop and tell the operator (`reason` says which case)."""

    response: ClassVar[Response] = Response.STOP

    NO_ADAPTER = "no-adapter"
    POWERED_OFF = "powered-off"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class PairingRejectedError(BridgeError):
    """The stethoscope (or the user) refused pairing: stop; retrying will not help until the
    user acts (`reason`: rejected or a wrong passkey, nobody typed it in time, cancelled)."""

    response: ClassVar[Response] = Response.STOP

    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"

    def __init__(self, message: str, reason: str = REJECTED) -> None:
        self.reason = reason
        super().__init__(message)


class BluetoothPermissionError(BridgeError):
    """BlueZ refused us over D-Bus (policy): stop and fix the group or polkit rule."""

    response: ClassVar[Response] = Response.STOP
