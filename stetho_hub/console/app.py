"""The console's HTTP shell (aiohttp): routes, sessions, CSRF, audit; reads through storage.views.

Handlers parse and check the request, call the storage functions in the console's own
storage thread (never on the loop), and render `pages`. Every page with health data checks
the reader's care homes in SQL and writes an audit record; every state change is a POST
carrying the session's CSRF token; cookies are HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from stetho_common.favicon import FAVICON_PATHS, favicon
from stetho_common.sign_in import csrf_ok
from stetho_common.web_server import app_runner
from stetho_hub.console import exam_routes, pages
from stetho_hub.console.decisions import decision_messages, recording_request
from stetho_hub.console.picture import PlotUnavailableError
from stetho_hub.console.picture import render as render_picture
from stetho_hub.console.shell import (
    KEY,
    LANG,
    SESSION,
    SSE_POLL_S,
    Console,
    ConsoleSettings,
    Refused,
    broker_of,
    form_to_send,
    language,
    page_response,
    same_origin,
    security_headers,
    send_form,
    signed_in,
    user_of,
    visible,
    words_of,
)  # fmt: skip
from stetho_hub.errors import ConsoleListenError
from stetho_hub.fhir.queue import FhirQueue, QueueStatus
from stetho_hub.storage import Database, open_database, views
from stetho_hub.storage.users import account, password_matches

__all__ = ["ConsoleSettings", "make_app", "serve_console"]
log = logging.getLogger(__name__)


async def signin_form(request: web.Request) -> web.StreamResponse:
    console = request.app[KEY]
    session = console.session(request) or console.sessions.new(time.time())
    response = page_response(pages.signin(session.csrf, request[LANG], words_of(request)))
    console.set_cookie(response, session)
    return response


async def signin(request: web.Request) -> web.StreamResponse:
    console = request.app[KEY]
    form = await request.post()
    old = console.session(request)
    if not csrf_ok(old, str(form.get("csrf", ""))):
        raise Refused(403, "error.csrf")
    assert old is not None
    lang, w = request[LANG], words_of(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    now = time.time()
    wait = console.throttle.retry_after(username, now)
    if wait > 0:
        message = w["signin.wait"].format(seconds=f"{wait:.0f}")
        return page_response(pages.signin(old.csrf, lang, w, message), 429)
    record = await console.run(account, console.db, username)
    # scrypt off the database thread, one check at a time: sign-ins under made-up names
    # (each costs a full check, see password_matches) must not hold up the doctors' pages.
    async with console.sign_in_checks:
        found = await asyncio.to_thread(password_matches, record, password)
    if found is None:
        console.throttle.failed(username, now)
        # A name that is no account's is left out: it may be a resident's, or a password.
        named = username if record is not None else ""
        await console.audit(request, named, "signin_failed", None, None)
        return page_response(pages.signin(old.csrf, lang, w, w["signin.wrong"]), 401)
    role, sites = found
    console.throttle.succeeded(username)
    console.sessions.end(old.token)
    session = console.sessions.new(now, username, role, None if role == "admin" else sites)
    await console.audit(request, username, "signin", None, None)
    response = web.HTTPSeeOther("/")
    console.set_cookie(response, session)
    raise response


@signed_in
async def signout(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    form = await request.post()
    if not csrf_ok(session, str(form.get("csrf", ""))):
        raise Refused(403, "error.csrf")
    console.sessions.end(session.token)
    await console.audit(request, user_of(session), "signout", None, None)
    raise web.HTTPSeeOther("/signin")


@signed_in
async def inbox(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    since = await console.run(views.newest_alert_at, console.db, session.sites)  # before rows
    rows = await console.run(views.inbox, console.db, session.sites)
    await console.audit(request, user_of(session), "view_inbox", None, None)
    page = pages.inbox(
        rows, user_of(session), session.csrf, request[LANG], words_of(request), since
    )
    return page_response(page)


async def _visible(request: web.Request) -> views.RecordingView:
    return await visible(request, "recording_id", views.recording, "error.no_recording")


@signed_in
async def recording(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    view = await _visible(request)
    earlier = await console.run(views.same_resident, console.db, view)
    await console.audit(request, user_of(session), "view_recording", view.site, view.recording_id)
    sent = "decided" if request.query.get("decided") == "1" else None
    sent = "requested" if request.query.get("requested") == "1" else sent
    page = pages.recording(
        view, earlier, user_of(session), session.csrf, request[LANG], words_of(request), sent
    )
    return page_response(page)


async def _to_send(request: web.Request) -> tuple[Any, views.RecordingView]:
    """A form that sends to the care home: its CSRF token, the recording, a broker to use."""
    form = await form_to_send(request)
    view = await _visible(request)
    broker_of(request.app[KEY])
    return form, view


@signed_in
async def decide(request: web.Request) -> web.StreamResponse:
    """A doctor's decision: back to the care home as the exam's answer and alert acks."""
    console, session = request.app[KEY], request[SESSION]
    form, view = await _to_send(request)
    alerts = await console.run(views.alert_ids, console.db, view.recording_id)
    exam_id = view.metadata.get("exam_id")
    make = partial(
        decision_messages, view.site, str(exam_id) if exam_id else None, alerts,
        user_of(session), str(form.get("disposition", "")), str(form.get("note", "")),
    )  # fmt: skip
    back = f"/recordings/{view.recording_id}"
    return await send_form(
        request, make, site=view.site, about=view.recording_id, action="decide", back=back
    )


@signed_in
async def request_recording(request: web.Request) -> web.StreamResponse:
    """Ask the care home for a new recording of this resident (a nurse accepts it)."""
    session = request[SESSION]
    form, view = await _to_send(request)
    m = view.metadata
    make = partial(
        recording_request, view.site, str(m.get("agent")), str(m.get("resident")),
        str(form.get("auscultation_site", "")), str(form.get("duration", "")), user_of(session),
    )  # fmt: skip
    return await send_form(
        request, make, site=view.site, about=view.recording_id, action="request_recording",
        back=f"/recordings/{view.recording_id}",
    )  # fmt: skip


@signed_in
async def homes(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    rows = await console.run(views.homes, console.db, session.sites)
    exams = await console.run(views.latest_exams, console.db, session.sites)
    queue = console.settings.fhir_queue
    fhir = await console.run(_fhir_status, queue) if queue is not None else None
    await console.audit(request, user_of(session), "view_homes", None, None)
    page = pages.homes(
        rows, user_of(session), session.csrf, request[LANG], words_of(request), fhir,
        audit=session.role == "admin", exams=exams,
    )  # fmt: skip
    return page_response(page)


def _fhir_status(path: Path) -> QueueStatus:
    queue = FhirQueue(path)
    try:
        return queue.status()
    finally:
        queue.close()


@signed_in
async def audio(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    view = await _visible(request)
    if view.audio_sha256 is None:
        raise Refused(404, "no_audio")
    data = await console.run(console.audio.read, view.audio_sha256)
    await console.audit(request, user_of(session), "listen", view.site, view.recording_id)
    return web.Response(body=data, content_type="audio/flac")


@signed_in
async def picture(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    view = await _visible(request)
    if view.audio_sha256 is None:
        raise Refused(404, "no_audio")
    data = await console.run(console.audio.read, view.audio_sha256)
    try:  # CPU work on the default executor: the console's database thread stays free
        png = await asyncio.to_thread(render_picture, data, view.metadata, request[LANG])
    except PlotUnavailableError as exc:
        raise Refused(503, "error.plot") from exc
    if png is None:
        raise Refused(404, "error.no_picture")
    await console.audit(request, user_of(session), "view_picture", view.site, view.recording_id)
    # Its words are the reader's: the pages ask for it with `?lang=`, so that a cache (none
    # today: every response is no-store) would key each language apart.
    headers = {"Content-Language": request[LANG], "Vary": "Cookie, Accept-Language"}
    return web.Response(body=png, content_type="image/png", headers=headers)


@signed_in
async def audit_export(request: web.Request) -> web.StreamResponse:
    console, session = request.app[KEY], request[SESSION]
    if session.role != "admin":
        raise Refused(403, "error.admin_only")
    rows = await console.run(views.audit_entries, console.db)
    await console.audit(request, user_of(session), "export_audit", None, None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "user", "action", "care_home", "target", "client"])
    writer.writerows(rows)
    return web.Response(
        text=out.getvalue(), content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )  # fmt: skip


@signed_in
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `alert` whenever a new alert for the reader's care homes arrives."""
    console, session = request.app[KEY], request[SESSION]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    if "since" in request.query:  # the page's own mark: an alert since it was drawn counts
        last = request.query["since"] or None
    else:
        last = await console.run(views.newest_alert_at, console.db, session.sites)
    while console.sessions.get(session.token, time.time()) is not None:
        await asyncio.sleep(SSE_POLL_S)
        newest = await console.run(views.newest_alert_at, console.db, session.sites)
        line = b"event: alert\ndata: new\n\n" if newest != last else b": keep-alive\n\n"
        last = newest
        try:
            await response.write(line)
        except ConnectionResetError:  # the page was closed or left: the usual end, no trace
            break
    return response


