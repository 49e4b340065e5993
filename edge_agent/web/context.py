"""What the page's handlers share: the exam service, accounts, sessions, and the agent's view
of its stethoscopes. Built once by `edge_agent.web.build_app`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import jinja2
from aiohttp import web

from edge_agent.config import AgentConfig, DeviceConfig
from edge_agent.exam.service import ExamService
from edge_agent.pipeline.radio import Radio
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.receipts import ReceiptStats
from edge_agent.storage.registry import RegisteredDevice
from edge_agent.web.accounts import Accounts
from edge_agent.web.pairing import Pairings
from edge_agent.web.sessions import Session, SessionBook
from firmware_bridge.bluez_agent import Prompt
from firmware_bridge.pairing import Advertised
from stetho_common.sign_in import Throttle


class _StateView(Protocol):
    @property
    def devices(self) -> dict[str, DeviceStats]: ...


class AgentView(Protocol):
    """What the page needs of the running agent (edge_agent.runtime.daemon.Agent)."""

    @property
    def config(self) -> AgentConfig: ...

    @property
    def state(self) -> _StateView: ...

    @property
    def exams(self) -> ExamService: ...

    @property
    def devices(self) -> list[DeviceConfig]: ...

    @property
    def radio(self) -> Radio: ...

    async def pair_stethoscope(
        self, address: str, location: str, show: Callable[[Prompt], None]
    ) -> RegisteredDevice: ...

    async def receipt_stats(self) -> ReceiptStats | None: ...


@dataclass(frozen=True)
class Stethoscope:
    """One row of the stethoscopes screen."""

    device: str
    kind: str
    connected: bool
    battery_percent: int | None
    monitoring: bool
    holder: str | None = None  # the staff id of the exam that holds it
    held_for: uuid.UUID | None = None  # the exam that holds it
    holder_name: str | None = None  # their display name, else the id: web.names.named_rows
    recording: bool = False
    address: str | None = None  # a Bluetooth stethoscope's
    given_up: str | None = None  # why the agent stopped trying it (a file it cannot play)


@dataclass
class WebContext:
    exams: ExamService
    accounts: Accounts
    sessions: SessionBook
    templates: jinja2.Environment
    stethoscopes: Callable[[], list[Stethoscope]]
    secure_cookies: bool
    throttle: Throttle = field(default_factory=Throttle)
    clock: Callable[[], float] = time.time
    # Pairing from the page: the agent's radio (None: pairing only with `stetho pair`).
    scan: Callable[[], Awaitable[list[Advertised]]] | None = None
    pair: Callable[[str, str, Callable[[Prompt], None]], Awaitable[RegisteredDevice]] | None = None
    pairings: Pairings | None = field(default=None, init=False)  # made at the first pairing
    # Recordings waiting for the hospital's receipt (None: the agent does not wait for any).
    receipts: Callable[[], Awaitable[ReceiptStats | None]] | None = None
    # The exam panel's polls the audit has recorded lately: (staff, exam) -> when (views_exam).
    panel_reads: dict[tuple[str, str], float] = field(default_factory=dict, init=False)


CTX: web.AppKey[WebContext] = web.AppKey("ctx", WebContext)
SESSION: web.RequestKey[Session | None] = web.RequestKey("session", Session)
LANG: web.RequestKey[str] = web.RequestKey("lang", str)
COOKIE = "stetho_session"
LANG_COOKIE = "stetho_lang"


def ctx_of(request: web.Request) -> WebContext:
    return request.app[CTX]


def session_of(request: web.Request) -> Session:
    """The signed-in session (the auth middleware guarantees one on protected routes)."""
    session = request[SESSION]
    assert session is not None
    return session


def staff_of(request: web.Request) -> str:
    staff = session_of(request).staff
    assert staff is not None
    return staff
