"""Sign-in, language, and the residents screen."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from edge_agent.exam.errors import ResidentImportError
from edge_agent.web import render as _app
from edge_agent.web.accounts import Accounts
from edge_agent.web.context import COOKIE, LANG, LANG_COOKIE, SESSION, ctx_of, session_of, staff_of
from edge_agent.web.errors import SignInError, ThrottledError
from edge_agent.web.i18n import LANGUAGES, refused, translator
from edge_agent.web.idle import idle_minutes, idle_words
from edge_agent.web.sessions import SavedSession, token_key

log = logging.getLogger(__name__)
# Where the language switch may send the reader back: a path of this page. Not "//host", nor
# "/\host" or "/<tab>/host", which browsers read as another host (they strip tabs, and
# take a backslash for a slash): the switch needs no sign-in, so it must not be a way off.
LOCAL_PATH = re.compile(r"/|(?:/[A-Za-z0-9._~%-]+)+/?")  # no empty segment: no "//"


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    ctx = ctx_of(request)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                        secure=ctx.secure_cookies, path="/")  # fmt: skip


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/residents")


async def login_form(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    ctx = ctx_of(request)
    session = request[SESSION]
    if session is None:  # an anonymous session carries the sign-in form's CSRF token
        if not message and ctx.sessions.idled(request.cookies.get(COOKIE), ctx.clock()):
            message = translator(request[LANG])(
                idle_words(ctx), minutes=idle_minutes(ctx, request[LANG])
            )
        session = ctx.sessions.new(ctx.clock())
        request[SESSION] = session
    response = _app.render(request, "login.html", status=status, message=message)
    _set_cookie(request, response, session.token)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    form = await request.post()
    staff_id = str(form.get("staff", "")).strip().lower()[:40]
    secret = str(form.get("secret", ""))
    peer = request.remote or "?"
    t = translator(request[LANG])
    now = ctx.clock()
    try:
        wait = max(ctx.throttle.retry_after(staff_id, now), ctx.throttle.retry_after(peer, now))
        if wait > 0:
            raise ThrottledError(wait)
        staff = await asyncio.to_thread(ctx.accounts.verify, staff_id, secret)
    except ThrottledError as exc:
        who = await _named(ctx.accounts, staff_id)
        log.warning("event=signin_throttled staff=%s peer=%s", who, peer)
        return await login_form(request, t("signin.throttled", seconds=round(exc.retry_after_s)),
                                429)  # fmt: skip
    except SignInError:
        ctx.throttle.failed(staff_id, now)
        ctx.throttle.failed(peer, now)
        who = await _named(ctx.accounts, staff_id)
        log.warning("event=signin_failed staff=%s peer=%s", who, peer)
        return await login_form(request, t("signin.failed"), 401)
    ctx.throttle.succeeded(staff_id)
    ctx.throttle.succeeded(peer)
    old = request[SESSION]
    if old is not None:
        await _end_session(request, old.token)
    session = ctx.sessions.new(now, staff.staff_id, staff.display)
    saved = SavedSession(
        token_key(session.token), staff.staff_id, staff.display, session.expires, now
    )
    await asyncio.to_thread(ctx.accounts.keep_session, saved)  # survives an agent restart
    await asyncio.to_thread(ctx.accounts.audit, staff.staff_id, "sign-in", peer)
    log.info("event=signin staff=%s", staff.staff_id)
    response = web.HTTPSeeOther("/residents")
    _set_cookie(request, response, session.token)
    raise response


async def _named(accounts: Accounts, typed: str) -> str:
    """A failed sign-in's name as the log may hold it: a staff id, or else only its length. A
    nurse who types a resident's name, or her PIN, in the staff box must not put it in a log."""
    if await asyncio.to_thread(accounts.known, typed):
        return typed
    return f"unknown({len(typed)}-chars)"


async def _end_session(request: web.Request, token: str) -> None:
    ctx = ctx_of(request)
    ctx.sessions.end(token)
    await asyncio.to_thread(ctx.accounts.drop_session, token_key(token))


async def logout(request: web.Request) -> web.StreamResponse:
    await _end_session(request, session_of(request).token)
    await asyncio.to_thread(ctx_of(request).accounts.audit, staff_of(request), "sign-out", "-")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def set_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    back = request.query.get("next", "/residents")
    response = web.HTTPSeeOther(back if LOCAL_PATH.fullmatch(back) else "/")
    response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Strict", path="/",
                        max_age=365 * 24 * 3600)  # fmt: skip
    raise response


async def residents(request: web.Request, notice: str = "", problems: list[str] | None = None,
                    status: int = 200, query: str = "") -> web.Response:  # fmt: skip
    """The residents list, or those matching `query` (a search's POST: a GET takes none, so a
    resident's name never goes into a URL, the browser's history or a proxy's log)."""
    ctx = ctx_of(request)
    found = await ctx.exams.search_residents(query)
    await asyncio.to_thread(ctx.accounts.audit, staff_of(request), "list-residents", "-")
    return _app.render(request, "residents.html", status=status, residents=found, query=query,
                       notice=notice, problems=problems or [])  # fmt: skip


async def search_residents(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    return await residents(request, query=str(form.get("q", ""))[:80])


async def add_resident(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    form = await request.post()
    ref = str(form.get("ref", "")).strip()
    await ctx.exams.add_resident(ref, str(form.get("label", "")).strip())
    await asyncio.to_thread(ctx.accounts.audit, staff_of(request), "add-resident", ref)
    return await residents(request, translator(request[LANG])("residents.saved"))


async def import_residents(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    form = await request.post()
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        raw = upload.file.read(_app.MAX_BODY + 1)
    else:
        raw = str(upload or "").encode()
    t = translator(request[LANG])
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        added, updated = await ctx.exams.import_residents(text)
    except UnicodeDecodeError:
        return await residents(request, problems=[t("residents.not_utf8")], status=400)
    except ResidentImportError as exc:
        lang = request[LANG]
        problems = [refused(p.words, p.values, p.text, lang) for p in exc.worded]
        return await residents(request, problems=problems, status=400)
    await asyncio.to_thread(ctx.accounts.audit, staff_of(request), "import-residents",
                            f"{added}+{updated}")  # fmt: skip
    return await residents(request, t("residents.imported", added=added, updated=updated))