async def static_css(request: web.Request) -> web.StreamResponse:
    return web.Response(text=pages.STYLE, content_type="text/css")


async def static_js(request: web.Request) -> web.StreamResponse:
    return web.Response(text=pages.SCRIPT, content_type="text/javascript")


def make_app(settings: ConsoleSettings, db: Database) -> web.Application:
    app = web.Application(
        middlewares=[security_headers, language, same_origin], client_max_size=64 * 1024
    )
    console = Console(settings, db)
    app[KEY] = console
    app.router.add_get("/signin", signin_form)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
    app.router.add_get("/", inbox)
    app.router.add_get("/events", events)
    app.router.add_get("/homes", homes)
    app.router.add_get("/recordings/{recording_id}", recording)
    app.router.add_post("/recordings/{recording_id}/decision", decide)
    app.router.add_post("/recordings/{recording_id}/request", request_recording)
    app.router.add_get("/recordings/{recording_id}/audio", audio)
    app.router.add_get("/recordings/{recording_id}/picture.png", picture)
    app.router.add_get("/audit.csv", audit_export)
    app.router.add_get("/static/console.css", static_css)
    app.router.add_get("/static/console.js", static_js)
    for path in FAVICON_PATHS:  # stetho_common's, shared with the nurses' page
        app.router.add_get(path, favicon)
    exam_routes.add_routes(app)

    async def close(_app: web.Application) -> None:
        console.close()

    app.on_cleanup.append(close)
    return app


# At a stop, requests still running get this long, then are cancelled (aiohttp waits as long
# again for them to end): a doctor's open page holds its alerts stream (/events) for ever, and
# aiohttp's default 60 s outlasted the unit's TimeoutStopSec=30s, so systemd killed the hub.
# A page or a decision takes milliseconds.
STOP_GRACE_S = 2.0


def console_runner(settings: ConsoleSettings, db: Database) -> web.AppRunner:
    """The console's runner (a request aiohttp cannot parse is one log line)."""
    return app_runner(make_app(settings, db), shutdown_timeout=STOP_GRACE_S)


async def serve_console(settings: ConsoleSettings, listening: asyncio.Event | None = None) -> None:
    """Serve until cancelled; set `listening` once the port is open (the hub's READY)."""
    db = await asyncio.to_thread(open_database, settings.database)
    runner = console_runner(settings, db)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:  # the port taken by another program, or a host not found
        await runner.cleanup()
        raise ConsoleListenError(
            f"the doctors' console cannot listen on {settings.host}:{settings.port} "
            f"(console.host, console.port): {exc.strerror or exc}"
        ) from exc
    log.info("event=console_listening url=http://%s:%d/", settings.host, settings.port)
    if listening is not None:
        listening.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
