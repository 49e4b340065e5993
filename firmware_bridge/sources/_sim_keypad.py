"""Passkey entry with a simulated keypad stethoscope: the keypad, and BlueZ's side of it.

BlueZ, pairing a KeyboardOnly device for our DisplayOnly agent, picks a six-digit passkey, calls
the agent's DisplayPasskey and waits while the user types it on the device (Passkey Entry, Core
spec v5.4 Vol 3 Part H §2.3.5.3). A wrong passkey fails the confirm check
(org.bluez.Error.AuthenticationFailed), nobody typing within the SMP timeout (30 s, §3.4) ends
with AuthenticationTimeout, and an agent that refuses with AuthenticationRejected: the errors
bleak raises on a real Pi, so everything above this module is the production path.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Final

from bleak.exc import BleakDBusError
from dbus_fast import DBusError

from firmware_bridge.bluez_agent import device_path

if TYPE_CHECKING:
    from firmware_bridge.bluez_agent import PairingAgent

__all__ = ["KEYPADS", "SMP_TIMEOUT_S", "Keypad", "passkey_entry"]

# none: no keypad, "Just Works". types: the nurse types the passkey shown, `typing_s` later;
# mistypes: she types a wrong one; waits: only `Keypad.type_passkey` types (a test's hand).
KEYPADS: Final = ("none", "types", "mistypes", "waits")
SMP_TIMEOUT_S: Final = 30.0


class Keypad:
    """A stethoscope's keypad and the person in front of it."""

    def __init__(self, mode: str, typing_s: float, seed: int) -> None:
        if mode not in KEYPADS:
            raise ValueError(f"unknown keypad {mode!r}; choose one of {KEYPADS}")
        self.mode = mode
        self.typing_s = typing_s
        self._rng = random.Random(seed)  # the passkeys BlueZ picks: deterministic per seed
        self._typed: asyncio.Future[int] | None = None

    def new_passkey(self) -> int:
        return self._rng.randrange(1_000_000)

    def type_passkey(self, passkey: int) -> None:
        """Type `passkey` on the keypad (the nurse, reading it off the page)."""
        if self._typed is not None and not self._typed.done():
            self._typed.set_result(passkey)

    async def typed(self, shown: int) -> int:
        """What the person types after `shown` appeared on the host's display."""
        if self.mode == "types":
            await asyncio.sleep(self.typing_s)
            return shown
        if self.mode == "mistypes":
            await asyncio.sleep(self.typing_s)
            return (shown + 1) % 1_000_000
        self._typed = asyncio.get_running_loop().create_future()
        try:
            return await self._typed
        finally:
            self._typed = None


async def passkey_entry(
    agent: PairingAgent | None, keypad: Keypad, address: str, timeout_s: float
) -> None:
    """BlueZ's part of pairing a keypad device: display through `agent`, then check what was
    typed. Raises BleakDBusError with BlueZ's error names."""
    if agent is None:  # BlueZ without an agent cannot display a passkey
        raise BleakDBusError("org.bluez.Error.AuthenticationRejected", ["no agent"])
    passkey = keypad.new_passkey()
    try:
        agent.DisplayPasskey(device_path(address), passkey, 0)
    except DBusError as exc:
        raise BleakDBusError("org.bluez.Error.AuthenticationRejected", [exc.text]) from exc
    try:
        async with asyncio.timeout(timeout_s):
            typed = await keypad.typed(passkey)
    except TimeoutError as exc:
        agent.Cancel()
        raise BleakDBusError("org.bluez.Error.AuthenticationTimeout", ["timed out"]) from exc
    if typed != passkey:
        raise BleakDBusError("org.bluez.Error.AuthenticationFailed", ["Authentication Failed"])
