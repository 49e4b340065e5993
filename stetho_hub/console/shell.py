"""The console's shell: settings, the per-app state, sessions' cookie, the checks every page
makes (signed in, security headers), shared by `app` and `exam_routes`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from edge_agent.errors import AgentError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings
from stetho_doctor.client import DoctorToolError, publish_once
from stetho_hub.console.sessions import Session, SessionBook, Throttle, csrf_ok
from stetho_hub.storage import AudioStore, Database, DatabaseTarget, views

log = logging.getLogger(__name__)
COOKIE = "stetho_hub_session"
SSE_POLL_S = 1.0
_T = TypeVar("_T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self'; frame-ancestors 'none'",
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
        raise web.HTTPForbidden(text="Missing or wrong CSRF token.")
    return form


def broker_of(console: Console) -> MqttSettings:
    if console.settings.publish is None:
        raise web.HTTPServiceUnavailable(text="This console has no broker to reach care homes.")
    return console.settings.publish


async def send(console: Console, about: str, out: list[OutboundMessage]) -> None:
    """Publish each message to the care home (QoS 1, PUBACK awaited); 503 if the broker fails."""
    broker = broker_of(console)
    try:
        for message in out:
            await publish_once(broker, message)
    except (AgentError, DoctorToolError) as exc:
        log.warning("event=console_send_failed about=%s error=%r", about, str(exc))
        raise web.HTTPServiceUnavailable(text="The broker did not take it: retry.") from exc
