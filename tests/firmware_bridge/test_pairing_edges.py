"""`stetho pair`'s core, function by function: what a scan lists, what pairing learns and
leaves behind, which agent answers, and each failure's words.

The hardware is faked at bleak's backend interface: the simulated stethoscopes
(`firmware_bridge.sources.simulated_backends`) and, where an advertisement must lack what a
simulated one always sends, a scanner backend replaying scripted advertisements. BlueZ's agent
manager is the fake BlueZ on a private dbus-daemon, standing in for the system bus.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError
from dbus_fast import MessageType
from dbus_fast.aio import MessageBus

from firmware_bridge import gatt, pairing
from firmware_bridge.bluez_agent import AGENT_PATH, Prompt, PromptKind
from firmware_bridge.errors import (
    AdapterUnavailableError,
    DeviceNotFoundError,
    LinkLostError,
    PairingRejectedError,
)
from firmware_bridge.sources import PeripheralConfig, SimulatedAir, SimulatedStethoscope
from firmware_bridge.sources import simulated_backends as backends
from tests.fakes.fake_bluez import FakeBlueZ, private_bus

ADDRESS = "5E:7A:00:00:02:01"
needs_dbus = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon")


def _device(address: str = ADDRESS, **config: Any) -> SimulatedStethoscope:
    return SimulatedStethoscope("normal", speed=100.0, config=PeripheralConfig(address, **config))


class _Odd(SimulatedStethoscope):
    """A stethoscope whose battery reads empty and whose serial is not UTF-8."""

    def read(self, uuid: str) -> bytes:
        if uuid == gatt.BATTERY_LEVEL_UUID:
            return b""
        if uuid == gatt.SERIAL_NUMBER_UUID:
            return b"SN\xff1"
        return super().read(uuid)


# ---- scan


class _Scripted(BaseBleakScanner):
    """Replays `script` once at start: (address, device name, advertisement) as BlueZ reports."""

    script: ClassVar[list[tuple[str, str | None, AdvertisementData]]] = []
    fail: ClassVar[str | None] = None

    def __init__(self, detection_callback: Any, service_uuids: Any, *args: Any, **kwargs: Any):
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        if self.fail is not None:
            raise BleakError(self.fail)
        self.seen_devices = {}
        for address, name, adv in self.script:
            if self.is_allowed_uuid(adv.service_uuids):
                device = self.create_or_update_device(address, address, name, None, adv)
                self.call_detection_callbacks(device, adv)

    async def stop(self) -> None:
        return None


def _adv(
    local_name: str | None, rssi: int, battery: bytes | None, uuids: list[str] | None = None
) -> AdvertisementData:
    data = {} if battery is None else {gatt.BATTERY_SERVICE_UUID: battery}
    service_uuids = [gatt.SERVICE_UUID] if uuids is None else uuids
    return AdvertisementData(local_name, {}, data, service_uuids, None, rssi, ())


def _scripted(*script: tuple[str, str | None, AdvertisementData], fail: str | None = None) -> Any:
    return type("Scripted", (_Scripted,), {"script": list(script), "fail": fail})


def test_a_scan_lists_the_profile_stethoscopes_strongest_first() -> None:
    air = SimulatedAir(
        _device("5E:7A:00:00:02:01", name="Weak", rssi_dbm=-80, battery_percent=10),
        _device("5E:7A:00:00:02:02", name="Strong", rssi_dbm=-40, battery_percent=100),
        _device("5E:7A:00:00:02:03", name="Middle", rssi_dbm=-61, battery_percent=0),
    )
    _, scanner = backends(air)
    found = asyncio.run(pairing.scan(0.12, scanner_backend=scanner))
    assert found == [
        pairing.Advertised("5E:7A:00:00:02:02", "Strong", -40, 100),
        pairing.Advertised("5E:7A:00:00:02:03", "Middle", -61, 0),
        pairing.Advertised("5E:7A:00:00:02:01", "Weak", -80, 10),
    ]


def test_a_scan_reads_names_and_battery_as_advertised() -> None:
    scanner = _scripted(
        ("AA:00:00:00:00:01", "Dev-Name", _adv("Local-Name", -50, b"\x2a")),
        ("AA:00:00:00:00:02", "Only-Dev", _adv(None, -51, b"")),  # battery data, but empty
        ("AA:00:00:00:00:03", None, _adv(None, -52, None)),  # nameless, no battery data
        ("AA:00:00:00:00:04", "Speaker", _adv("Speaker", -10, b"\x64", uuids=[])),
        ("AA:00:00:00:00:01", "Dev-Name", _adv("Local-Name", -53, b"\x2b")),  # heard again
    )
    found = asyncio.run(pairing.scan(0.0, scanner_backend=scanner))
    assert found == [
        pairing.Advertised("AA:00:00:00:00:02", "Only-Dev", -51, None),
        pairing.Advertised("AA:00:00:00:00:03", "?", -52, None),
        pairing.Advertised("AA:00:00:00:00:01", "Local-Name", -53, 0x2B),  # the last heard
    ]


def test_a_scan_listens_five_seconds_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(pairing, "asyncio", SimpleNamespace(sleep=sleep, timeout=asyncio.timeout))
    asyncio.run(pairing.scan(scanner_backend=_scripted()))
    asyncio.run(pairing.scan(0.25, scanner_backend=_scripted()))
    assert slept == [5.0, 0.25]


def test_a_scanner_failure_is_a_lost_link_named_scanner() -> None:
    with pytest.raises(LinkLostError) as failed:
        asyncio.run(pairing.scan(0.0, scanner_backend=_scripted(fail="adapter went away")))
    assert str(failed.value) == "scanner: adapter went away"


# ---- pair and unpair


def _recording(client: type[BaseBleakClient], timeouts: list[float]) -> type[BaseBleakClient]:
    class Recording(client):  # type: ignore[valid-type,misc]
        def __init__(self, address: Any, **kwargs: Any) -> None:
            timeouts.append(kwargs["timeout"])
            super().__init__(address, **kwargs)

    return Recording


def test_pairing_bonds_reads_the_identity_and_disconnects() -> None:
    device = _device(name="Stetho-Ward", battery_percent=42, model="M-7", serial="S-99",
                     firmware="2.3.4")  # fmt: skip
    client, _ = backends(SimulatedAir(device))
    paired = asyncio.run(pairing.pair(ADDRESS, client_backend=client))
    assert paired == pairing.PairedDevice(ADDRESS, "Stetho-Ward", 42, "M-7", "S-99", "2.3.4")
    assert device.bonded and not device.connected


def test_an_empty_battery_and_a_serial_not_utf8_are_read_as_such() -> None:
    device = _Odd("normal", speed=100.0, config=PeripheralConfig(ADDRESS, "Odd"))
    client, _ = backends(SimulatedAir(device))
    paired = asyncio.run(pairing.pair(ADDRESS, client_backend=client))
    assert (paired.battery_percent, paired.serial) == (None, "SN\ufffd1")


def test_pairing_gives_the_connection_twenty_seconds_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float | None] = []

    def timeout(seconds: float | None) -> Any:
        waited.append(seconds)
        return asyncio.timeout(seconds)

    monkeypatch.setattr(pairing, "asyncio", SimpleNamespace(sleep=asyncio.sleep, timeout=timeout))
    asked: list[float] = []
    client, _ = backends(SimulatedAir(_device()))
    asyncio.run(pairing.pair(ADDRESS, client_backend=_recording(client, asked)))
    asyncio.run(pairing.pair(ADDRESS, client_backend=_recording(client, asked), timeout_s=7.5))
    assert waited == [20.0, 7.5] and asked == [20.0, 7.5]


def test_a_connection_slower_than_the_timeout_is_a_lost_link() -> None:
    device = _device()
    client, _ = backends(SimulatedAir(device))
    with pytest.raises(LinkLostError) as failed:
        asyncio.run(pairing.pair(ADDRESS, client_backend=client, timeout_s=0.001))
    assert str(failed.value) == f"{ADDRESS}: TimeoutError"
    assert not device.bonded and not device.connected


def test_a_refused_connection_names_the_address() -> None:
    device = _device()
    client, _ = backends(SimulatedAir(device, connect_failures=1))
    with pytest.raises(LinkLostError) as failed:
        asyncio.run(pairing.pair(ADDRESS, client_backend=client))
    assert str(failed.value) == f"{ADDRESS}: le-connection-abort-by-local"
    assert not device.bonded


def test_a_failed_pairing_still_disconnects() -> None:
    device = _device(keypad="mistypes")
    air = SimulatedAir(device)
    client, _ = backends(air)
    with pytest.raises(PairingRejectedError):
        asyncio.run(pairing.pair(ADDRESS, show=lambda _: None, client_backend=client, agents=air))
    assert not device.connected and not device.bonded


def test_a_passkey_is_printed_unless_shown_elsewhere(capsys: pytest.CaptureFixture[str]) -> None:
    device = _device(keypad="types")
    air = SimulatedAir(device)
    client, _ = backends(air)
    asyncio.run(pairing.pair(ADDRESS, client_backend=client, agents=air))
    printed = capsys.readouterr().out
    assert printed.startswith("Enter passkey ") and printed.endswith(" on the stethoscope\n")
    assert device.bonded


def test_a_stethoscope_not_in_range_is_not_found() -> None:
    client, _ = backends(SimulatedAir(_device("5E:7A:00:00:02:99")))
    with pytest.raises(DeviceNotFoundError) as failed:
        asyncio.run(pairing.pair(ADDRESS, client_backend=client))
    assert str(failed.value) == f"{ADDRESS} not found"
    with pytest.raises(DeviceNotFoundError) as forgetting:
        asyncio.run(pairing.unpair(ADDRESS, client_backend=client))
    assert str(forgetting.value) == f"{ADDRESS} not found"


def test_unpairing_forgets_the_bond() -> None:
    device = _device()
    device.bonded = True
    client, _ = backends(SimulatedAir(device))
    asyncio.run(pairing.unpair(ADDRESS, client_backend=client))
    assert not device.bonded


# ---- which agent answers


def test_the_given_agent_manager_calls_our_agent_for_this_device_only() -> None:
    air = SimulatedAir(_device())
    shown: list[Prompt] = []

    async def run() -> None:
        async with pairing._agent(ADDRESS, shown.append, True, air):
            assert air.agent is not None
            assert air.agent.target == "/org/bluez/hci0/dev_5E_7A_00_00_02_01"
            air.agent.DisplayPasskey(air.agent.target, 123456, 0)
        assert air.agent is None

    asyncio.run(run())
    assert shown == [Prompt(PromptKind.PASSKEY, "123456")]


@pytest.fixture
def system_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private dbus-daemon in the system bus's place."""
    with private_bus(tmp_path) as address:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        yield address


