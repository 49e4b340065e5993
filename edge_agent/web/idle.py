"""Signing a shared tablet out when nobody uses it (`web.idle_minutes`).

What counts as use is read off the route, not off anything the browser sends: the page's own
background requests (the exam panel's long poll, the live waveform, a pairing's state, the
static files) come every few seconds whether or not anyone is there, so they never renew the
idle clock; every other request of the page (a page opened, a form sent) does. A recording in
progress for the nurse counts as use for as long as it runs: the nurse is holding the
stethoscope to the resident, not touching the tablet.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from edge_agent.exam.errors import ExamStorageError
from edge_agent.web.context import WebContext
from edge_agent.web.sessions import Session, token_key
from stetho_common.decimal_mark import local_number

log = logging.getLogger(__name__)
# The page's own requests, by route (the canonical paths of app.build_app's routes).
BACKGROUND_ROUTES = frozenset({
    "/exams/{exam_id}/panel",
    "/live/{device}",
    "/stethoscopes/pairing/{job_id}/state",
    "/favicon.ico",  # the browser's own, on any page it shows
    "/static/favicon.svg",  # the icon the pages link (a route, no longer a static file)
})  # fmt: skip


def by_the_nurse(request: web.Request) -> bool:
    """Whether the request is the nurse's doing; a path no route serves is not (a browser's
    own guesses, such as /apple-touch-icon.png, must not keep a session alive either), nor
    /favicon.ico (BACKGROUND_ROUTES)."""
    resource = request.match_info.route.resource
    if resource is None or isinstance(resource, web.StaticResource):
        return False
    return resource.canonical not in BACKGROUND_ROUTES


async def note_use(ctx: WebContext, session: Session, now: float) -> None:
    """The nurse used the page: restart the idle clock, on disk too when that is due. A disk
    that refuses the write is logged, not shown her: the session only ends sooner after a
    restart."""
    if not ctx.sessions.used(session, now):
        return
    try:
        await asyncio.to_thread(ctx.accounts.session_used, token_key(session.token), now)
    except ExamStorageError as exc:
        log.warning("event=session_use_unsaved error=%s", exc)


async def end_if_idle(ctx: WebContext, session: Session) -> bool:
    """End a signed-in session nobody has used for the idle limit, as a sign-out does (its
    saved copy deleted, an audit row); True if it is ended (now, or by a request just before)."""
    staff, now = session.staff, ctx.clock()
    if staff is None:
        return False
    if ctx.exams.recording_for(staff):
        await note_use(ctx, session, now)  # so the idle time counts from the recording's end
        return False
    if not ctx.sessions.idle(session, now):
        return False
    if not ctx.sessions.end_idle(session.token, now):
        return True  # another of the tablet's requests ended it a moment ago
    await asyncio.to_thread(ctx.accounts.drop_session, token_key(session.token))
    await asyncio.to_thread(ctx.accounts.audit, staff, "sign-out", "idle")
    log.info("event=signout_idle staff=%s", staff)
    return True


def idle_words(ctx: WebContext) -> str:
    """The catalogue key of the sign-in form's reason: "1 minute" is singular."""
    return "signin.idle_one" if ctx.sessions.idle_s == 60 else "signin.idle"


def idle_minutes(ctx: WebContext, lang: str) -> str:
    """The idle limit as the sign-in form says it in `lang` ("15"; "2.5", "2,5" in French)."""
    return local_number((ctx.sessions.idle_s or 0) / 60, lang, "g")
