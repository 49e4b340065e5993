"""The stethoscopes screen: battery, connection, who uses which, and pairing a new one.

Pairing calls the same code as `stetho pair` (edge_agent.pipeline.radio) through the agent,
which starts the new stethoscope at once: the nurse can record with it on the next screen.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from edge_agent.errors import AgentError
from edge_agent.web import render as _app
from edge_agent.web.context import ctx_of, staff_of
from edge_agent.web.errors import PairingError
from firmware_bridge import BridgeError
from stetho_common import quote

log = logging.getLogger(__name__)
ADDRESS = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
MAX_LOCATION = 40


def _said(text: str) -> None:
    """What pairing shows the user (BlueZ's agent: a passkey it confirms by itself)."""
    log.info("event=pairing_said text=%s", quote(text))


async def stethoscopes(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return _app.render(request, "stethoscopes.html", stethoscopes=ctx.stethoscopes(),
                       found=None, can_pair=ctx.pair is not None,
                       paired=request.query.get("paired"))  # fmt: skip


async def scan(request: web.Request) -> web.Response:
    """Listen for stethoscopes advertising the profile (a few seconds) and list them."""
    ctx = ctx_of(request)
    if ctx.scan is None:
        raise PairingError("this agent pairs stethoscopes only with `stetho pair` on the Pi")
    try:
        found = await ctx.scan()
    except BridgeError as exc:
        raise PairingError(f"cannot scan: {exc}") from exc
    rows = ctx.stethoscopes()
    known = {r.device for r in rows} | {r.address.upper() for r in rows if r.address}
    return _app.render(request, "stethoscopes.html", stethoscopes=rows, can_pair=True,
                       found=[(a, a.address.upper() in known) for a in found],
                       paired=None)  # fmt: skip


async def pair(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    form = await request.post()
    address = str(form.get("address", "")).upper()
    location = str(form.get("location", "")).strip()[:MAX_LOCATION]
    if ctx.pair is None:
        raise PairingError("this agent pairs stethoscopes only with `stetho pair` on the Pi")
    if not ADDRESS.match(address):
        raise PairingError(f"{address!r} is not a Bluetooth address: scan again")
    try:
        device = await ctx.pair(address, location, _said)
    except (BridgeError, AgentError) as exc:
        raise PairingError(f"pairing {address} failed: {exc}") from exc
    await asyncio.to_thread(ctx.accounts.audit, staff_of(request), "pair-stethoscope", device.id)
    raise web.HTTPSeeOther(f"/stethoscopes?paired={device.id}")
