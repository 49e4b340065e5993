"""The console's shell: settings, the per-app state, sessions' cookie, the checks every page
makes (signed in, security headers, language, refusals as pages), shared by `app` and
`exam_routes`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from uuid import UUID

from aiohttp import web

from edge_agent.errors import AgentError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings
from stetho_common.logfmt import quote
from stetho_common.sign_in import Throttle, cross_site, csrf_ok, posted_form
from stetho_doctor.client import DoctorToolError, publish_once
from stetho_hub.console import pages
from stetho_hub.console.decisions import DecisionError
from stetho_hub.console.sessions import Session, SessionBook
from stetho_hub.console.words import LANGUAGES, pick_language, words
from stetho_hub.errors import SchemaVersionError, StorageUnavailableError
from stetho_hub.storage import AudioStore, Database, DatabaseTarget, views

log = logging.getLogger(__name__)
COOKIE = "stetho_hub_session"
LANG_COOKIE = "stetho_hub_lang"  # the header's switch, remembered across pages and redirects
SSE_POLL_S = 1.0
_T = TypeVar("_T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADERS = {
    # default-src does not cover where forms post or what <base> may say: named apart, so an
    # injected form or base tag could not send a doctor's input elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ConsoleSettings:
    database: DatabaseTarget
    audio_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    session_hours: float = 8.0
    secure_cookies: bool = False  # True behind TLS: the cookie never travels in clear
    publish: MqttSettings | None = None  # the broker the doctors' decisions go back through
    fhir_queue: Path | None = None  # the FHIR export's queue, when the hub sends to one


class Console:
    def __init__(self, settings: ConsoleSettings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.audio = AudioStore(settings.audio_dir)
        self.sessions = SessionBook(settings.session_hours * 3600)
        self.throttle = Throttle()
        self.sign_in_checks = asyncio.Semaphore(1)  # scrypt: ~0.1 s of a core each
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-db")

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.db.close()

    def session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE), time.time())

    def set_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            COOKIE, session.token, httponly=True, samesite="Strict",
            secure=self.settings.secure_cookies, path="/",
        )  # fmt: skip

    async def audit(
        self, request: web.Request, user: str, action: str, site: str | None, target: str | None
    ) -> None:
        client = request.remote or ""
        await self.run(views.audit, self.db, user, action, site, target, client)


KEY: web.AppKey[Console] = web.AppKey("console", Console)
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)
LANG: web.RequestKey[str] = web.RequestKey("lang", str)


class Refused(Exception):
    """A request the console says no to: `key` names the sentence in words.py, shown in the
    reader's language with `status` (404 for another care home's data, as for unknown ones)."""

    def __init__(self, status: int, key: str, **params: object) -> None:
        super().__init__(key)
        self.status, self.key, self.params = status, key, params


async def visible(
    request: web.Request,
    param: str,
    lookup: Callable[[Database, str, tuple[str, ...] | None], _T | None],
    missing: str,
) -> _T:
    """The record named by `param`, if the signed-in user's care homes include it.

    Unknown and another care home's get the same 404: isolation says nothing of what exists.
    """
    console, session = request.app[KEY], request[SESSION]
    try:
        ident = str(UUID(request.match_info[param]))
    except ValueError:
        raise Refused(404, missing) from None
    found = await console.run(lookup, console.db, ident, session.sites)
    if found is None:
        raise Refused(404, missing)
    return found


def words_of(request: web.Request) -> dict[str, str]:
    return words(request[LANG])


def user_of(session: Session) -> str:
    return session.username or ""  # `signed_in` has checked it is set


def page_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@web.middleware
async def language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pick the page's language (`?lang=`, its cookie, Accept-Language) and turn every refusal
    into a page in it: a doctor on a tablet never reads a bare status line or a trace."""
    chosen = request.query.get("lang")
    kept = chosen if chosen in LANGUAGES else request.cookies.get(LANG_COOKIE)
    request[LANG] = lang = pick_language(request.headers.get("Accept-Language"), kept)
    try:
        await posted_form(request, lambda: Refused(400, "error.form"))
        response = await handler(request)
    except Refused as exc:
        response = refusal_page(request, exc.status, exc.key, exc.params)
    except SchemaVersionError as exc:
        # A reconnection found the database changed under the console (restored, migrated by
        # another build): serve nothing from it; the sentence, naming it, goes to the journal.
        log.error("event=schema_refused error=%r", str(exc))
        response = refusal_page(request, 503, "error.schema", {})
    except StorageUnavailableError as exc:
        # The database dropped the connection (a restart, a failover): the next request
        # reconnects, so this one is a page saying to retry, not a 500 and a trace.
        log.warning("event=storage_unavailable error=%r", str(exc))
        response = refusal_page(request, 503, "error.storage", {})
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: it keeps the switch's choice too
            _remember(exc, chosen, lang)
            raise
        # the router's own: an unknown path, a wrong method, a body too large
        key = "error.not_found" if exc.status == 404 else "error.other"
        response = refusal_page(request, exc.status, key, {})
    _remember(response, chosen, lang)
    return response


