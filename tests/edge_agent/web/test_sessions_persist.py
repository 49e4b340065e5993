"""Nurses stay signed in over an agent restart: sessions on disk by token hash, 0600, expiring."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.service import ExamService
from edge_agent.web import WebContext, build_app, load_sessions
from edge_agent.web.accounts import Accounts
from edge_agent.web.context import COOKIE
from edge_agent.web.render import templates
from edge_agent.web.sessions import SavedSession, SessionBook, token_key
from tests.edge_agent.web.test_page_security import PIN, csrf_of, sign_in


async def _discard(_: object) -> None:
    return None


def _run_app(tmp: Path, book: SessionBook | None, scenario: object) -> None:
    env = templates()
    store = ExamStore(tmp / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    accounts = Accounts(tmp / "web.sqlite3")  # a fresh open: what a restarted agent does

    async def main() -> None:
        sessions = book or await load_sessions(accounts, 3600)
        service = ExamService(store, "home", "pi", [], _discard, 4.0)
        ctx = WebContext(service, accounts, sessions, env, lambda: [], False)
        async with TestClient(TestServer(build_app(ctx))) as client:
            await scenario(client)  # type: ignore[operator]

    try:
        asyncio.run(main())
    finally:
        store.close()
        accounts.close()


def test_a_session_survives_a_restart_and_ends_on_sign_out(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "web.sqlite3")
    accounts.add("nurse-a", "Marie", PIN)
    accounts.close()
    kept: dict[str, str] = {}

    async def before(client: TestClient) -> None:
        assert await sign_in(client) == 303
        kept["token"] = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value

    _run_app(tmp_path, None, before)
    token = kept["token"]
    assert token.encode() not in (tmp_path / "web.sqlite3").read_bytes()
    for f in tmp_path.glob("web.sqlite3*"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f

    async def after(client: TestClient) -> None:
        client.session.cookie_jar.update_cookies({COOKIE: token})
        page = await client.get("/residents", allow_redirects=False)
        assert page.status == 200 and "Room 1" in await page.text()
        csrf = await csrf_of(client, "/residents")  # the CSRF token follows the session
        added = await client.post("/residents", data={"csrf": csrf, "ref": "res-2", "label": "B"},
                                  allow_redirects=False)  # fmt: skip
        assert added.status in (200, 303)
        out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303

    _run_app(tmp_path, None, after)
    reopened = Accounts(tmp_path / "web.sqlite3")
    assert all(s.key != token_key(token) for s in reopened.sessions(time.time()))
    reopened.close()

    async def signed_out(client: TestClient) -> None:
        client.session.cookie_jar.update_cookies({COOKIE: token})
        page = await client.get("/residents", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/login"

    _run_app(tmp_path, None, signed_out)


def test_an_expired_session_is_not_restored(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "web.sqlite3")
    accounts.add("nurse-a", "Marie", PIN)
    book = SessionBook(3600)
    now = time.time()
    session = book.new(now, "nurse-a", "Marie")
    accounts.keep_session(SavedSession(token_key(session.token), "nurse-a", "Marie", now + 60))
    later = SessionBook(3600)
    later.restore(accounts.sessions(now), now)
    assert later.get(session.token, now + 30) is not None
    assert later.get(session.token, now + 61) is None
    assert accounts.sessions(now + 61) == []  # deleted from the disk as well
    accounts.close()
