"""Live listening in the browser: the hub relays a stethoscope's live chunks to WebSockets.

The doctor's page opens `/live/{site}/{device}/socket`. The hub keeps one broker stream per
stethoscope, shared by every page listening to it, as `stetho listen` streams
(stetho_doctor.listen.live_stream: `live_start`, renewed, `live_stop` when the last page
leaves), and forwards each checked chunk, header and PCM as on the wire (docs/mqtt.md §5), as
one binary message. The page schedules the PCM into Web Audio (static/live.js).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Callable

from aiohttp import WSMsgType, web

from edge_agent.pipeline.live import encode_chunk
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.wire import topics
from stetho_common.waits import ended, stopped
from stetho_doctor.client import DoctorToolError
from stetho_doctor.listen import live_stream

log = logging.getLogger(__name__)
LEASE_S = 90.0  # the agent stops by itself this long after the hub stops renewing (a crash)
SESSION_CHECK_S = 1.0  # a signed-out or expired session stops hearing within this long
QUEUE_CHUNKS = 5  # about 0.5 s: a page further behind loses its oldest chunks, not the newest
UNREACHABLE = b""  # put in a listener's queue: the broker cannot be reached


def relay_settings(publish: MqttSettings, site: str, device: str) -> MqttSettings:
    """A connection of its own per stream: a fresh client id, nothing kept at the broker."""
    return dataclasses.replace(
        publish,
        client_id=f"{publish.client_id}-live-{uuid.uuid4().hex[:12]}",
        clean_start=True,
        session_expiry_s=0,
        subscriptions=(topics.live(site, device),),
        manual_ack=False,
    )


Queue = asyncio.Queue[bytes]


def _offer(queue: Queue, payload: bytes) -> None:
    if queue.full():  # a slow page: drop its oldest chunk, late sound is useless
        queue.get_nowait()
    queue.put_nowait(payload)


@dataclasses.dataclass
class _Stream:
    listeners: set[Queue]
    task: asyncio.Task[None] | None = None


class LiveRelays:
    """One broker stream per (care home, stethoscope), fanned out to every listening page.

    One stream, not one per page: a second doctor joining or leaving must not send the agent a
    `live_stop` that silences the first.
    """

    def __init__(self, publish: MqttSettings) -> None:
        self.publish = publish
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._stopping: dict[tuple[str, str], asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def listen(self, site: str, device: str, by: str) -> AsyncIterator[Queue]:
        key = (site, device)
        if key in self._stopping:  # let the last stream's live_stop go out before a new start
            await ended(self._stopping[key])
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(set())
            stream.task = asyncio.create_task(self._run(site, device, by, stream))
        queue: Queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        stream.listeners.add(queue)
        try:
            yield queue
        finally:
            stream.listeners.discard(queue)
            if not stream.listeners and self._streams.get(key) is stream:
                del self._streams[key]
                assert stream.task is not None
                self._stopping[key] = stream.task
                try:
                    await stopped(stream.task)
                finally:
                    if self._stopping.get(key) is stream.task:
                        del self._stopping[key]

    async def _run(self, site: str, device: str, by: str, stream: _Stream) -> None:
        settings = relay_settings(self.publish, site, device)
        try:
            async with live_stream(settings, site, device, by, LEASE_S) as live:
                try:
                    while True:
                        chunk = await live.next(SESSION_CHECK_S)
                        if chunk is not None:
                            payload = encode_chunk(*chunk)
                            for queue in list(stream.listeners):
                                _offer(queue, payload)
                finally:
                    log.info(
                        "event=live_relay_end site=%s device=%s chunks=%d lost=%d malformed=%d",
                        site, device, live.stats.chunks, live.stats.lost_chunks,
                        live.stats.malformed,
                    )  # fmt: skip
        except DoctorToolError as exc:
            log.warning("event=live_relay_failed site=%s device=%s error=%r", site, device, exc)
            for queue in list(stream.listeners):
                _offer(queue, UNREACHABLE)


async def _forward(queue: Queue, ws: web.WebSocketResponse) -> None:
    while not ws.closed:
        payload = await queue.get()
        if payload == UNREACHABLE:
            await ws.send_str('{"error": "the broker cannot be reached: retry"}')
            return
        await ws.send_bytes(payload)


async def _until_closed(ws: web.WebSocketResponse, alive: Callable[[], bool]) -> None:
    """Read the browser's side (it sends nothing) until it closes or the session ends."""
    while not ws.closed:
        try:
            msg = await ws.receive(timeout=SESSION_CHECK_S)
        except TimeoutError:
            if not alive():
                return
            continue
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return


async def relay(
    ws: web.WebSocketResponse, relays: LiveRelays, site: str, device: str, by: str,
    alive: Callable[[], bool],
) -> None:  # fmt: skip
    """Forward the device's live chunks to `ws` until the browser leaves or `alive()` is False."""
    async with relays.listen(site, device, by) as queue:
        pump = asyncio.create_task(_forward(queue, ws))
        waiting = asyncio.create_task(_until_closed(ws, alive))
        await asyncio.wait((pump, waiting), return_when=asyncio.FIRST_COMPLETED)
        with contextlib.suppress(ConnectionResetError):
            await stopped(pump, waiting)
    await ws.close()
