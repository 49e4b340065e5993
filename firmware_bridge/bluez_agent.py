"""Headless pairing on BlueZ: our own org.bluez.Agent1 over dbus-fast, plus adapter checks.

bleak's `pair()` registers no agent, so without one BlueZ has nobody to ask and the pairing of a
stethoscope on a Pi without a desktop fails. This agent declares the DisplayOnly capability:
devices without input pair "Just Works", devices with a keypad get a passkey we display.
Interfaces: BlueZ doc/org.bluez.Agent.rst and org.bluez.AgentManager.rst.

No `from __future__ import annotations` here: dbus-fast reads the method annotations at runtime
and would take a postponed "None" for a D-Bus signature.
"""

import contextlib
import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

from dbus_fast import BusType, DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusObjectPath, DBusStr, DBusUInt16, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method

from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    BridgeError,
    PairingRejectedError,
)

__all__ = [
    "AGENT_PATH",
    "CAPABILITY",
    "PairingAgent",
    "Prompt",
    "PromptKind",
    "check_adapter",
    "device_path",
    "error_for_dbus",
    "registered_agent",
    "system_bus",
]

AGENT_PATH: Final = "/org/stetho_edge/agent"
CAPABILITY: Final = "DisplayOnly"
_REJECTED: Final = "org.bluez.Error.Rejected"
_PERMISSION_ERRORS: Final = frozenset(
    {"org.freedesktop.DBus.Error.AccessDenied", "org.bluez.Error.NotPermitted"}
)
_NO_BLUEZ_ERRORS: Final = frozenset(
    {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.UnknownObject",
     "org.freedesktop.DBus.Error.UnknownMethod", "org.bluez.Error.NoSuchAdapter"}
)  # fmt: skip
_REJECTION_ERRORS: Final = frozenset(
    {"org.bluez.Error.AuthenticationRejected", "org.bluez.Error.AuthenticationFailed",
     "org.bluez.Error.ConnectionAttemptFailed", _REJECTED}
)  # fmt: skip
# Device1.Pair's other failures (BlueZ doc/org.bluez.Device.rst): nobody typed the passkey in
# time (the SMP timeout, 30 s: Core spec v5.4 Vol 3 Part H §3.4), or the pairing was cancelled.
_TIMEOUT: Final = "org.bluez.Error.AuthenticationTimeout"
_CANCELED: Final = "org.bluez.Error.AuthenticationCanceled"


class PromptKind(enum.Enum):
    """What BlueZ asks the agent to tell the user."""

    PASSKEY = "passkey"  # type these six digits on the stethoscope's keypad
    CONFIRM = "confirm"  # check the stethoscope shows these digits
    PIN = "pin"  # legacy: type this PIN on the stethoscope
    CANCELLED = "cancelled"  # the request was withdrawn


@dataclass(frozen=True)
class Prompt:
    """One thing to show the user while pairing; `code` is secret until pairing ends."""

    kind: PromptKind
    code: str = ""

    @property
    def text(self) -> str:
        match self.kind:
            case PromptKind.PASSKEY:
                return f"Enter passkey {self.code} on the stethoscope"
            case PromptKind.CONFIRM:
                return f"Check the stethoscope shows {self.code}"
            case PromptKind.PIN:
                return f"Enter PIN {self.code} on the stethoscope"
        return "pairing cancelled by the stethoscope"

    def __str__(self) -> str:
        return self.text


def device_path(address: str, adapter: str = "hci0") -> str:
    """BlueZ's D-Bus object path for the device at `address`."""
    return f"/org/bluez/{adapter}/dev_" + address.upper().replace(":", "_")


def error_for_dbus(name: str, text: str) -> BridgeError:
    """Our error for a D-Bus error name (matched on the name, a stable code, never the text)."""
    if name in _PERMISSION_ERRORS:
        return BluetoothPermissionError(
            f"BlueZ refused us ({text}): add the user to the 'bluetooth' group or a polkit rule"
        )
    if name in _NO_BLUEZ_ERRORS:
        return AdapterUnavailableError(
            AdapterUnavailableError.NO_ADAPTER,
            f"no Bluetooth adapter or BlueZ not running ({text})",
        )
    if name == "org.bluez.Error.NotReady":
        return AdapterUnavailableError(
            AdapterUnavailableError.POWERED_OFF,
            "the Bluetooth adapter is powered off: run `bluetoothctl power on`",
        )
    if name in _REJECTION_ERRORS:
        return PairingRejectedError(f"pairing rejected: {text or name}")
    if name == _TIMEOUT:
        return PairingRejectedError(
            f"pairing timed out: {text or name}", PairingRejectedError.TIMEOUT
        )
    if name == _CANCELED:
        return PairingRejectedError(
            f"pairing cancelled: {text or name}", PairingRejectedError.CANCELLED
        )
    return BridgeError(f"BlueZ error {name}: {text}")


