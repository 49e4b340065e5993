"""Nurses stay signed in over an agent restart: sessions on disk by token hash, 0600, expiring."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.errors import ExamStorageError
from edge_agent.exam.service import ExamService
from edge_agent.web import WebContext, build_app, load_sessions
from edge_agent.web.accounts import Accounts
from edge_agent.web.context import COOKIE
from edge_agent.web.render import templates
from edge_agent.web.sessions import SavedSession, SessionBook, token_key
from tests.edge_agent.web.test_page_security import PIN, Clock, csrf_of, run, sign_in


async def _discard(_: object) -> None:
    return None


IDLE_S = 15 * 60


def _book() -> SessionBook:
    return SessionBook(12 * 3600, IDLE_S)


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


# ---- the idle clock over a restart (edge_agent.web.idle) --------------------------------------


def test_the_time_of_use_is_due_on_disk_a_minute_or_a_tenth_of_the_limit_apart() -> None:
    book = _book()
    session, form = book.new(0.0, "nurse-a", "Marie"), book.new(0.0)
    assert [book.used(session, t) for t in (59.0, 60.0, 61.0, 119.0, 120.0)] == [
        False, True, False, False, True
    ]  # fmt: skip
    assert not book.used(form, 1e6)  # a sign-in form's session is not saved
    short = SessionBook(3600, 120.0)  # a 2-minute limit: every 12 s
    quick = short.new(0.0, "nurse-a", "Marie")
    assert [short.used(quick, t) for t in (11.0, 12.0, 23.0, 24.0)] == [False, True, False, True]
    unlimited = SessionBook(3600)
    assert not unlimited.used(unlimited.new(0.0, "nurse-a", "Marie"), 1e6)


def test_a_restart_keeps_the_idle_clock_where_the_disk_left_it() -> None:
    book = _book()
    book.restore([
        SavedSession(token_key("used"), "nurse-a", "Marie", 1e6, 100.0),
        SavedSession(token_key("older-agent"), "nurse-b", "Paul", 1e6),  # no time of use kept
        SavedSession(token_key("clock-back"), "nurse-c", "Zoé", 1e6, 900.0),
    ], 500.0)  # fmt: skip
    used, older, back = (book.get(t, 500.0) for t in ("used", "older-agent", "clock-back"))
    assert used is not None and older is not None and back is not None
    assert not book.idle(used, 100.0 + IDLE_S - 1) and book.idle(used, 100.0 + IDLE_S)
    assert not book.idle(older, 500.0 + IDLE_S - 1) and book.idle(older, 500.0 + IDLE_S)
    assert book.idle(back, 500.0 + IDLE_S)  # a time of use past the restart counts as the restart
    assert not book.used(used, 159.0) and book.used(used, 160.0)  # due from the saved time


def test_the_page_saves_the_time_of_use_that_a_restart_reads_back(tmp_path: Path) -> None:
    seen: dict[str, float] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        seen["start"] = clock.now
        clock.now += 30
        await csrf_of(client, "/residents")  # under a minute: not yet written
        clock.now += 10 * 60
        assert (await client.get("/residents", allow_redirects=False)).status == 200
        seen["used"] = clock.now

    run(tmp_path, scenario, sessions=_book())
    accounts = Accounts(tmp_path / "web.sqlite3")
    try:
        (saved,) = accounts.sessions(seen["used"])
        assert saved.used == seen["used"]
        book = _book()
        book.restore([saved], seen["used"] + 60)
        (restored,) = book._by_key.values()
        assert not book.idle(restored, seen["used"] + IDLE_S - 1)
        assert book.idle(restored, seen["used"] + IDLE_S)
    finally:
        accounts.close()


def test_an_accounts_file_from_before_the_time_of_use_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE sessions (key TEXT PRIMARY KEY, staff TEXT NOT NULL,"
                " display TEXT NOT NULL, expires REAL NOT NULL)")  # fmt: skip
    old.execute("INSERT INTO sessions VALUES ('k', 'nurse-a', 'Marie', 1e9)")
    old.commit()
    old.close()
    accounts = Accounts(path)
    try:
        assert accounts.sessions(0.0) == [SavedSession("k", "nurse-a", "Marie", 1e9, 0.0)]
        accounts.session_used("k", 42.0)
        accounts.session_used("gone", 43.0)  # a session ended meanwhile: nothing to update
        assert accounts.sessions(0.0) == [SavedSession("k", "nurse-a", "Marie", 1e9, 42.0)]
    finally:
        accounts.close()


def test_an_accounts_file_that_cannot_be_upgraded_is_named(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    odd = sqlite3.connect(path)
    odd.execute("CREATE VIEW sessions AS SELECT 'k' AS key")  # no table a column can join
    odd.close()
    with pytest.raises(ExamStorageError, match=f"^upgrading {re.escape(str(path))}: .*view"):
        Accounts(path)
