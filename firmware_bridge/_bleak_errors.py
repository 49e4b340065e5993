"""Translate bleak's exceptions into ours at the adapter boundary (STYLE.md §5)."""

from __future__ import annotations

import contextlib
from types import TracebackType

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from firmware_bridge.bluez_agent import error_for_dbus
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    BridgeError,
    DeviceNotFoundError,
    LinkLostError,
)

__all__ = ["translate_bleak_errors"]


def _not_available(exc: BleakBluetoothNotAvailableError) -> BridgeError:
    if exc.reason.name.startswith("DENIED"):
        return BluetoothPermissionError(f"Bluetooth access denied: {exc}")
    if exc.reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
        return AdapterUnavailableError(
            AdapterUnavailableError.POWERED_OFF,
            "the Bluetooth adapter is powered off: run `bluetoothctl power on`",
        )
    return AdapterUnavailableError(
        AdapterUnavailableError.NO_ADAPTER, f"no usable Bluetooth adapter: {exc}"
    )


class translate_bleak_errors(contextlib.AbstractContextManager[None]):
    """Map bleak, D-Bus and timeout errors to ours, chained with `from`."""

    def __init__(self, device_id: str) -> None:
        self._device_id = device_id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, BridgeError):
            return
        if isinstance(exc, BleakBluetoothNotAvailableError):
            raise _not_available(exc) from exc
        if isinstance(exc, BleakDeviceNotFoundError):
            raise DeviceNotFoundError(f"{self._device_id} not found") from exc
        if isinstance(exc, BleakDBusError):
            error = error_for_dbus(exc.dbus_error, exc.dbus_error_details or "")
            if type(error) is BridgeError:  # an unclassified D-Bus error: the link failed
                error = LinkLostError(f"{self._device_id}: {exc}")
            raise error from exc
        if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
            # No D-Bus socket, or nobody behind it: BlueZ is not there at all.
            raise AdapterUnavailableError(
                AdapterUnavailableError.NO_ADAPTER, f"cannot reach BlueZ over D-Bus: {exc}"
            ) from exc
        if isinstance(exc, BleakError | TimeoutError | OSError):
            raise LinkLostError(f"{self._device_id}: {str(exc) or type(exc).__name__}") from exc
