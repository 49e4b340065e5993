"""A simulated stethoscope: the GATT server of docs/ble-profile.md, byte for byte.

`SimulatedStethoscope` is the peripheral: it advertises, accepts a connection with an MTU,
answers reads and control point writes and, once started, notifies audio frames at the real
cadence (scaled by `speed`) from the synthesiser. `SimulatedAir` is the radio: it holds the
peripherals and hands out the bleak backend classes (`_sim_bleak.py`) bound to it, so the real
`BleakClient` and `BleakScanner` code paths run against it. Deterministic for a given seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from firmware_bridge import gatt
from firmware_bridge.codec import RATE_CODES, AudioFrame, Codec, FrameFlags, encode_frame
from firmware_bridge.errors import ConfigurationError
from firmware_bridge.gatt import ControlCommand, ControlResponse, Opcode, ResultCode, StatusFlags
from firmware_bridge.sources._sim_keypad import Keypad
from firmware_bridge.sources.faults import LinkFaults
from stetho_sim.scenarios import SimulationSetupError

if TYPE_CHECKING:
    from firmware_bridge.bluez_agent import PairingAgent
    from stetho_sim.synth import StethoscopeSynth

__all__ = ["FRAMES_PER_TURN", "PeripheralConfig", "SimulatedAir", "SimulatedStethoscope"]

Notify = Callable[[bytes], None]
_HEADER_BYTES: Final = 12
# Most frames the simulator sends without yielding (about 1 s of audio). A loaded machine at a
# high `speed` can fall behind the simulated clock; catching up in one go would starve the event
# loop that must receive those frames (keep-alives missed, SIGTERM unanswered, the inbox growing
# without end).
FRAMES_PER_TURN: Final = 32


@dataclass(frozen=True)
class PeripheralConfig:
    """Identity and radio of a simulated stethoscope."""

    address: str = "5E:7A:00:00:00:01"
    name: str = "Stetho-Sim"
    rssi_dbm: int = -58
    mtu: int = 247
    battery_percent: int = 87
    model: str = "SIM-1"
    serial: str = "SIM0001"
    firmware: str = "1.0.0"
    button_presses_s: tuple[float, ...] = ()  # stream times (s) of chest-piece button presses
    keypad: str = "none"  # one of _sim_keypad.KEYPADS: who types a passkey, if asked
    typing_s: float = 10.0  # time the simulated nurse takes to type a passkey (`speed` scales)


class SimulatedStethoscope:
    """The peripheral side of the profile, driven by the asyncio loop.

    Parameters
    ----------
    scenario, seed, sample_rate_hz
        Passed to `StethoscopeSynth`.
    speed : float
        Stream time runs `speed` times faster than the wall clock.
    faults : LinkFaults
        Loss, reordering and forced disconnects applied to audio notifications.
    """

    def __init__(
        self,
        scenario: str,
        *,
        seed: int = 0,
        speed: float = 1.0,
        sample_rate_hz: int = 4000,
        faults: LinkFaults | None = None,
        config: PeripheralConfig | None = None,
    ) -> None:
        self.config = config or PeripheralConfig()
        self.sample_rate_hz = sample_rate_hz
        self.speed = speed
        self.faults = faults or LinkFaults()
        self.connected = False
        self.bonded = False
        self.connections = 0
        self._seed = seed
        self._synth = _synth(scenario, sample_rate_hz, seed)
        self._fault_rng = np.random.default_rng([seed, 0x5E7A])
        self._subscribers: dict[str, Notify] = {}
        self._on_disconnect: Callable[[], None] | None = None
        self._clock_origin: float | None = None  # monotonic time of sample 0
        self._streamer: asyncio.Task[None] | None = None
        self._codec = Codec.PCM16
        self._sequence = 0
        self._held: bytes | None = None  # a frame delayed by the reorder fault
        self._presses = 0
        self._contact = True
        self._battery = self.config.battery_percent
        self.notifications_sent = 0
        try:
            self.keypad = Keypad(self.config.keypad, self.config.typing_s / speed, seed)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc

    # Link layer ----------------------------------------------------------------------------

    def connect(self, on_disconnect: Callable[[], None]) -> None:
        """Accept a central's connection."""
        self.connected = True
        self.connections += 1
        self._on_disconnect = on_disconnect

    def disconnect(self, *, by_peripheral: bool = False) -> None:
        """Drop the connection; subscriptions and streaming end with it (as on real links)."""
        if not self.connected:
            return
        self.connected = False
        self._subscribers.clear()
        if self._streamer is not None:
            self._streamer.cancel()
            self._streamer = None
        callback, self._on_disconnect = self._on_disconnect, None
        if by_peripheral and callback is not None:
            callback()

    # ATT -----------------------------------------------------------------------------------

    def read(self, uuid: str) -> bytes:
        """Value of a readable characteristic."""
        values = {
            gatt.STATUS_CHAR_UUID: self._status().encode(),
            gatt.BATTERY_LEVEL_UUID: bytes([self._battery]),
            gatt.MODEL_NUMBER_UUID: self.config.model.encode(),
            gatt.SERIAL_NUMBER_UUID: self.config.serial.encode(),
            gatt.FIRMWARE_REVISION_UUID: self.config.firmware.encode(),
        }
        return values[uuid]

    def subscribe(self, uuid: str, notify: Notify | None) -> None:
        """Write the CCCD of `uuid`: a callback enables notifications, None disables them."""
        if notify is None:
            self._subscribers.pop(uuid, None)
        else:
            self._subscribers[uuid] = notify

    def write(self, uuid: str, data: bytes) -> None:
        """A write with response; the control point answers with a notification."""
        if uuid != gatt.CONTROL_CHAR_UUID:
            raise PermissionError(f"characteristic {uuid} is not writable")
        command = ControlCommand.decode(data)
        request = data[0] if data else 0
        result = command if isinstance(command, ResultCode) else self._execute(command)
        self._notify(gatt.CONTROL_CHAR_UUID, ControlResponse(request, result).encode())

    def _execute(self, command: ControlCommand) -> ResultCode:
        if command.opcode is Opcode.START_STREAM:
            self._codec = Codec(command.parameter or 0)
            if self._streamer is None:
                self._streamer = asyncio.get_running_loop().create_task(self._stream())
            return ResultCode.SUCCESS
        if command.opcode is Opcode.STOP_STREAM:
            if self._streamer is not None:
                self._streamer.cancel()
                self._streamer = None
            return ResultCode.SUCCESS
        if command.opcode is Opcode.SET_SAMPLE_RATE:
            return self._set_rate(RATE_CODES[command.parameter or 0])
        return ResultCode.SUCCESS  # filter and gain are accepted; the synth models the chest

    def _set_rate(self, sample_rate_hz: int) -> ResultCode:
        if self._streamer is not None:
            return ResultCode.BUSY
        if sample_rate_hz != self.sample_rate_hz:
            # A new rate restarts sampling, and with it the first-sample index (profile §2).
            scenario = self._synth.scenario.name
            self._synth = _synth(scenario, sample_rate_hz, self._seed)
            self.sample_rate_hz = sample_rate_hz
            self._clock_origin = None
        return ResultCode.SUCCESS

    def _notify(self, uuid: str, value: bytes) -> None:
        callback = self._subscribers.get(uuid)
        if callback is not None:
            self.notifications_sent += 1
            callback(value)

    def _status(self) -> gatt.Status:
        flags = StatusFlags.NONE
        if self._synth.contact_at(self._synth.position):
            flags |= StatusFlags.CONTACT
        if self._streamer is not None:
            flags |= StatusFlags.STREAMING
        return gatt.Status(flags, self._presses)

    # Streaming -----------------------------------------------------------------------------

    def samples_per_frame(self) -> int:
        """Frame size that fills one notification at the configured MTU."""
        room = self.config.mtu - 3 - _HEADER_BYTES
        return room // 2 if self._codec is Codec.PCM16 else (room - 4) * 2 + 1

    def _device_position(self) -> int:
        assert self._clock_origin is not None
        elapsed = (time.monotonic() - self._clock_origin) * self.speed
        return int(elapsed * self.sample_rate_hz)

    async def _stream(self) -> None:
        # The sampling clock starts at the first START and keeps running while disconnected,
        # so a reconnecting host sees the outage as a jump in the first-sample index.
        if self._clock_origin is None:
            self._clock_origin = time.monotonic()
        else:
            behind = self._device_position() - self._synth.position
            if behind > 0:
                self._synth.read(behind)  # sampled while nobody listened: never sent
        first = True
        period_s = self.samples_per_frame() / self.sample_rate_hz / self.speed
        stream_started_s = self._synth.position / self.sample_rate_hz
        while True:
            target = self._device_position()
            sent = 0
            while self._synth.position + self.samples_per_frame() <= target:
                self._send_frame(first)
                first = False
                if self._disconnect_due(stream_started_s):
                    self.disconnect(by_peripheral=True)
                    return
                sent += 1
                if sent == FRAMES_PER_TURN:
                    break  # behind the clock: let the host run before sending the rest
            caught_up = self._synth.position + self.samples_per_frame() > target
            await asyncio.sleep(period_s if caught_up else 0)

    def _disconnect_due(self, stream_started_s: float) -> bool:
        after_s = self.faults.disconnect_after_s
        now_s = self._synth.position / self.sample_rate_hz
        return after_s is not None and now_s - stream_started_s >= after_s

    def _send_frame(self, first: bool) -> None:
        index = self._synth.position
        pressed_before = self._presses_until(index)
        samples = self._synth.read(self.samples_per_frame())
        pcm = np.round(samples * 32767.0).astype(np.int16)
        flags = FrameFlags.STREAM_START if first else FrameFlags.NONE
        if np.any(np.abs(samples) >= 1.0):
            flags |= FrameFlags.CLIPPING
        if not self._synth.contact_at(index):
            flags |= FrameFlags.NO_CONTACT
        frame = AudioFrame.from_samples(
            pcm,
            sequence=self._sequence,
            sample_index=index & 0xFFFFFFFF,
            sample_rate_hz=self.sample_rate_hz,
            codec=self._codec,
            flags=flags,
        )
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._transmit(encode_frame(frame))
        contact = self._synth.contact_at(self._synth.position)
        if self._presses_until(self._synth.position) > pressed_before or contact != self._contact:
            self._presses = self._presses_until(self._synth.position)
            self._contact = contact
            self._notify(gatt.STATUS_CHAR_UUID, self._status().encode())
        self._drain_battery(index)

    def _transmit(self, data: bytes) -> None:
        draw = self._fault_rng.random(2) * 100.0
        if draw[0] < self.faults.loss_percent:
            return
        if self._held is not None:
            self._notify(gatt.AUDIO_CHAR_UUID, data)
            data, self._held = self._held, None
        elif draw[1] < self.faults.reorder_percent:
            self._held = data
            return
        self._notify(gatt.AUDIO_CHAR_UUID, data)

    def _presses_until(self, sample: int) -> int:
        seconds = sample / self.sample_rate_hz
        return sum(1 for t in self.config.button_presses_s if t <= seconds)

    def _drain_battery(self, index: int) -> None:
        # About 1% every 10 minutes of streaming: a rough figure for a small Li-ion cell.
        level = max(0, self.config.battery_percent - index // (600 * self.sample_rate_hz))
        if level != self._battery:
            self._battery = level
            self._notify(gatt.BATTERY_LEVEL_UUID, bytes([level]))


class SimulatedAir:
    """The radio neighbourhood: peripherals by address, and bleak backends bound to them."""

    def __init__(self, *peripherals: SimulatedStethoscope, connect_failures: int = 0) -> None:
        self.peripherals = {p.config.address: p for p in peripherals}
        # BlueZ on a busy Raspberry Pi often aborts the first attempts with
        # le-connection-abort-by-local; the simulator can fail the first N connects likewise.
        self.connect_failures = connect_failures
        self.agent: PairingAgent | None = None  # the one BlueZ would call while pairing

    @contextlib.asynccontextmanager
    async def registered(self, agent: PairingAgent) -> AsyncIterator[None]:
        """Make `agent` the pairing agent for the block (BlueZ's RegisterAgent and
        RequestDefaultAgent, then UnregisterAgent)."""
        self.agent = agent
        try:
            yield
        finally:
            self.agent = None

    def add(self, peripheral: SimulatedStethoscope) -> None:
        """Power on another peripheral."""
        self.peripherals[peripheral.config.address] = peripheral


def _synth(scenario: str, sample_rate_hz: int, seed: int) -> StethoscopeSynth:
    # Imported here: the synthesiser needs SciPy, which a command that only names scenarios
    # (config checks, `stetho --help`) should not pay for.
    from stetho_sim.synth import StethoscopeSynth

    try:
        return StethoscopeSynth(scenario, sample_rate_hz, seed)
    except SimulationSetupError as exc:
        raise ConfigurationError(str(exc)) from exc
