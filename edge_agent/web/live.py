"""The live waveform: Server-Sent Events fed from the agent's live audio tap.

Each event is one block's summary (LiveMonitor.Frame) as JSON; a new block wakes the stream,
and frames that piled up while the browser was slow go out together, so the page never falls
behind the stethoscope. The stethoscope's blocks come 10-50 times a second: well above the
5 updates a second the nurse's eye needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from edge_agent.web.context import WebContext, ctx_of, session_of
from edge_agent.web.idle import end_if_idle
from stetho_common.waits import within

MAX_EVENTS_PER_S = 25.0
KEEPALIVE_S = 10.0


async def live_stream(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    device = request.match_info["device"]
    if device not in ctx.exams.slots:
        raise web.HTTPNotFound(text="no such stethoscope for exams")
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })  # fmt: skip
    await response.prepare(request)
    token = session_of(request).token
    with contextlib.suppress(ConnectionResetError):  # the tablet left the page or slept
        await _pump(response, ctx, device, token)
    return response


async def _pump(response: web.StreamResponse, ctx: WebContext, device: str, token: str) -> None:
    latest = ctx.exams.monitor.latest(device)
    seq = latest.seq if latest else 0
    waker = ctx.exams.monitor.waker(device)
    # Until the session ends: a sign-out, its expiry or its idle limit stops the sound's
    # picture too (the stream is no use of the tablet, so it checks the limit itself).
    while (session := ctx.sessions.get(token, ctx.clock())) is not None:
        if await end_if_idle(ctx, session):
            break
        if await within(KEEPALIVE_S, waker.wait()) is None:
            await response.write(b": keep-alive\n\n")
            continue
        waker.clear()
        frames = ctx.exams.monitor.since(device, seq)
        if frames:
            seq = frames[-1].seq
            data = [{"t": f.captured_at, "db": f.level_dbfs, "clip": f.clipped,
                     "contact": f.contact, "faint": f.faint, "p": f.points}
                    for f in frames]  # fmt: skip
            await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        await asyncio.sleep(1 / MAX_EVENTS_PER_S)
