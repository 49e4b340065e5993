"""Errors raised by the stethoscope side, typed by what the caller does next."""


class BridgeError(Exception):
    """Root of every error firmware_bridge raises."""


class LinkLostError(BridgeError):
    """The link to the stethoscope dropped: reconnect with backoff and mark the gap."""


class MalformedFrameError(BridgeError):
    """A frame broke the profile: count it and drop it."""


class DeviceNotFoundError(BridgeError):
    """No stethoscope answered the scan: check it is on and in range."""
