"""bleak backends over `SimulatedAir`: pass them to `BleakClient`/`BleakScanner` with `backend=`.

They implement bleak's backend contracts (`bleak.backends.client.BaseBleakClient`,
`bleak.backends.scanner.BaseBleakScanner`) so everything above them, bleak's own front-end
included, is the production code path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from firmware_bridge import gatt
from firmware_bridge.sources._sim_keypad import SMP_TIMEOUT_S, passkey_entry
from firmware_bridge.sources.simulator import SimulatedAir, SimulatedStethoscope
from stetho_common.waits import stopped

__all__ = ["simulated_backends"]

_CCCD = "00002902-0000-1000-8000-00805f9b34fb"
_LAYOUT: tuple[tuple[str, tuple[tuple[str, list[CharacteristicPropertyName]], ...]], ...] = (
    (
        gatt.SERVICE_UUID,
        (
            (gatt.AUDIO_CHAR_UUID, ["notify"]),
            (gatt.CONTROL_CHAR_UUID, ["write", "notify"]),
            (gatt.STATUS_CHAR_UUID, ["read", "notify"]),
        ),
    ),
    (gatt.BATTERY_SERVICE_UUID, ((gatt.BATTERY_LEVEL_UUID, ["read", "notify"]),)),
    (
        gatt.DEVICE_INFO_SERVICE_UUID,
        (
            (gatt.MODEL_NUMBER_UUID, ["read"]),
            (gatt.SERIAL_NUMBER_UUID, ["read"]),
            (gatt.FIRMWARE_REVISION_UUID, ["read"]),
        ),
    ),
)
_ADVERTISING_INTERVAL_S = 0.05
_CONNECT_LATENCY_S = 0.01
_CCCD_WRITE_S = 0.005


def _service_collection(mtu: int) -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    handle = 1
    for service_uuid, characteristics in _LAYOUT:
        service = BleakGATTService(None, handle, service_uuid)
        services.add_service(service)
        for char_uuid, props in characteristics:
            handle += 2  # declaration, then value
            char = BleakGATTCharacteristic(
                None,
                handle,
                char_uuid,
                props,
                lambda: mtu - 3,
                service,
            )
            services.add_characteristic(char)
            if "notify" in props:
                handle += 1
                services.add_descriptor(BleakGATTDescriptor(None, handle, _CCCD, char))
        handle += 1
    return services


class _SimulatedClient(BaseBleakClient):
    """Client backend talking to a `SimulatedStethoscope` found in the bound air."""

    air: ClassVar[SimulatedAir]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._peripheral: SimulatedStethoscope | None = None

    @property
    def name(self) -> str:
        return self._device().config.name

    @property
    def mtu_size(self) -> int:
        return self._device().config.mtu

    @property
    def is_connected(self) -> bool:
        return self._peripheral is not None and self._peripheral.connected

    def _device(self) -> SimulatedStethoscope:
        peripheral = self.air.peripherals.get(self.address.upper())
        if peripheral is None:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        return peripheral

    def _connected(self) -> SimulatedStethoscope:
        if self._peripheral is None or not self._peripheral.connected:
            raise BleakError("Not connected")
        return self._peripheral

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        peripheral = self._device()
        await asyncio.sleep(_CONNECT_LATENCY_S)
        if self.air.connect_failures > 0:
            self.air.connect_failures -= 1
            raise BleakError("le-connection-abort-by-local")
        if peripheral.connected:
            raise BleakError(f"{self.address} is already connected to another central")
        peripheral.connect(self._lost)
        self._peripheral = peripheral
        self.services = _service_collection(peripheral.config.mtu)
        if pair:
            peripheral.bonded = True

    def _lost(self) -> None:
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._peripheral is not None:
            self._peripheral.disconnect()
        self._peripheral = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        peripheral = self._device()
        if peripheral.config.keypad != "none":  # BlueZ asks our agent to display a passkey
            timeout_s = SMP_TIMEOUT_S / peripheral.speed
            await passkey_entry(self.air.agent, peripheral.keypad, self.address, timeout_s)
        peripheral.bonded = True

    async def unpair(self) -> None:
        self._device().bonded = False

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        return bytearray(self._connected().read(characteristic.uuid))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        raise BleakError("the simulator does not expose descriptor reads")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        try:
            self._connected().write(characteristic.uuid, bytes(data))
        except PermissionError as exc:
            raise BleakError(str(exc)) from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("the simulator does not expose descriptor writes")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peripheral = self._connected()
        await asyncio.sleep(_CCCD_WRITE_S)  # the CCCD write takes a round trip
        peripheral.subscribe(characteristic.uuid, lambda value: callback(bytearray(value)))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._connected().subscribe(characteristic.uuid, None)


class _SimulatedScanner(BaseBleakScanner):
    """Scanner backend: every peripheral in the bound air advertises its name and service."""

    air: ClassVar[SimulatedAir]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def stop(self) -> None:
        if self._task is not None:
            await stopped(self._task)
            self._task = None

    async def _advertise(self) -> None:
        while True:
            for peripheral in list(self.air.peripherals.values()):
                if peripheral.connected:
                    continue  # a connected peripheral stops advertising
                config = peripheral.config
                # Battery level as Battery Service data, so a scan can show it (profile §1).
                battery = {gatt.BATTERY_SERVICE_UUID: peripheral.read(gatt.BATTERY_LEVEL_UUID)}
                adv = AdvertisementData(
                    config.name, {}, battery, [gatt.SERVICE_UUID], None, config.rssi_dbm, ()
                )
                if self.is_allowed_uuid(adv.service_uuids):
                    device = self.create_or_update_device(
                        config.address, config.address, config.name, peripheral, adv
                    )
                    self.call_detection_callbacks(device, adv)
            await asyncio.sleep(_ADVERTISING_INTERVAL_S)


def simulated_backends(
    air: SimulatedAir,
) -> tuple[type[BaseBleakClient], type[BaseBleakScanner]]:
    """Client and scanner backend classes bound to `air`, for bleak's `backend=` argument."""
    client: Callable[..., Any] = type("SimulatedBleakClient", (_SimulatedClient,), {"air": air})
    scanner: Callable[..., Any] = type("SimulatedBleakScanner", (_SimulatedScanner,), {"air": air})
    return client, scanner  # type: ignore[return-value]
