"""The pairing agent and adapter checks against a fake BlueZ on a real, private dbus-daemon."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from dbus_fast import MessageType
from dbus_fast.aio import MessageBus

from firmware_bridge.bluez_agent import (
    AGENT_PATH,
    CAPABILITY,
    PairingAgent,
    Prompt,
    PromptKind,
    check_adapter,
    error_for_dbus,
    registered_agent,
)
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    PairingRejectedError,
)
from tests.fakes.fake_bluez import FakeBlueZ, private_bus

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon")
TARGET = "/org/bluez/hci0/dev_5E_7A_00_00_00_01"


async def _with_bluez(address: str, bluez: FakeBlueZ | None) -> MessageBus:
    if bluez is not None:
        await bluez.start(address)
    return await MessageBus(bus_address=address).connect()


def test_powered_adapter_passes_and_powered_off_is_reported(tmp_path: Path) -> None:
    async def run(bluez: FakeBlueZ | None) -> None:
        with private_bus(tmp_path) as address:
            bus = await _with_bluez(address, bluez)
            try:
                await check_adapter(bus)
            finally:
                bus.disconnect()
                if bluez is not None:
                    bluez.stop()

    asyncio.run(run(FakeBlueZ(powered=True)))
    with pytest.raises(AdapterUnavailableError) as off:
        asyncio.run(run(FakeBlueZ(powered=False)))
    assert off.value.reason == AdapterUnavailableError.POWERED_OFF
    with pytest.raises(AdapterUnavailableError) as missing:
        asyncio.run(run(FakeBlueZ(adapter=False)))
    assert missing.value.reason == AdapterUnavailableError.NO_ADAPTER
    with pytest.raises(AdapterUnavailableError) as no_bluez:
        asyncio.run(run(None))  # nobody owns org.bluez
    assert no_bluez.value.reason == AdapterUnavailableError.NO_ADAPTER


def test_agent_registers_answers_bluez_and_unregisters(tmp_path: Path) -> None:
    shown: list[Prompt] = []

    async def run() -> tuple[FakeBlueZ, list[MessageType], list[str]]:
        bluez = FakeBlueZ()
        with private_bus(tmp_path) as address:
            bus = await _with_bluez(address, bluez)
            agent = PairingAgent(shown.append)
            agent.target = TARGET
            replies = []
            errors = []
            async with registered_agent(bus, agent):
                for member, sig, body in (
                    ("RequestAuthorization", "o", [TARGET]),
                    ("DisplayPasskey", "ouq", [TARGET, 123456, 0]),
                    ("RequestAuthorization", "o", ["/org/bluez/hci0/dev_66_66_66_66_66_66"]),
                    ("RequestPasskey", "o", [TARGET]),
                ):
                    reply = await bluez.call_agent(member, sig, body)
                    replies.append(reply.message_type)
                    errors.append(reply.error_name or "")
            bus.disconnect()
            bluez.stop()
            return bluez, replies, errors

    bluez, replies, errors = asyncio.run(run())
    assert [c[0] for c in bluez.calls] == [
        "RegisterAgent",
        "RequestDefaultAgent",
        "UnregisterAgent",
    ]
    assert bluez.calls[0][1] == [AGENT_PATH, CAPABILITY]
    assert replies[:2] == [MessageType.METHOD_RETURN, MessageType.METHOD_RETURN]
    assert errors[2:] == ["org.bluez.Error.Rejected", "org.bluez.Error.Rejected"]
    assert shown == [Prompt(PromptKind.PASSKEY, "123456")]
    assert str(shown[0]) == "Enter passkey 123456 on the stethoscope"  # what `stetho pair` prints


def test_policy_denial_is_a_permission_error(tmp_path: Path) -> None:
    async def run() -> None:
        bluez = FakeBlueZ(deny=True)
        with private_bus(tmp_path) as address:
            bus = await _with_bluez(address, bluez)
            try:
                async with registered_agent(bus, PairingAgent(print)):
                    pass
            finally:
                bus.disconnect()
                bluez.stop()

    with pytest.raises(BluetoothPermissionError, match="bluetooth' group"):
        asyncio.run(run())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("org.bluez.Error.AuthenticationRejected", PairingRejectedError),
        ("org.bluez.Error.AuthenticationCanceled", PairingRejectedError),
        ("org.freedesktop.DBus.Error.AccessDenied", BluetoothPermissionError),
        ("org.freedesktop.DBus.Error.ServiceUnknown", AdapterUnavailableError),
        ("org.bluez.Error.NotReady", AdapterUnavailableError),
    ],
)
def test_dbus_error_names_map_to_our_errors(name: str, kind: type) -> None:
    assert type(error_for_dbus(name, "text")) is kind


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("org.bluez.Error.AuthenticationFailed", PairingRejectedError.REJECTED),
        ("org.bluez.Error.AuthenticationTimeout", PairingRejectedError.TIMEOUT),
        ("org.bluez.Error.AuthenticationCanceled", PairingRejectedError.CANCELLED),
    ],
)
def test_pairing_failures_say_why(name: str, reason: str) -> None:
    error = error_for_dbus(name, "text")
    assert isinstance(error, PairingRejectedError) and error.reason == reason
