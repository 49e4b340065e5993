"""The agent's Bluetooth, and pairing through it: one code path for `stetho pair` and the page.

`Radio()` is BlueZ. `Radio.simulated(...)` puts simulated stethoscopes in range: the same bleak
calls then reach them through the simulator's backends, which answer with the profile's exact
GATT bytes and, for a keypad stethoscope, call our pairing agent as BlueZ would (the hardware
boundary, faked; everything above it is the real code).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from edge_agent.config import RadioConfig
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice, device_id_for
from firmware_bridge import pairing
from firmware_bridge.bluez_agent import Prompt
from firmware_bridge.sources import (
    PeripheralConfig,
    SimulatedAir,
    SimulatedStethoscope,
    simulated_backends,
)

__all__ = ["SCAN_S", "Radio", "pair_and_register", "radio_for", "scan"]

SCAN_S = 5.0  # long enough to hear a stethoscope advertising every second or so


@dataclass(frozen=True)
class Radio:
    """bleak backend overrides; both None: the platform's (BlueZ on Linux). `air`: the
    simulated stethoscopes in range, which also call the pairing agent. `scan_s`: how long a
    scan listens."""

    client_backend: type[BaseBleakClient] | None = None
    scanner_backend: type[BaseBleakScanner] | None = None
    air: SimulatedAir | None = None
    scan_s: float = SCAN_S

    @classmethod
    def simulated(cls, *peripherals: SimulatedStethoscope, scan_s: float = SCAN_S) -> Radio:
        air = SimulatedAir(*peripherals)
        client, scanner = simulated_backends(air)
        return cls(client, scanner, air, scan_s)


def radio_for(config: RadioConfig) -> Radio:
    """BlueZ, or the configured simulated stethoscopes (addresses 5E:7A:00:00:01:01 on). The
    simulated air runs `speed` times faster, its scan too, as a simulated nurse's typing does
    (its stethoscopes advertise every 50 ms, so a short scan still hears each)."""
    if not config.simulated:
        return Radio()
    return Radio.simulated(*(
        SimulatedStethoscope(scenario, seed=i, speed=config.speed, config=PeripheralConfig(
            f"5E:7A:00:00:01:{i + 1:02X}", f"Stetho-Sim-{i + 1}", -55 - 4 * i,
            keypad=config.keypad))
        for i, scenario in enumerate(config.simulated)
    ), scan_s=SCAN_S / config.speed)  # fmt: skip


async def scan(radio: Radio, seconds: float | None = None) -> list[pairing.Advertised]:
    """Stethoscopes advertising the profile, strongest first (BridgeError when the radio is
    off); listens `seconds`, by default the radio's scan length."""
    listen_s = seconds or radio.scan_s
    return await pairing.scan(listen_s, scanner_backend=radio.scanner_backend)


async def pair_and_register(
    registry: DeviceRegistry,
    address: str,
    radio: Radio,
    location: str = "",
    show: Callable[[Prompt], None] = print,
) -> RegisteredDevice:
    """Pair and bond `address`, read its identity, and add it to the registry (which the
    running agent follows). `show` gets the passkey to type on a keypad stethoscope. Raises
    the BridgeError of pairing, or RegistryError."""
    paired = await pairing.pair(
        address, show=show, client_backend=radio.client_backend, agents=radio.air
    )
    now = time.time()
    device = RegisteredDevice(
        id=device_id_for(paired.name, paired.address), address=paired.address,
        name=paired.name, location=location, bonded_at=now, last_seen=now,
        battery_percent=paired.battery_percent,
    )  # fmt: skip
    await asyncio.to_thread(registry.upsert, device)
    return device
