"""A shared tablet left alone signs its nurse out (`web.idle_minutes`): the page's own polls do
not keep the session, a page opened or a form sent does, and so does a recording in progress;
the poll's answer sends the page's script to sign in, where the nurse reads why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from edge_agent.config import load_config
from edge_agent.errors import ConfigError
from edge_agent.exam.errors import ExamStorageError
from edge_agent.web.context import CTX
from edge_agent.web.idle import end_if_idle, note_use
from edge_agent.web.sessions import MAX_SESSIONS, SessionBook
from stetho_testkit.browser import POLL_S
from tests.edge_agent.test_config import MINIMAL, write
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_page_security import PIN, Clock, csrf_of, opened_exam, run, sign_in

IDLE_S = 15 * 60
POLL = {"Sec-Fetch-Mode": "cors"}  # what the panel's fetch sends
IDLE_EN = "Signed out after 15 minutes without use: sign in again."
IDLE_FR = "Session fermée après 15 minutes sans utilisation : reconnectez-vous."


def _book() -> SessionBook:
    return SessionBook(12 * 3600, IDLE_S)


async def _poll(client: TestClient, exam: str) -> ClientResponse:
    return await client.get(f"{exam}/panel?since=-1", headers=POLL, allow_redirects=False)


def _said(page: str) -> str | None:
    found = re.search(r'id="(?:signin|error)-message">([^<]*)<', page)
    return found.group(1).replace("&#39;", "'") if found else None


# ---- the book ---------------------------------------------------------------------------------


def test_a_signed_in_session_idles_out_and_use_starts_the_clock_again() -> None:
    book = _book()
    session = book.new(0.0, "nurse-a", "Marie")
    form = book.new(0.0)
    assert not book.idle(session, IDLE_S - 1) and book.idle(session, IDLE_S)
    assert not book.idle(form, 10 * IDLE_S)  # a sign-in form's session has only its hour
    book.used(session, 600.0)
    book.used(session, 300.0)  # a request that started earlier and ended later: no going back
    assert not book.idle(session, 600.0 + IDLE_S - 1) and book.idle(session, 600.0 + IDLE_S)
    assert not SessionBook(3600).idle(SessionBook(3600).new(0.0, "n", "N"), 1e9)  # no limit


def test_an_idled_token_is_remembered_for_an_hour_and_ended_once() -> None:
    book = _book()
    session = book.new(0.0, "nurse-a", "Marie")
    assert book.end_idle(session.token, 1000.0)
    assert not book.end_idle(session.token, 1000.0)  # the tablet's other request: no 2nd audit
    assert book.get(session.token, 1000.0) is None
    assert book.idled(session.token, 1000.0 + 3599) and not book.idled(session.token, 4600.0)
    assert not book.idled(None, 1000.0) and not book.idled("another", 1000.0)
    tokens = [book.new(0.0, f"n{i}", "N").token for i in range(MAX_SESSIONS + 5)]
    for token in tokens:
        book.end_idle(token, 2000.0)
    assert not book.idled(tokens[0], 2000.0) and book.idled(tokens[-1], 2000.0)  # capped


# ---- over HTTP --------------------------------------------------------------------------------


def test_polls_alone_sign_the_tablet_out_and_the_poll_is_told_to_sign_in(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        start = clock.now
        for minute in range(1, 15):  # a poll a minute: the panel polls far more often
            clock.now = start + minute * 60
            assert (await _poll(client, exam)).status == 200
            assert (await client.get("/static/app.js")).status == 200
            for icon in ("/favicon.ico", "/static/favicon.svg"):  # not the nurse's use
                assert (await client.get(icon)).status == 200
            assert (await client.get("/apple-touch-icon.png")).status == 404
        clock.now = start + IDLE_S
        expired = await _poll(client, exam)
        # 401 is what the page's script turns into the sign-in page (app.js, below).
        assert expired.status == 401 and _said(await expired.text()) == IDLE_EN
        assert ctx.accounts.audit_log()[0][1:] == ("nurse-a", "sign-out", "idle")
        assert ctx.accounts.sessions(clock()) == []  # the saved copy is gone too
        assert (await client.get("/live/steth-1")).status == 401  # the waveform's reconnect
        opened = await client.get("/residents", allow_redirects=False)
        assert opened.status == 303 and opened.headers["Location"] == "/login"
        page = await client.get("/login", headers={"Accept-Language": "fr"})
        assert _said(await page.text()) == IDLE_FR
        again = await client.get("/login")  # the form's own session now: nothing to say
        assert _said(await again.text()) is None
        assert await sign_in(client) == 303
        assert (await _poll(client, exam)).status == 200

    run(tmp_path, scenario, sessions=_book())


def test_a_fractional_limit_is_said_with_the_reader_s_decimal_mark(tmp_path: Path) -> None:
    said: dict[str, str | None] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        clock.now += 150
        for lang in ("en", "fr"):
            answer = await client.get(
                f"{exam}/panel?since=-1", headers={**POLL, "Accept-Language": lang}
            )
            said[lang] = _said(await answer.text())

    run(tmp_path, scenario, sessions=SessionBook(12 * 3600, 150))
    assert said["en"] == "Signed out after 2.5 minutes without use: sign in again."
    assert said["fr"] == "Session fermée après 2,5 minutes sans utilisation : reconnectez-vous."


def test_a_limit_of_one_minute_is_said_in_the_singular(tmp_path: Path) -> None:
    # Was "Signed out after 1 minutes without use" with `idle_minutes = 1` (walking the guide).
    said: dict[str, str | None] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        clock.now += 60
        for lang in ("en", "fr"):
            answer = await client.get(
                f"{exam}/panel?since=-1", headers={**POLL, "Accept-Language": lang}
            )
            said[lang] = _said(await answer.text())

    run(tmp_path, scenario, sessions=SessionBook(12 * 3600, 60))
    assert said["en"] == "Signed out after 1 minute without use: sign in again."
    assert said["fr"] == "Session fermée après 1 minute sans utilisation : reconnectez-vous."


def test_a_page_opened_or_a_form_sent_renews_the_idle_clock(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        start = clock.now
        clock.now = start + 10 * 60
        token = await csrf_of(client, "/residents")  # a page opened
        clock.now = start + 20 * 60
        form = {"ref": "res-2", "label": "Room 2", "csrf": token}
        assert (await client.post("/residents", data=form)).status == 200  # a form sent
        clock.now = start + 20 * 60 + IDLE_S - 1
        assert (await _poll(client, exam)).status == 200
        clock.now = start + 20 * 60 + IDLE_S
        assert (await _poll(client, exam)).status == 401

    run(tmp_path, scenario, sessions=_book())


def test_a_recording_in_progress_holds_the_session_until_it_ends(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        token = await csrf_of(client, exam)
        form = {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": "60"}
        assert (await client.post(f"{exam}/record", data=form)).status == 200
        start = clock.now
        clock.now = start + 3 * IDLE_S  # no block came: still recording, however long
        assert (await _poll(client, exam)).status == 200
        segmenter = ctx.exams.slots["steth-1"].segmenter
        assert segmenter is not None
        segmenter.stop()
        segmenter.feed(np.zeros(400, np.float32), clock.now)  # the recording ends here
        assert not segmenter.busy
        ended = clock.now
        clock.now = ended + IDLE_S - 1  # the idle time counts from the recording's end
        assert (await _poll(client, exam)).status == 200
        clock.now = ended + IDLE_S
        assert (await _poll(client, exam)).status == 401

    run(tmp_path, scenario, attached=("steth-1",), sessions=_book())


def test_another_nurses_recording_does_not_hold_a_session(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        hers = await ctx.exams.open_exam("res-1", "nurse-b", "", "heart-4", (), "adult")
        await ctx.exams.record(hers.exam_id, "aortic", "steth-1", "nurse-b", 60.0)
        clock.now += IDLE_S
        assert (await _poll(client, exam)).status == 401

    run(tmp_path, scenario, attached=("steth-1",), sessions=_book())


def test_the_page_script_goes_to_sign_in_on_the_polls_401(tmp_path: Path) -> None:
    # Both scripts that poll answer a 401 by opening the sign-in page (no spinning on it).
    async def scenario(client: TestClient, clock: Clock) -> None:
        for script in ("/static/app.js", "/static/pairing.js"):
            text = await (await client.get(script)).text()
            assert re.search(r'status === 401\)\s*\{\s*location\.href = "/login"', text), script

    run(tmp_path, scenario)


@pytest.mark.browser
def test_a_tablet_left_on_the_exam_screen_shows_the_sign_in_page_and_why(tmp_path: Path) -> None:
    # The page's own script, in Chromium, against the page with the tests' clock: selenium's
    # calls block, so they run in threads while the loop serves the browser.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def signed_in(d: Any, base: str) -> None:
        d.get(base + "/login")
        d.find_element(By.ID, "staff").send_keys("nurse-a")
        d.find_element(By.ID, "secret").send_keys(PIN)
        d.find_element(By.ID, "signin").click()
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(
            lambda d: d.current_url.endswith("/residents")
        )

    def told_why(d: Any) -> str:
        WebDriverWait(d, 30, poll_frequency=POLL_S).until(
            lambda d: d.find_elements(By.ID, "signin-message")
        )
        return str(d.find_element(By.ID, "signin-message").text)

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        base = str(client.make_url("/")).rstrip("/")
        with contextlib.ExitStack() as stack:
            d = await asyncio.to_thread(stack.enter_context, chromium())
            await asyncio.to_thread(signed_in, d, base)
            exam = await ctx.exams.open_exam("res-1", "nurse-a", "", "heart-4", (), "adult")
            await asyncio.to_thread(d.get, f"{base}/exams/{exam.exam_id}")
            await asyncio.sleep(1.0)  # the panel's poll is running
            assert d.current_url.endswith(str(exam.exam_id))
            clock.now += IDLE_S
            ctx.exams.changes.bump()  # answers the poll waiting now; the next one is refused
            assert await asyncio.to_thread(told_why, d) == IDLE_EN
            assert d.current_url == base + "/login"
            await asyncio.to_thread(stack.close)

    run(tmp_path, scenario, sessions=_book())


# ---- the setting ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "0.5", "721", '"soon"'])
def test_idle_minutes_out_of_bounds_is_named_with_its_bounds(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, MINIMAL + f"\n[web]\nidle_minutes = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "web.idle_minutes: expected" in str(info.value)


def test_idle_minutes_defaults_to_15_and_takes_its_bounds(tmp_path: Path) -> None:
    web = load_config(write(tmp_path, MINIMAL + "\n[web]\n")).web
    assert web is not None and web.idle_minutes == 15
    for value in (1, 720):
        web = load_config(write(tmp_path, MINIMAL + f"\n[web]\nidle_minutes = {value}\n")).web
        assert web is not None and web.idle_minutes == value


def test_two_requests_at_the_limit_both_find_the_tablet_signed_out_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Each read the session before either ended it: the second must not go on signed in.
    caplog.set_level(logging.INFO, logger="edge_agent.web.idle")
    ended: list[bool] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        session = ctx.sessions.new(clock.now, "nurse-a", "Marie")
        clock.now += IDLE_S
        ended.extend(await asyncio.gather(end_if_idle(ctx, session), end_if_idle(ctx, session)))
        assert [row[1:] for row in ctx.accounts.audit_log()] == [("nurse-a", "sign-out", "idle")]

    run(tmp_path, scenario, sessions=_book())
    assert ended == [True, True]
    assert caplog.messages == ["event=signout_idle staff=nurse-a"]


def test_a_time_of_use_the_disk_refuses_is_logged_not_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="edge_agent.web.idle")

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        session = ctx.sessions.new(clock.now, "nurse-a", "Marie")

        def refused(key: str, when: float) -> None:
            raise ExamStorageError("disk full")

        monkeypatch.setattr(ctx.accounts, "session_used", refused)
        await note_use(ctx, session, clock.now + 600)  # its saved copy is due an update
        assert not ctx.sessions.idle(session, clock.now + 600 + IDLE_S - 1)

    run(tmp_path, scenario, sessions=_book())
    assert caplog.messages == ["event=session_use_unsaved error=disk full"]
