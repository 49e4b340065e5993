"""Find, pair and forget stethoscopes speaking the profile.

On BlueZ (no backend override) pairing first checks the adapter and registers our Agent1, so it
works headless; with a simulator backend the same bleak calls run against the simulated device,
and the simulated air (an `AgentManager`) calls the same agent the way BlueZ would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from firmware_bridge import gatt
from firmware_bridge._bleak_errors import translate_bleak_errors
from firmware_bridge.bluez_agent import (
    PairingAgent,
    Prompt,
    check_adapter,
    device_path,
    registered_agent,
    system_bus,
)

__all__ = ["Advertised", "AgentManager", "PairedDevice", "pair", "scan", "unpair"]


class AgentManager(Protocol):
    """Who calls our pairing agent while a device pairs (BlueZ's AgentManager1, or the
    simulated air): `registered(agent)` makes it the agent for the block's duration."""

    def registered(self, agent: PairingAgent) -> contextlib.AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True)
class Advertised:
    """A stethoscope heard while scanning."""

    address: str
    name: str
    rssi_dbm: int
    battery_percent: int | None  # from Battery Service data in the advertisement, if sent


@dataclass(frozen=True)
class PairedDevice:
    """What pairing learnt about the device (Device Information and Battery services)."""

    address: str
    name: str
    battery_percent: int | None
    model: str
    serial: str
    firmware: str


async def scan(
    timeout_s: float = 5.0, *, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[Advertised]:
    """Stethoscopes advertising the profile's service, strongest signal first."""
    found: dict[str, Advertised] = {}

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        battery = adv.service_data.get(gatt.BATTERY_SERVICE_UUID)
        found[device.address] = Advertised(
            device.address, adv.local_name or device.name or "?", adv.rssi,
            battery[0] if battery else None,
        )  # fmt: skip

    options: dict[str, Any] = {"service_uuids": [gatt.SERVICE_UUID]}
    if scanner_backend is not None:
        options["backend"] = scanner_backend
    with translate_bleak_errors("scanner"):
        async with BleakScanner(seen, **options):
            await asyncio.sleep(timeout_s)
    return sorted(found.values(), key=lambda a: -a.rssi_dbm)


@contextlib.asynccontextmanager
async def _agent(
    address: str, show: Callable[[Prompt], None], bluez: bool, agents: AgentManager | None
) -> AsyncIterator[None]:
    agent = PairingAgent(show)
    agent.target = device_path(address)
    if agents is not None:
        async with agents.registered(agent):
            yield
        return
    if not bluez:  # another backend and nobody to call an agent: "Just Works" only
        yield
        return
    bus = await system_bus()
    try:
        await check_adapter(bus)
        async with registered_agent(bus, agent):
            yield
    finally:
        bus.disconnect()


async def pair(
    address: str,
    *,
    show: Callable[[Prompt], None] = print,
    timeout_s: float = 20.0,
    client_backend: type[BaseBleakClient] | None = None,
    agents: AgentManager | None = None,
) -> PairedDevice:
    """Connect to `address`, pair and bond, and read its identity and battery. `show` gets
    what BlueZ asks our agent to display (the passkey a keypad stethoscope needs typed).

    Raises AdapterUnavailableError, BluetoothPermissionError, DeviceNotFoundError,
    PairingRejectedError or LinkLostError.
    """
    options: dict[str, Any] = {"timeout": timeout_s}
    if client_backend is not None:
        options["backend"] = client_backend
    async with _agent(address, show, client_backend is None, agents):
        with translate_bleak_errors(address):
            client = BleakClient(address, **options)
            async with asyncio.timeout(timeout_s):
                await client.connect()
            try:
                await client.pair()
                return await _identity(client, address)
            finally:
                await client.disconnect()


async def _identity(client: BleakClient, address: str) -> PairedDevice:
    async def text(uuid: str) -> str:
        return bytes(await client.read_gatt_char(uuid)).decode("utf-8", "replace")

    battery = bytes(await client.read_gatt_char(gatt.BATTERY_LEVEL_UUID))
    return PairedDevice(
        address=address,
        name=client.name,
        battery_percent=battery[0] if battery else None,
        model=await text(gatt.MODEL_NUMBER_UUID),
        serial=await text(gatt.SERIAL_NUMBER_UUID),
        firmware=await text(gatt.FIRMWARE_REVISION_UUID),
    )


async def unpair(address: str, *, client_backend: type[BaseBleakClient] | None = None) -> None:
    """Remove the bond with `address` (BlueZ forgets the device). A device the stack never
    knew raises DeviceNotFoundError."""
    options: dict[str, Any] = {}
    if client_backend is not None:
        options["backend"] = client_backend
    with translate_bleak_errors(address):
        await BleakClient(address, **options).unpair()
