"""Serving the nurses' page: `serve(agent, config)` runs it until cancelled; the rows
of the stethoscope list; the sessions kept over a restart."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from aiohttp import web

from edge_agent.config import WebConfig
from edge_agent.errors import WebListenError
from edge_agent.exam.store import SOCKET_NAME, exam_dir
from edge_agent.pipeline.radio import scan
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from edge_agent.web.api import build_api
from edge_agent.web.app import build_app, tls_context
from edge_agent.web.context import AgentView, Stethoscope, WebContext
from edge_agent.web.render import templates
from edge_agent.web.sessions import SessionBook
from stetho_common.web_server import app_runner

log = logging.getLogger("edge_agent.web")  # the name its log lines always had


def stethoscope_rows(agent: AgentView) -> list[Stethoscope]:
    rows = []
    for device in agent.devices:
        stats = agent.state.devices.get(device.id)
        slot = agent.exams.slots.get(device.id)
        rows.append(Stethoscope(
            device=device.id, kind=device.kind,
            connected=bool(stats and stats.connected),
            battery_percent=stats.battery_percent if stats else None,
            monitoring=device.monitoring is not None,
            holder=slot.claimed_staff if slot else None,
            held_for=slot.claimed_by if slot else None,
            recording=bool(slot and slot.segmenter and slot.segmenter.busy),
            address=getattr(device, "address", None),
            given_up=stats.given_up if stats else None,
        ))  # fmt: skip
    return rows


async def load_sessions(
    accounts: Accounts, lifetime_s: float, idle_s: float | None = None
) -> SessionBook:
    """The sign-in sessions a previous run left valid: nurses stay signed in over a restart."""
    book = SessionBook(lifetime_s, idle_s)
    now = time.time()
    book.restore(await asyncio.to_thread(accounts.sessions, now), now)
    return book


async def serve(agent: AgentView, config: WebConfig) -> None:
    """Serve the page until cancelled (the agent's TaskGroup owns this task)."""
    folder = exam_dir(agent.config.storage.state_dir)
    accounts = await asyncio.to_thread(Accounts, folder / ACCOUNTS_FILE)
    tls = None
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        try:
            tls = tls_context(config.tls_cert_file, config.tls_key_file)
        except OSError as exc:  # ssl.SSLError is one: not PEM, or a key of another certificate
            raise WebListenError(
                f"web.tls_cert_file/tls_key_file: cannot load {config.tls_cert_file} with "
                f"{config.tls_key_file}: {exc}"
            ) from exc
    context = WebContext(
        exams=agent.exams,
        accounts=accounts,
        sessions=await load_sessions(
            accounts, config.session_hours * 3600, config.idle_minutes * 60
        ),
        templates=await asyncio.to_thread(templates),
        stethoscopes=lambda: stethoscope_rows(agent),
        secure_cookies=tls is not None,
        scan=lambda: scan(agent.radio),
        pair=agent.pair_stethoscope,
        receipts=agent.receipt_stats,
    )
    # No access log, and a request aiohttp cannot parse is one line (stetho_common.web_server).
    runner = app_runner(build_app(context), shutdown_timeout=1.0)
    api = app_runner(build_api(agent.exams), shutdown_timeout=1.0)
    await runner.setup()
    await api.setup()
    try:
        site = web.TCPSite(runner, config.listen_host, config.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:  # the port taken by another program, or a host not found
            raise WebListenError(
                f"the nurses' page cannot listen on {config.listen_host}:{config.port} "
                f"(web.listen_host, web.port): {exc.strerror or exc}"
            ) from exc
        try:
            await _start_socket(api, folder / SOCKET_NAME)
        except OSError as exc:  # e.g. a state_dir so deep that the path passes 107 bytes
            raise WebListenError(
                f"cannot open the local socket {folder / SOCKET_NAME}: {exc.strerror or exc}"
            ) from exc
        scheme = "https" if tls else "http"
        log.info("event=web_listening url=%s://%s:%d/", scheme, config.listen_host, config.port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await api.cleanup()
        accounts.close()


async def _start_socket(runner: web.AppRunner, path: Path) -> None:
    """The local API socket, owner-only from the moment it exists (umask, not a later chmod)."""
    await asyncio.to_thread(path.unlink, missing_ok=True)  # left by a killed agent
    old = os.umask(0o177)
    try:
        await web.UnixSite(runner, str(path)).start()
    finally:
        os.umask(old)
