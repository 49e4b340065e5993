"""The BLE audio source: bleak in, `AudioBlock`s out, reconnecting with the gap marked.

A thin async shell (STYLE.md §2): bleak moves bytes, `FrameDecoder` and `Reassembler` apply the
profile's rules. Notification callbacks only enqueue. Foreign exceptions are translated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Final, Self

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from firmware_bridge import gatt
from firmware_bridge._bleak_errors import translate_bleak_errors
from firmware_bridge.codec import (
    Codec,
    FrameDecoder,
    FrameFlags,
    MalformedFrame,
    NeedData,
)
from firmware_bridge.errors import (
    BridgeError,
    ControlRejectedError,
    DeviceNotFoundError,
    LinkLostError,
)
from firmware_bridge.gatt import ControlCommand, ControlResponse, Opcode, ResultCode, Status
from firmware_bridge.reassembly import Chunk, Fill, Reassembler
from firmware_bridge.sources.base import AudioBlock, DeviceEvent, EventKind
from stetho_common import next_delay

__all__ = ["BleSource"]

# A stethoscope back in range should be found within half a minute, not the broker's minute.
BLE_MAX_DELAY_S = 30.0

log = logging.getLogger(__name__)
_LINK_LOST: Final = "link-lost"
_BLOCK_S: Final = 0.1  # blocks of about 100 ms: small latency, few objects


class BleSource:
    """Audio from a stethoscope speaking docs/ble-profile.md.

    Parameters
    ----------
    address : str or None
        Bluetooth address; None takes the first device advertising the profile's service.
    device_id : str
        Our identifier for the device (registry id); defaults to the address.
    codec : Codec
        Requested stream codec.
    connect_timeout_s, scan_timeout_s, stall_timeout_s : float
        Limits for connecting, finding the device and silence on an open link, in seconds.
    max_attempts : int or None
        Consecutive failed reconnects before giving up with `LinkLostError`; None retries
        forever (the daemon), a number suits interactive commands.
    client_backend, scanner_backend
        bleak backend overrides (the simulator); None uses the platform's (BlueZ on Linux).
    """

    def __init__(
        self,
        address: str | None,
        *,
        device_id: str | None = None,
        sample_rate_hz: int = 4000,
        codec: Codec = Codec.PCM16,
        fill: Fill = Fill.SILENCE,
        connect_timeout_s: float = 15.0,
        scan_timeout_s: float = 15.0,
        stall_timeout_s: float = 5.0,
        max_attempts: int | None = None,
        backoff_base_s: float = 0.5,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        self.address = address.upper() if address else None
        self.device_id = device_id or address or "ble"
        self.sample_rate_hz = sample_rate_hz
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        self.battery_percent: int | None = None
        self._codec = codec
        self._timeouts = (connect_timeout_s, scan_timeout_s, stall_timeout_s)
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backends = (client_backend, scanner_backend)
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._decoder = FrameDecoder(datagrams=True)
        self.reassembler = Reassembler(fill=fill, max_gap_s=120.0)
        self._client: BleakClient | None = None
        self._control_reply: asyncio.Future[ControlResponse] | None = None
        self._presses: int | None = None
        self._contact: bool | None = None
        self._clipping = False
        self._t0: float | None = None
        self.reconnects = 0
        self.wrong_rate_frames = 0
        self._frames_total = 0  # counts of decoders replaced at reconnects
        self._malformed_total = 0

    async def __aenter__(self) -> Self:
        await self._connect_with_retry()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    def __aiter__(self) -> AsyncIterator[AudioBlock]:
        return self._blocks()

    # Connecting ----------------------------------------------------------------------------

    async def _connect_with_retry(self) -> None:
        attempt = 0
        while True:
            try:
                await self._connect_once()
                return
            except BridgeError as error:
                await self._close()  # a half-set-up connection must not block the next try
                delay = next_delay(
                    attempt, error, base_s=self._backoff_base_s, cap_s=BLE_MAX_DELAY_S
                )
                attempt += 1
                if delay is None or (
                    self._max_attempts is not None and attempt >= self._max_attempts
                ):
                    raise
                log.warning(
                    "connect to %s failed (%s); retry in %.1f s", self.device_id, error, delay
                )
                await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        connect_timeout_s, scan_timeout_s, _ = self._timeouts
        client_backend, scanner_backend = self._backends
        with translate_bleak_errors(self.device_id):
            scanner_args: dict[str, Any] = {"service_uuids": [gatt.SERVICE_UUID]}
            if scanner_backend is not None:
                scanner_args["backend"] = scanner_backend
            device = await BleakScanner.find_device_by_filter(
                self._matches, timeout=scan_timeout_s, **scanner_args
            )
            if device is None:
                raise DeviceNotFoundError(f"no stethoscope {self.address or ''} advertising")
            client = BleakClient(
                device, self._on_disconnect, timeout=connect_timeout_s, backend=client_backend
            )
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(connect_timeout_s):
                await client.connect()
            self._client = client
            await self._subscribe_and_start(client)

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        advertised = gatt.SERVICE_UUID in [u.lower() for u in adv.service_uuids]
        return advertised and (self.address is None or device.address.upper() == self.address)

    async def _subscribe_and_start(self, client: BleakClient) -> None:
        # BlueZ may drop notifications that arrive before the CCCD write completes: subscribe to
        # everything, and only then ask the device to start streaming.
        for uuid, kind in (
            (gatt.STATUS_CHAR_UUID, "status"),
            (gatt.CONTROL_CHAR_UUID, "control"),
            (gatt.BATTERY_LEVEL_UUID, "battery"),
            (gatt.AUDIO_CHAR_UUID, "audio"),
        ):
            await client.start_notify(uuid, self._enqueuer(kind))
        self._inbox.put_nowait(
            ("battery", bytes(await client.read_gatt_char(gatt.BATTERY_LEVEL_UUID)))
        )
        self._inbox.put_nowait(
            ("status", bytes(await client.read_gatt_char(gatt.STATUS_CHAR_UUID)))
        )
        rate = ControlCommand(Opcode.SET_SAMPLE_RATE, gatt.rate_code(self.sample_rate_hz))
        if await self._command(client, rate, accept_busy=True) is ResultCode.BUSY:
            # Still streaming from a session we lost: stop it, then the rate can change.
            await self._command(client, ControlCommand(Opcode.STOP_STREAM))
            await self._command(client, rate)
        await self._command(client, ControlCommand(Opcode.START_STREAM, self._codec))

    async def _command(
        self, client: BleakClient, command: ControlCommand, *, accept_busy: bool = False
    ) -> ResultCode:
        self._control_reply = asyncio.get_running_loop().create_future()
        await client.write_gatt_char(gatt.CONTROL_CHAR_UUID, command.encode(), response=True)
        async with asyncio.timeout(self._timeouts[0]):
            reply = await self._control_reply
        if reply.result is ResultCode.SUCCESS or (accept_busy and reply.result is ResultCode.BUSY):
            return reply.result
        raise ControlRejectedError(
            command.opcode,
            reply.result,
            f"{command.opcode.name} rejected by {self.device_id}: {reply.result.name}",
        )

    def _enqueuer(self, kind: str) -> Callable[[Any, bytearray], None]:
        def enqueue(_: Any, data: bytearray) -> None:
            if kind == "control":  # answered directly: the reader may be waiting for it
                self._resolve_control(bytes(data))
            else:
                self._inbox.put_nowait((kind, bytes(data)))

        return enqueue

    def _resolve_control(self, data: bytes) -> None:
        try:
            reply = ControlResponse.decode(data)
        except BridgeError as error:
            log.warning("ignoring control point notification: %s", error)
            return
        if self._control_reply is not None and not self._control_reply.done():
            self._control_reply.set_result(reply)

    def _on_disconnect(self, _: BleakClient) -> None:
        self._inbox.put_nowait((_LINK_LOST, b""))

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(BleakError, BridgeError, TimeoutError, OSError):
            if client.is_connected:
                stop = ControlCommand(Opcode.STOP_STREAM).encode()
                await client.write_gatt_char(gatt.CONTROL_CHAR_UUID, stop, response=True)
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await client.disconnect()

    def link_stats(self) -> dict[str, int]:
        """Counters for logs and health reports: frames, rejects, losses, reconnects."""
        r = self.reassembler.stats
        return {
            "frames": self._frames_total + self._decoder.frames_decoded,
            "malformed": self._malformed_total + self._decoder.frames_malformed,
            "wrong_rate": self.wrong_rate_frames,
            "duplicates": r.duplicates,
            "reordered": r.reordered,
            "gaps": r.gaps,
            "lost_samples": r.lost_samples,
            "reconnects": self.reconnects,
        }

    # Streaming -----------------------------------------------------------------------------

    async def _blocks(self) -> AsyncIterator[AudioBlock]:
        pending: list[Chunk] = []
        block_samples = round(_BLOCK_S * self.sample_rate_hz)
        while True:
            pending += await self._next_chunks()
            if sum(c.samples.size for c in pending) >= block_samples:
                yield self._block(pending)
                pending = []

    async def _next_chunks(self) -> list[Chunk]:
        try:
            async with asyncio.timeout(self._timeouts[2]):
                kind, data = await self._inbox.get()
        except TimeoutError:
            kind, data = _LINK_LOST, b""
            log.warning("no data from %s for %.0f s", self.device_id, self._timeouts[2])
        if kind == "audio":
            return self._decode(data)
        if kind == _LINK_LOST:
            return await self._recover()
        self._device_event(kind, data)
        return []

    def _decode(self, data: bytes) -> list[Chunk]:
        self._decoder.feed(data)
        chunks: list[Chunk] = []
        while not isinstance(event := self._decoder.next_frame(), NeedData):
            if isinstance(event, MalformedFrame):
                log.debug("dropped malformed frame (%s): %s", event.reason.value, event.head.hex())
            elif event.sample_rate_hz != self.sample_rate_hz:
                self.wrong_rate_frames += 1  # the device ignored SET_SAMPLE_RATE: drop, count
            else:
                if self._t0 is None:
                    self._t0 = time.time()
                self._note_flags(event.flags)
                chunks += self.reassembler.push(event)
        return chunks

    def _note_flags(self, flags: FrameFlags) -> None:
        clipping = bool(flags & FrameFlags.CLIPPING)
        if clipping != self._clipping:  # report changes, not every clipped frame
            self._clipping = clipping
            self.events.put_nowait(DeviceEvent(EventKind.CLIPPING, time.time(), clipping))

    async def _recover(self) -> list[Chunk]:
        chunks = self.reassembler.flush()
        self.events.put_nowait(DeviceEvent(EventKind.LINK_LOST, time.time()))
        await self._close()
        self._frames_total += self._decoder.frames_decoded
        self._malformed_total += self._decoder.frames_malformed
        self._decoder = FrameDecoder(datagrams=True)
        try:
            await self._connect_with_retry()
        except BridgeError as error:
            raise LinkLostError(
                f"lost {self.device_id} and could not reconnect: {error}"
            ) from error
        self.reconnects += 1
        self.events.put_nowait(DeviceEvent(EventKind.LINK_RESTORED, time.time()))
        return chunks

    def _device_event(self, kind: str, data: bytes) -> None:
        now = time.time()
        if kind == "battery" and len(data) == 1:
            self.battery_percent = data[0]
            self.events.put_nowait(DeviceEvent(EventKind.BATTERY, now, data[0]))
        elif kind == "status":
            try:
                status = Status.decode(data)
            except BridgeError as error:
                log.warning("ignoring status: %s", error)
                return
            if self._presses is not None and status.button_presses != self._presses:
                self.events.put_nowait(DeviceEvent(EventKind.BUTTON_PRESSED, now))
            contact = bool(status.flags & gatt.StatusFlags.CONTACT)
            if self._contact is not None and contact != self._contact:
                self.events.put_nowait(DeviceEvent(EventKind.CONTACT_CHANGED, now, contact))
            self._presses, self._contact = status.button_presses, contact

    def _block(self, chunks: list[Chunk]) -> AudioBlock:
        start = chunks[0].start_sample
        samples = np.concatenate([c.samples for c in chunks]).astype(np.float32)
        gaps = tuple(g for c in chunks for g in c.gaps)
        t0 = self._t0 if self._t0 is not None else time.time()
        return AudioBlock(
            samples, self.sample_rate_hz, start, t0 + start / self.sample_rate_hz, gaps
        )
