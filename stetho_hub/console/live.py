"""Live listening in the browser: the hub relays a stethoscope's live chunks to a WebSocket.

The doctor's page opens `/live/{site}/{device}/socket`; the hub connects to the broker as
`stetho listen` does (stetho_doctor.listen.live_stream: `live_start`, renewed, `live_stop` when
the page leaves) and forwards each checked chunk, header and PCM as on the wire (docs/mqtt.md
§5), as one binary message. The page schedules the PCM into Web Audio (static/live.js). Each
listen is audited; a doctor reaches only the care homes assigned to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Callable

from aiohttp import WSMsgType, web

from edge_agent.pipeline.live import encode_chunk
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.wire import topics
from stetho_doctor.client import DoctorToolError
from stetho_doctor.listen import LiveStream, live_stream
from stetho_hub.console.sessions import Session

log = logging.getLogger(__name__)
LEASE_S = 90.0  # the agent stops by itself this long after the hub stops renewing (a crash)
SESSION_CHECK_S = 1.0  # a signed-out or expired session stops hearing within this long


def relay_settings(publish: MqttSettings, site: str, device: str) -> MqttSettings:
    """A connection of its own per listen: a fresh client id, nothing kept at the broker."""
    return dataclasses.replace(
        publish,
        client_id=f"{publish.client_id}-live-{uuid.uuid4().hex[:12]}",
        clean_start=True,
        session_expiry_s=0,
        subscriptions=(topics.live(site, device),),
        manual_ack=False,
    )


async def _pump(stream: LiveStream, ws: web.WebSocketResponse) -> None:
    while not ws.closed:
        chunk = await stream.next(SESSION_CHECK_S)
        if chunk is not None:
            await ws.send_bytes(encode_chunk(*chunk))


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
    ws: web.WebSocketResponse, settings: MqttSettings, site: str, device: str,
    session: Session, alive: Callable[[], bool],
) -> None:  # fmt: skip
    """Forward the device's live chunks to `ws` until the browser leaves or `alive()` is False."""
    try:
        async with live_stream(settings, site, device, session.username or "", LEASE_S) as stream:
            pump = asyncio.create_task(_pump(stream, ws))
            try:
                await _until_closed(ws, alive)
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                    await pump
            log.info(
                "event=live_relay_end site=%s device=%s chunks=%d lost=%d malformed=%d",
                site, device, stream.stats.chunks, stream.stats.lost_chunks,
                stream.stats.malformed,
            )  # fmt: skip
    except DoctorToolError as exc:
        log.warning("event=live_relay_failed site=%s device=%s error=%r", site, device, str(exc))
        with contextlib.suppress(ConnectionResetError):
            await ws.send_str('{"error": "the broker cannot be reached: retry"}')
    await ws.close()
