"""The nurses' page: one aiohttp application in the agent's own event loop.

Routes are listed here; handlers live in views_*.py, templates in templates/, assets in
static/. Middlewares do the checks every request needs: security headers, the session,
sign-in, CSRF on every POST, and turning refused requests into a readable page.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from edge_agent.errors import AgentError
from edge_agent.web import idle, views_devices, views_exam, views_people
from edge_agent.web.context import COOKIE, CTX, LANG, LANG_COOKIE, SESSION, WebContext, ctx_of
from edge_agent.web.i18n import pick_language, refused, translator
from edge_agent.web.live import live_stream
from edge_agent.web.names import named_values, page_names
from edge_agent.web.render import MAX_BODY, render
from stetho_common.favicon import FAVICON_PATHS, favicon
from stetho_common.logfmt import quote
from stetho_common.sign_in import cross_site, csrf_ok, posted_form

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
PUBLIC = ("/login", "/static/", "/lang/", "/favicon.ico")
# Everything from the Pi itself; no inline script, so an injected tag cannot run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # health data stays off the disk cache
    return response


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session, language, sign-in and CSRF; refused requests become a page, never a trace."""
    ctx = ctx_of(request)
    token = request.cookies.get(COOKIE)
    session = ctx.sessions.get(token, ctx.clock())
    if session is not None and await idle.end_if_idle(ctx, session):
        session = None  # a tablet left alone: signed out, as by its nurse
    elif session is not None and idle.by_the_nurse(request):
        await idle.note_use(ctx, session, ctx.clock())
    request[SESSION] = session
    request[LANG] = pick_language(
        request.headers.get("Accept-Language"), request.cookies.get(LANG_COOKIE)
    )
    if cross_site(request.method, request.headers, request.host):  # another site's form
        log.warning("event=cross_site_refused path=%s", quote(request.path))
        return refusal(request, 403, "error.expired")
    public = request.path.startswith(PUBLIC)
    if not public and (session is None or session.staff is None):
        # A page opened goes to sign in; the page's own fetch (the exam panel's poll) gets a
        # 401 its script turns into that, not the sign-in page's HTML to put in the panel.
        fetched = request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate"
        if request.method == "GET" and not fetched and not request.path.startswith("/live/"):
            raise web.HTTPSeeOther("/login")
        if ctx.sessions.idled(token, ctx.clock()):  # the script sends the nurse to sign in
            return refusal(
                request, 401, idle.idle_words(ctx), minutes=idle.idle_minutes(ctx, request[LANG])
            )
        return refusal(request, 401, "error.sign_in")  # a tablet left open past its session
    if request.method == "POST":
        try:
            form = await posted_form(request, _unreadable_form)
        except web.HTTPRequestEntityTooLarge:  # aiohttp's own answer is English plain text
            log.warning("event=form_too_large path=%s", quote(request.path))
            return refusal(request, 413, "error.too_large", mib=MAX_BODY // 2**20)
        except web.HTTPBadRequest:  # posted_form has logged why
            return refusal(request, 400, "error.unreadable")
        sent = request.headers.get("X-CSRF-Token")
        if form is not None and sent is None:
            sent = str(form.get("csrf", ""))
        if not csrf_ok(session, sent):
            log.warning("event=csrf_refused path=%s", quote(request.path))
            return refusal(request, 403, "error.expired")
    try:
        return await handler(request)
    except AgentError as exc:  # refused input: tell the person, keep going
        log.info("event=web_refused path=%s error=%s", quote(request.path), type(exc).__name__)
        names = await page_names(ctx, exc.values)
        return refusal(request, 409, message=said(exc, request[LANG], names))
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:  # aiohttp's: English text
        if exc.text != f"{exc.status}: {exc.reason}" or request.path.startswith("/static/"):
            raise  # a view's own words (the live feed's), or a file the page asked for
        known = "error.not_found" if exc.status == 404 else "error.method"
        answer = refusal(request, exc.status, known)
        if "Allow" in exc.headers:
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer


def refusal(
    request: web.Request, status: int, key: str | None = None, message: str = "", **values: Any
) -> web.Response:
    """A refused request in the nurse's language: the error page, or JSON for the page's own
    fetch (which sends its CSRF token as a header)."""
    if key is not None:
        message = translator(request[LANG])(key, **values)
    if request.headers.get("X-CSRF-Token") is not None:
        return web.json_response({"error": message}, status=status)
    return render(request, "error.html", status=status, message=message)


def _unreadable_form() -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text="the form could not be read: reload and send it again")


def said(exc: AgentError, lang: str, names: Mapping[str, str] | None = None) -> str:
    """A refusal in the nurse's language where the catalogue words it (its `words`, see
    :func:`refused`), else the code's own English; a colleague it names by staff id is named
    by her display name where `names` has it."""
    return refused(exc.words, named_values(exc.values, names or {}), str(exc), lang)


def build_app(ctx: WebContext) -> web.Application:
    app = web.Application(middlewares=[headers, guard], client_max_size=MAX_BODY)
    app[CTX] = ctx
    app.router.add_get("/", views_people.home)
    app.router.add_get("/login", views_people.login_form)
    app.router.add_post("/login", views_people.login)
    app.router.add_post("/logout", views_people.logout)
    app.router.add_get("/lang/{lang}", views_people.set_language)
    app.router.add_get("/residents", views_people.residents)
    app.router.add_post("/residents", views_people.add_resident)
    app.router.add_post("/residents/import", views_people.import_residents)
    app.router.add_post("/residents/search", views_people.search_residents)
    app.router.add_get("/residents/{ref}", views_exam.resident)
    app.router.add_post("/exams", views_exam.open_exam)
    app.router.add_get("/exams/{exam_id}", views_exam.exam_page)
    app.router.add_get("/exams/{exam_id}/panel", views_exam.exam_panel)
    app.router.add_post("/exams/{exam_id}/record", views_exam.record)
    app.router.add_post("/exams/{exam_id}/stop", views_exam.stop)
    app.router.add_post("/exams/{exam_id}/close", views_exam.close)
    app.router.add_post("/exams/{exam_id}/abandon", views_exam.abandon)
    app.router.add_get("/stethoscopes", views_devices.stethoscopes)
    app.router.add_post("/stethoscopes/scan", views_devices.scan)
    app.router.add_post("/stethoscopes/pair", views_devices.pair)
    app.router.add_get("/stethoscopes/pairing/{job_id}", views_devices.pairing_page)
    app.router.add_get("/stethoscopes/pairing/{job_id}/state", views_devices.pairing_state)
    app.router.add_post("/stethoscopes/pairing/{job_id}/cancel", views_devices.cancel_pairing)
    app.router.add_get("/requests", views_exam.requests)
    app.router.add_post("/requests/{request_id}/accept", views_exam.accept_request)
    app.router.add_post("/requests/{request_id}/dismiss", views_exam.dismiss_request)
    app.router.add_get("/live/{device}", live_stream)
    for path in FAVICON_PATHS:  # stetho_common's, shared with the console; before add_static
        app.router.add_get(path, favicon)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    app.on_shutdown.append(_stop_pairing)
    return app


async def _stop_pairing(app: web.Application) -> None:
    pairings = app[CTX].pairings
    if pairings is not None:
        await pairings.close()


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
