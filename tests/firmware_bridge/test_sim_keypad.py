"""A simulated keypad stethoscope pairs through our own BlueZ agent, as on a Pi: the passkey
reaches `show` through DisplayPasskey, and what is typed decides the outcome."""

from __future__ import annotations

import asyncio

import pytest

from firmware_bridge import pairing
from firmware_bridge.bluez_agent import Prompt, PromptKind
from firmware_bridge.errors import PairingRejectedError
from firmware_bridge.sources import PeripheralConfig, SimulatedAir, SimulatedStethoscope
from firmware_bridge.sources import simulated_backends as backends

ADDRESS = "5E:7A:00:00:01:01"


def _air(keypad: str, speed: float = 100.0) -> SimulatedAir:
    config = PeripheralConfig(ADDRESS, "Stetho-Keys", keypad=keypad)
    return SimulatedAir(SimulatedStethoscope("normal", speed=speed, config=config))


async def _pair(air: SimulatedAir, shown: list[Prompt], agents: bool = True) -> None:
    client, _ = backends(air)
    await pairing.pair(ADDRESS, show=shown.append, client_backend=client,
                       agents=air if agents else None)  # fmt: skip


def test_the_nurse_types_the_passkey_shown() -> None:
    air, shown = _air("types"), []
    asyncio.run(_pair(air, shown))
    assert [p.kind for p in shown] == [PromptKind.PASSKEY] and len(shown[0].code) == 6
    assert air.peripherals[ADDRESS].bonded and air.agent is None  # unregistered after


@pytest.mark.parametrize(
    ("keypad", "agents", "reason"),
    [
        ("mistypes", True, PairingRejectedError.REJECTED),
        ("waits", True, PairingRejectedError.TIMEOUT),  # nobody types: the SMP timeout
        ("types", False, PairingRejectedError.REJECTED),  # no agent to display the passkey
    ],
)
def test_a_wrong_late_or_unshowable_passkey_fails(keypad: str, agents: bool, reason: str) -> None:
    air, shown = _air(keypad), []
    with pytest.raises(PairingRejectedError) as failed:
        asyncio.run(_pair(air, shown, agents))
    assert failed.value.reason == reason
    assert not air.peripherals[ADDRESS].bonded


def test_just_works_without_a_keypad() -> None:
    air, shown = _air("none"), []
    asyncio.run(_pair(air, shown, agents=True))
    assert shown == [] and air.peripherals[ADDRESS].bonded
