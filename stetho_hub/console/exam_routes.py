"""The exam view and live listening: handlers added to the console's app by `add_routes`.

Same rules as `app`: signed in, the reader's care homes checked in SQL (another home's exam is
"not found", as an unknown one), an audit record for every view and every live listen.
"""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

from aiohttp import web

from stetho_hub.console import pages_exam
from stetho_hub.console.live import LiveRelays, relay
from stetho_hub.console.shell import KEY, SESSION, Handler, page_response, signed_in, user_of
from stetho_hub.console.words import pick_language, words
from stetho_hub.storage import exam_views
from stetho_signal import HEART_BAND_HZ, LUNG_BAND_HZ

STATIC = Path(__file__).parent / "static"
SCRIPTS = {name: (STATIC / name).read_text(encoding="utf-8") for name in ("player.js", "live.js")}
# The player's bands are the analysis' own, so the ear hears what the picture shows.
BANDS = {"heart": HEART_BAND_HZ, "lung": LUNG_BAND_HZ}
LIVE: web.AppKey[LiveRelays] = web.AppKey("live", LiveRelays)


def _lang(request: web.Request) -> str:
    return pick_language(request.headers.get("Accept-Language"), request.query.get("lang"))


@signed_in
async def exam(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    try:
        exam_id = str(UUID(request.match_info["exam_id"]))
    except ValueError:
        raise web.HTTPNotFound(text="No such exam.") from None
    view = await console.run(exam_views.exam, console.db, exam_id, session.sites)
    if view is None:  # unknown, or another care home's: the same answer for both
        raise web.HTTPNotFound(text="No such exam, or not yours to see.")
    history = await console.run(exam_views.resident_exams, console.db, view.site, view.resident)
    await console.audit(request, user_of(session), "view_exam", view.site, exam_id)
    lang = _lang(request)
    return page_response(
        pages_exam.exam(view, history, user_of(session), session.csrf, lang, words(lang), BANDS)
    )


async def _live_target(request: web.Request) -> tuple[str, str]:
    console, session = request.app[KEY], request[SESSION]
    site, device = request.match_info["site"], request.match_info["device"]
    mine = session.sites is None or site in session.sites
    if not mine or not await console.run(exam_views.known_device, console.db, site, device):
        raise web.HTTPNotFound(text="No such stethoscope, or not yours to hear.")
    return site, device


@signed_in
async def live_page(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    site, device = await _live_target(request)
    lang = _lang(request)
    page = pages_exam.live(site, device, user_of(session), session.csrf, lang, words(lang), BANDS)
    return page_response(page)


@signed_in
async def live_socket(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    site, device = await _live_target(request)
    relays = request.app.get(LIVE)
    if relays is None:
        raise web.HTTPServiceUnavailable(text="This console has no broker to reach care homes.")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024)
    await ws.prepare(request)
    await console.audit(request, user_of(session), "listen_live", site, device)

    def alive() -> bool:
        return console.sessions.get(session.token, time.time()) is not None

    await relay(ws, relays, site, device, user_of(session), alive)
    return ws


def _script(name: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=SCRIPTS[name], content_type="text/javascript")

    return handler


def add_routes(app: web.Application) -> None:
    publish = app[KEY].settings.publish
    if publish is not None:
        app[LIVE] = LiveRelays(publish)
    app.router.add_get("/exams/{exam_id}", exam)
    app.router.add_get("/live/{site}/{device}", live_page)
    app.router.add_get("/live/{site}/{device}/socket", live_socket)
    for name in SCRIPTS:
        app.router.add_get(f"/static/{name}", _script(name))