class PairingAgent(ServiceInterface):
    """org.bluez.Agent1 answering only for the device being paired.

    Parameters
    ----------
    show : callable
        Shows a prompt to the nurse (the passkey to type on the stethoscope).
    """

    def __init__(self, show: Callable[[Prompt], None]) -> None:
        super().__init__("org.bluez.Agent1")
        self._show = show
        self.target: str | None = None  # D-Bus object path of the device we are pairing
        self.passkeys: list[int] = []

    def _check(self, device: str) -> None:
        if device != self.target:
            raise DBusError(_REJECTED, "this agent only pairs the stethoscope it was asked to")

    @dbus_method()
    def Release(self) -> None:
        return None

    @dbus_method()
    def RequestPinCode(self, device: DBusObjectPath) -> DBusStr:
        raise DBusError(_REJECTED, "legacy PIN pairing is not supported by the profile")

    @dbus_method()
    def DisplayPinCode(self, device: DBusObjectPath, pincode: DBusStr) -> None:
        self._check(device)
        self._show(Prompt(PromptKind.PIN, str(pincode)))

    @dbus_method()
    def RequestPasskey(self, device: DBusObjectPath) -> DBusUInt32:
        raise DBusError(_REJECTED, "this host has no keyboard for a passkey")

    @dbus_method()
    def DisplayPasskey(
        self, device: DBusObjectPath, passkey: DBusUInt32, entered: DBusUInt16
    ) -> None:
        self._check(device)
        if not self.passkeys or self.passkeys[-1] != passkey:
            self.passkeys.append(passkey)
            self._show(Prompt(PromptKind.PASSKEY, f"{passkey:06d}"))

    @dbus_method()
    def RequestConfirmation(self, device: DBusObjectPath, passkey: DBusUInt32) -> None:
        self._check(device)
        self.passkeys.append(passkey)
        self._show(Prompt(PromptKind.CONFIRM, f"{passkey:06d}"))

    @dbus_method()
    def RequestAuthorization(self, device: DBusObjectPath) -> None:
        self._check(device)  # Just Works: accept only the device we are pairing

    @dbus_method()
    def AuthorizeService(self, device: DBusObjectPath, uuid: DBusStr) -> None:
        self._check(device)

    @dbus_method()
    def Cancel(self) -> None:
        self._show(Prompt(PromptKind.CANCELLED))


async def system_bus() -> MessageBus:
    """Connect to the system bus, translating failures to our errors."""
    try:
        return await MessageBus(bus_type=BusType.SYSTEM).connect()
    except PermissionError as exc:
        raise BluetoothPermissionError(f"no access to the D-Bus system bus: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise AdapterUnavailableError(
            AdapterUnavailableError.NO_ADAPTER, f"D-Bus system bus unavailable: {exc}"
        ) from exc


async def _call(bus: MessageBus, message: Message) -> Message:
    reply = await bus.call(message)
    if reply is None:
        raise BridgeError(f"no reply from BlueZ to {message.member}")
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body else ""
        raise error_for_dbus(reply.error_name or "", str(text))
    return reply


async def check_adapter(bus: MessageBus, adapter: str = "hci0") -> None:
    """Raise AdapterUnavailableError unless `adapter` exists and is powered."""
    reply = await _call(
        bus,
        Message(
            destination="org.bluez",
            path=f"/org/bluez/{adapter}",
            interface="org.freedesktop.DBus.Properties",
            member="Get",
            signature="ss",
            body=["org.bluez.Adapter1", "Powered"],
        ),
    )
    powered = reply.body[0]
    if not (powered.value if isinstance(powered, Variant) else powered):
        raise AdapterUnavailableError(
            AdapterUnavailableError.POWERED_OFF,
            f"Bluetooth adapter {adapter} is powered off: run `bluetoothctl power on`",
        )


@contextlib.asynccontextmanager
async def registered_agent(bus: MessageBus, agent: PairingAgent) -> AsyncIterator[PairingAgent]:
    """Export `agent` and make it BlueZ's default agent for the duration of the block."""
    bus.export(AGENT_PATH, agent)
    try:
        await _call(bus, _agent_manager("RegisterAgent", "os", [AGENT_PATH, CAPABILITY]))
        await _call(bus, _agent_manager("RequestDefaultAgent", "o", [AGENT_PATH]))
        yield agent
    finally:
        with contextlib.suppress(BridgeError, OSError):
            await _call(bus, _agent_manager("UnregisterAgent", "o", [AGENT_PATH]))
        bus.unexport(AGENT_PATH, agent)


def _agent_manager(member: str, signature: str, body: list[str]) -> Message:
    return Message(
        destination="org.bluez",
        path="/org/bluez",
        interface="org.bluez.AgentManager1",
        member=member,
        signature=signature,
        body=body,
    )
