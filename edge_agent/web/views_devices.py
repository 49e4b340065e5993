"""The stethoscopes screen: battery, connection, who uses which, pairing a new one, and how
many recordings wait for the hospital's receipt.

Pairing calls the same code as `stetho pair` (edge_agent.pipeline.radio) through the agent,
which starts the new stethoscope at once: the nurse can record with it on the next screen. It
runs in the background (edge_agent.web.pairing); the POST goes to a status page that shows the
passkey to type on a keypad stethoscope, then the outcome, and refreshes itself (static/pairing.js).
"""

from __future__ import annotations

import re

from aiohttp import web

from edge_agent.web import render as _app
from edge_agent.web.context import WebContext, ctx_of, session_of, staff_of
from edge_agent.web.errors import PairingError
from edge_agent.web.names import held_by_her_exams, named_rows
from edge_agent.web.pairing import Pairings
from firmware_bridge import BridgeError

ADDRESS = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
MAX_LOCATION = 40
NOT_HERE = "this agent pairs stethoscopes only with `stetho pair` on the Pi"


def _pairings(request: web.Request) -> Pairings:
    ctx = ctx_of(request)
    if ctx.pair is None:
        raise PairingError(NOT_HERE, "pairing_not_here")
    if ctx.pairings is None:
        ctx.pairings = Pairings(ctx.pair, ctx.accounts.audit)
    return ctx.pairings


async def stethoscopes(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    running = ctx.pairings.running() if ctx.pairings else None
    rows = await named_rows(ctx)
    held_own = await held_by_her_exams(ctx, staff_of(request), rows)
    return _app.render(request, "stethoscopes.html", stethoscopes=rows, held_own=held_own,
                       found=None, can_pair=ctx.pair is not None, running=running,
                       receipts=await _receipts(ctx))  # fmt: skip


async def scan(request: web.Request) -> web.Response:
    """Listen for stethoscopes advertising the profile (a few seconds) and list them."""
    ctx = ctx_of(request)
    if ctx.scan is None:
        raise PairingError(NOT_HERE, "pairing_not_here")
    try:
        found = await ctx.scan()
    except BridgeError as exc:
        raise PairingError(f"cannot scan: {exc}", "scan_failed") from exc
    rows = await named_rows(ctx)
    known = {r.device for r in rows} | {r.address.upper() for r in rows if r.address}
    running = ctx.pairings.running() if ctx.pairings else None
    held_own = await held_by_her_exams(ctx, staff_of(request), rows)
    return _app.render(request, "stethoscopes.html", stethoscopes=rows, held_own=held_own,
                       can_pair=True, found=[(a, a.address.upper() in known) for a in found],
                       running=running, receipts=await _receipts(ctx))  # fmt: skip


async def pair(request: web.Request) -> web.StreamResponse:
    """Start pairing in the background and go to its status page."""
    pairings = _pairings(request)
    form = await request.post()
    address = str(form.get("address", "")).upper()
    location = str(form.get("location", "")).strip()[:MAX_LOCATION]
    if not ADDRESS.fullmatch(address):  # match's `$` would take a trailing newline too
        raise PairingError(f"{address!r} is not a Bluetooth address: scan again", "bad_address")
    session = session_of(request)
    job = await pairings.start(address, location, staff_of(request), session.display)
    raise web.HTTPSeeOther(f"/stethoscopes/pairing/{job.id}")


async def pairing_page(request: web.Request) -> web.Response:
    """Who pairs what; to the nurse who started it, the passkey in big digits; the outcome."""
    job = _pairings(request).get(request.match_info["job_id"])
    return _app.render(request, "pairing.html", job=job, mine=job.staff == staff_of(request))


async def pairing_state(request: web.Request) -> web.Response:
    """What the status page's script polls: it reloads the page when `version` changes."""
    job = _pairings(request).get(request.match_info["job_id"])
    return web.json_response(
        {"phase": job.phase.value, "version": job.version, "finished": job.finished}
    )


async def cancel_pairing(request: web.Request) -> web.StreamResponse:
    job = await _pairings(request).cancel(request.match_info["job_id"], staff_of(request))
    raise web.HTTPSeeOther(f"/stethoscopes/pairing/{job.id}")


async def _receipts(ctx: WebContext) -> dict[str, int | None] | None:
    """How many recordings the hospital has not confirmed yet, and the oldest's age in minutes
    (as `stetho status` says it): a nurse sees that the hub is behind before she asks."""
    stats = await ctx.receipts() if ctx.receipts is not None else None
    if stats is None:
        return None
    oldest = stats.oldest_stored_at
    age = None if oldest is None else max(0, round((ctx.clock() - oldest) / 60))
    return {"awaiting": stats.awaiting, "oldest_min": age}