def _spy_buses(monkeypatch: pytest.MonkeyPatch) -> list[MessageBus]:
    buses: list[MessageBus] = []
    real = pairing.system_bus

    async def spy() -> MessageBus:
        buses.append(await real())
        return buses[-1]

    monkeypatch.setattr(pairing, "system_bus", spy)
    return buses


@needs_dbus
def test_on_bluez_our_agent_is_registered_for_the_block(
    system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    buses = _spy_buses(monkeypatch)
    shown: list[Prompt] = []

    async def run() -> tuple[FakeBlueZ, list[MessageType]]:
        bluez = FakeBlueZ()
        await bluez.start(system_bus)
        try:
            async with pairing._agent(ADDRESS, shown.append, True, None):
                assert [c[0] for c in bluez.calls] == ["RegisterAgent", "RequestDefaultAgent"]
                target = "/org/bluez/hci0/dev_5E_7A_00_00_02_01"
                replies = [
                    (await bluez.call_agent("DisplayPasskey", "ouq", [path, 654321, 0]))
                    for path in (target, "/org/bluez/hci0/dev_66_66_66_66_66_66")
                ]
            return bluez, [r.message_type for r in replies]
        finally:
            bluez.stop()

    bluez, replies = asyncio.run(run())
    assert replies == [MessageType.METHOD_RETURN, MessageType.ERROR]
    assert shown == [Prompt(PromptKind.PASSKEY, "654321")]
    assert bluez.calls[0][1][0] == AGENT_PATH and bluez.calls[-1][0] == "UnregisterAgent"
    assert len(buses) == 1 and not buses[0].connected


@needs_dbus
def test_on_bluez_a_powered_off_adapter_stops_before_the_agent(
    system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    buses = _spy_buses(monkeypatch)

    async def run() -> FakeBlueZ:
        bluez = FakeBlueZ(powered=False)
        await bluez.start(system_bus)
        try:
            with pytest.raises(AdapterUnavailableError) as off:
                async with pairing._agent(ADDRESS, print, True, None):
                    pytest.fail("entered with the adapter off")
            assert off.value.reason == AdapterUnavailableError.POWERED_OFF
            return bluez
        finally:
            bluez.stop()

    assert asyncio.run(run()).calls == []
    assert len(buses) == 1 and not buses[0].connected


def test_another_backend_without_an_agent_manager_touches_no_bus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buses = _spy_buses(monkeypatch)

    async def run() -> bool:
        async with pairing._agent(ADDRESS, print, False, None):
            return True

    assert asyncio.run(run()) and buses == []


@needs_dbus
def test_pairing_on_bluez_registers_our_agent_before_connecting(system_bus: str) -> None:
    async def run() -> FakeBlueZ:
        bluez = FakeBlueZ()  # owns org.bluez, but knows no device: bleak's lookup fails
        await bluez.start(system_bus)
        try:
            with pytest.raises(AdapterUnavailableError):  # BlueZ without its objects
                await pairing.pair(ADDRESS, show=print, timeout_s=2.0)
            return bluez
        finally:
            bluez.stop()

    calls = [c[0] for c in asyncio.run(run()).calls]
    assert calls == ["RegisterAgent", "RequestDefaultAgent", "UnregisterAgent"]