@web.middleware
async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a post or a live socket that another site's page sends, before its handler runs
    (the CSRF token is checked too; this also stops a page of the same site on another host,
    which SameSite lets send the cookie)."""
    if cross_site(request.method, request.headers, request.host):
        log.warning("event=cross_site_refused path=%s", quote(request.path))
        raise Refused(403, "error.csrf")
    return await handler(request)


def _remember(response: web.StreamResponse, chosen: str | None, lang: str) -> None:
    if chosen in LANGUAGES and not response.prepared:
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Strict", path="/",
                            max_age=365 * 24 * 3600)  # fmt: skip


def refusal_page(
    request: web.Request, status: int, key: str, params: dict[str, object]
) -> web.Response:
    w = words_of(request)
    session = request.get(SESSION) or request.app[KEY].session(request)
    user = session.username if session is not None else None
    title = w.get(f"status.{status}", w["status.other"])
    text = w.get(key, w["error.other"]).format(**params)
    body = pages.refusal(title, text, w)
    page = pages.layout(title, body, user, session.csrf if session else "", request[LANG], w)
    return page_response(page, status)


def signed_in(handler: Handler) -> Handler:
    """The page needs a signed-in user; otherwise go to the sign-in page."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        session = request.app[KEY].session(request)
        if session is None or session.username is None:
            raise web.HTTPSeeOther("/signin")
        request[SESSION] = session
        return await handler(request)

    return wrapper


async def form_to_send(request: web.Request) -> Any:
    """A posted form that sends to a care home, once its CSRF token is checked."""
    form = await request.post()
    if not csrf_ok(request[SESSION], str(form.get("csrf", ""))):
        raise Refused(403, "error.csrf")
    return form


def broker_of(console: Console) -> MqttSettings:
    if console.settings.publish is None:
        raise Refused(503, "error.no_broker")
    return console.settings.publish


# The audit action of each form that sends to a care home, and the word its page shows then.
_SHOWN = {"decide": "decided", "request_recording": "requested"}


async def send_form(
    request: web.Request,
    make: Callable[[], OutboundMessage | list[OutboundMessage]],
    *,
    site: str,
    about: str,
    action: str,
    back: str,
) -> NoReturn:
    """Send what the doctor's form makes (``make``) to the care home, write the audit row
    (``action`` on ``about``, a recording's or an exam's id) and go back to ``back``, the page
    that then says it was sent. A form to correct is refused with the reason, in the doctor's
    language; each message is published at QoS 1, its PUBACK awaited (503 if the broker fails).
    """
    console, session = request.app[KEY], request[SESSION]
    try:
        made = make()
    except DecisionError as exc:
        reason = words_of(request)[exc.key].format(**exc.params)
        raise Refused(400, "not_sent", reason=reason) from exc
    broker = broker_of(console)
    try:
        for message in made if isinstance(made, list) else [made]:
            await publish_once(broker, message)
    except (AgentError, DoctorToolError) as exc:
        log.warning("event=console_send_failed about=%s error=%r", about, str(exc))
        raise Refused(503, "error.broker_failed") from exc
    await console.audit(request, user_of(session), action, site, about)
    shown = _SHOWN[action]
    raise web.HTTPSeeOther(f"{back}?{shown}=1#{shown}")
