"""The exam view and live listening: handlers added to the console's app by `add_routes`.

Same rules as `app`: signed in, the reader's care homes checked in SQL (another home's exam is
"not found", as an unknown one), an audit record for every view and every live listen.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from aiohttp import web

from stetho_hub.console import pages_exam
from stetho_hub.console.decisions import decision_messages, recording_request
from stetho_hub.console.live import LiveRelays, relay
from stetho_hub.console.shell import (
    KEY,
    LANG,
    SESSION,
    Handler,
    Refused,
    broker_of,
    form_to_send,
    page_response,
    send_form,
    signed_in,
    user_of,
    visible,
)  # fmt: skip
from stetho_hub.console.words import words
from stetho_hub.storage import exam_views
from stetho_signal import HEART_BAND_HZ, LUNG_BAND_HZ

STATIC = Path(__file__).parent / "static"
SCRIPTS = {name: (STATIC / name).read_text(encoding="utf-8") for name in ("player.js", "live.js")}
# The player's bands are the analysis' own, so the ear hears what the picture shows.
BANDS = {"heart": HEART_BAND_HZ, "lung": LUNG_BAND_HZ}
LIVE: web.AppKey[LiveRelays] = web.AppKey("live", LiveRelays)


async def _visible(request: web.Request) -> exam_views.ExamView:
    return await visible(request, "exam_id", exam_views.exam, "error.no_exam")


@signed_in
async def exam(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    view = await _visible(request)
    history = await console.run(exam_views.resident_exams, console.db, view.site, view.resident)
    await console.audit(request, user_of(session), "view_exam", view.site, view.exam_id)
    lang = request[LANG]
    sent = next((k for k in ("decided", "requested") if request.query.get(k) == "1"), None)
    page = pages_exam.exam(
        view, history, user_of(session), session.csrf, lang, words(lang), BANDS, sent
    )
    return page_response(page)


@signed_in
async def decide(request: web.Request) -> web.StreamResponse:
    """The doctor's decision on the whole exam: its answer, and an ack for each alert in it."""
    console, session = request.app[KEY], request[SESSION]
    form = await form_to_send(request)
    view = await _visible(request)
    broker_of(console)
    alerts = await console.run(exam_views.exam_alert_ids, console.db, view.exam_id, view.site)
    make = partial(
        decision_messages, view.site, view.exam_id, alerts, user_of(session),
        str(form.get("disposition", "")), str(form.get("note", "")),
    )  # fmt: skip
    return await send_form(
        request, make, site=view.site, about=view.exam_id, action="decide",
        back=f"/exams/{view.exam_id}",
    )  # fmt: skip


@signed_in
async def request_recording(request: web.Request) -> web.StreamResponse:
    """Ask the care home for a new recording of the exam's resident at a chosen site."""
    console, session = request.app[KEY], request[SESSION]
    form = await form_to_send(request)
    view = await _visible(request)
    broker_of(console)
    make = partial(
        recording_request, view.site, str(view.exam.get("agent")), view.resident,
        str(form.get("auscultation_site", "")), str(form.get("duration", "")), user_of(session),
    )  # fmt: skip
    return await send_form(
        request, make, site=view.site, about=view.exam_id, action="request_recording",
        back=f"/exams/{view.exam_id}",
    )  # fmt: skip


async def _live_target(request: web.Request) -> tuple[str, str]:
    console, session = request.app[KEY], request[SESSION]
    site, device = request.match_info["site"], request.match_info["device"]
    mine = session.sites is None or site in session.sites
    if not mine or not await console.run(exam_views.known_device, console.db, site, device):
        raise Refused(404, "error.no_device")
    return site, device


@signed_in
async def live_page(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    site, device = await _live_target(request)
    lang = request[LANG]
    page = pages_exam.live(site, device, user_of(session), session.csrf, lang, words(lang), BANDS)
    return page_response(page)


@signed_in
async def live_socket(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    site, device = await _live_target(request)
    relays = request.app.get(LIVE)
    if relays is None:
        raise Refused(503, "error.no_broker")
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
    app.router.add_post("/exams/{exam_id}/decision", decide)
    app.router.add_post("/exams/{exam_id}/request", request_recording)
    app.router.add_get("/live/{site}/{device}", live_page)
    app.router.add_get("/live/{site}/{device}/socket", live_socket)
    for name in SCRIPTS:
        app.router.add_get(f"/static/{name}", _script(name))
