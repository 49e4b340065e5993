"""The nurses' page against someone who should not get in or should leave no trace: a visitor
on the care home's network with no session, another site's page posting with a nurse's
cookie, hand-made values in a signed-in request, and what a failed sign-in leaves in the log.
Every route is read off the app's router, so a route added later is checked too. The page
over aiohttp's test server, real SQLite files; no browser."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import uuid
from pathlib import Path

import pytest
from aiohttp import ClientSession, DummyCookieJar
from aiohttp.test_utils import TestClient

from edge_agent.exam import ExamStore
from edge_agent.exam.store import exam_dir
from edge_agent.web import live
from edge_agent.web import sessions as web_sessions
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from edge_agent.web.context import CTX
from edge_agent.web.views_exam import PANEL_AUDIT_S
from stetho_common.sign_in import FREE_FAILURES
from tests.edge_agent.web.test_page_security import PIN, Clock, csrf_of, run, sign_in

# Routes a visitor may use without signing in: the sign-in form and the language switch.
# The browser's own icon request is answered without a session, as the static files are.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/lang/{lang}"), ("GET", "/favicon.ico")}
FOREIGN = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://wiki.care-home.example"},
    {"Origin": "https://evil.example"},  # an older browser: no Fetch Metadata
    {"Origin": "null"},  # a sandboxed frame
]


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route but HEAD (GET's twin) and the static files."""
    found = []
    for route in client.server.app.router.routes():
        template = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and not template.startswith("/static"):
            found.append((route.method, template))
    assert len(found) >= 25, found  # the router's routes were read, not an empty list
    return found


def fill(template: str, **known: str) -> str:
    ids = {"ref": "res-1", "exam_id": str(uuid.uuid4()), "job_id": "job-1",
           "request_id": str(uuid.uuid4()), "device": "steth-1", "lang": "fr", **known}  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)


async def open_exam(client: TestClient) -> str:
    token = await csrf_of(client, "/residents")
    form = {"resident": "res-1", "protocol": "heart-4", "csrf": token}
    opened = await client.post("/exams", data=form, allow_redirects=False)
    assert opened.status == 303
    return str(opened.headers["Location"]).rsplit("/", 1)[1]


def test_without_a_session_every_route_refuses_and_shows_no_resident(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")  # a sign-in form's session: signed in as nobody
        for method, template in routes(client):
            if (method, template) in PUBLIC:
                continue
            path = fill(template)
            data = {"csrf": token, "resident": "res-1", "ref": "res-1"}
            for headers in ({}, {"Sec-Fetch-Mode": "cors"}):
                response = await client.request(method, path, data=data, headers=headers,
                                                allow_redirects=False)  # fmt: skip
                body = await response.text()
                if method == "GET" and not headers and not path.startswith("/live/"):
                    assert response.status == 303, (method, path)
                    assert response.headers["Location"] == "/login", (method, path)
                else:
                    assert response.status == 401, (method, path, headers)
                assert "Mme Secret" not in body, (method, path)
        ctx = client.server.app[CTX]
        assert ctx.accounts.audit_log() == []
        assert await ctx.exams.search_residents("") != []  # nothing was added or changed

    run(tmp_path, scenario)


def test_every_post_needs_its_token_and_refuses_another_sites_page(tmp_path: Path) -> None:
    # Before: a post with the right token was taken whatever page sent it. SameSite=Strict
    # keeps another site's page from sending the cookie, but not a page of the same site on
    # another host. Now the browser's Sec-Fetch-Site, or else the Origin against the Host,
    # must say "this page".
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        host = f"{client.host}:{client.port}"
        for method, template in routes(client):
            if method != "POST":
                continue
            path = fill(template)
            form = {"ref": "res-9", "label": "Room 9", "resident": "res-1"}
            for sent in ({}, {"csrf": ""}, {"csrf": token + "x"}):
                answer = await client.post(path, data={**form, **sent}, allow_redirects=False)
                assert answer.status == 403, (path, sent)
            for headers in FOREIGN:
                answer = await client.post(path, data={**form, "csrf": token}, headers=headers,
                                           allow_redirects=False)  # fmt: skip
                assert answer.status == 403, (path, headers, answer.status)
                assert "came from elsewhere" in await answer.text()
        ctx = client.server.app[CTX]
        assert [r.ref for r in await ctx.exams.search_residents("")] == ["res-1"]
        own = {"Sec-Fetch-Site": "same-origin", "Origin": f"http://{host}"}
        for headers in (own, {"Origin": f"http://{host}"}, {}):
            form = {"ref": "res-2", "label": "Room 2", "csrf": token}
            assert (await client.post("/residents", data=form, headers=headers)).status == 200

    run(tmp_path, scenario)


def test_hand_made_values_are_a_refusal_not_a_server_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: a `since` that is not a whole number, or a `duration_s` that is not a number,
    # was a 500 and a traceback in the log (the page's own script never sends either).
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam_id = await open_exam(client)
        token = await csrf_of(client, f"/exams/{exam_id}")
        for since in ("zz", "1.5", "9" * 30 + "x"):  # no version the page has: answered at once
            answer = await client.get(f"/exams/{exam_id}/panel", params={"since": since})
            assert answer.status == 200, since
        for seconds in ("abc", "nan", "inf", "-3", "0"):
            form = {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": seconds}
            answer = await client.post(f"/exams/{exam_id}/record", data=form)
            assert answer.status == 409, seconds
            assert "is not such a number" in await answer.text()
        assert (await client.get(f"/exams/{exam_id}/panel", params={"since": ""})).status == 200

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario)
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_the_exam_panels_reads_are_audited_once_a_while_each(tmp_path: Path) -> None:
    # Before: the panel (the exam's findings, the nurse's verdicts, the doctor's answer) was
    # read with no audit row at all: a signed-in account could poll any exam and leave no trace.
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam_id = await open_exam(client)
        ctx = client.server.app[CTX]
        for _ in range(3):
            panel = await client.get(f"/exams/{exam_id}/panel", params={"since": "-1"})
            assert panel.status == 200 and 'data-site="aortic"' in await panel.text()
        reads = [row[1:] for row in ctx.accounts.audit_log() if row[2] == "view-exam-panel"]
        assert reads == [("nurse-a", "view-exam-panel", exam_id)]
        clock.now += PANEL_AUDIT_S
        assert (await client.get(f"/exams/{exam_id}/panel")).status == 200
        reads = [row for row in ctx.accounts.audit_log() if row[2] == "view-exam-panel"]
        assert len(reads) == 2
        for row in ctx.accounts.audit_log():  # opaque references only
            assert "Secret" not in row[3] and "Room" not in row[3], row

    run(tmp_path, scenario)


def test_a_live_feed_ends_when_its_session_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the live waveform of a resident's chest went on streaming after its nurse
    # signed out (or her session expired), for as long as the connection stayed open.
    monkeypatch.setattr(live, "KEEPALIVE_S", 0.1)

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        feed = await client.get("/live/steth-1")
        assert feed.status == 200
        assert await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 5) == b": keep-alive\n\n"
        out = await client.post("/logout", data={"csrf": token}, allow_redirects=False)
        assert out.status == 303
        rest = await asyncio.wait_for(feed.content.read(), 5)  # the stream ends: EOF
        assert rest.count(b"keep-alive") <= 2

    run(tmp_path, scenario, attached=("steth-1",))


def test_a_failed_sign_in_logs_a_staff_id_or_only_a_length(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the name as typed went into the log, so a resident's name, or a PIN typed in the
    # staff box, was written to the journal. A real staff id is still logged.
    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")
        for staff in ("Mme Dupont", PIN, "nurse-a"):
            form = {"staff": staff, "secret": "000000", "csrf": token}
            assert (await client.post("/login", data=form)).status == 401
        for _ in range(FREE_FAILURES):
            form = {"staff": "Mme Dupont", "secret": "000000", "csrf": token}
            await client.post("/login", data=form)

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("edge_agent")]
    assert "event=signin_failed staff=unknown(10-chars) peer=127.0.0.1" in said
    assert "event=signin_failed staff=unknown(6-chars) peer=127.0.0.1" in said
    assert "event=signin_failed staff=nurse-a peer=127.0.0.1" in said
    assert "event=signin_throttled staff=unknown(10-chars) peer=127.0.0.1" in said
    assert "dupont" not in caplog.text.lower() and PIN not in caplog.text


def test_an_exam_from_sign_in_to_close_logs_no_label_name_or_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")
        form = {"staff": "Mr Hidden", "secret": "000000", "csrf": token}
        assert (await client.post("/login", data=form)).status == 401
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        form = {"ref": "res-2", "label": "Room 2 Mr Hidden", "csrf": token}
        assert (await client.post("/residents", data=form)).status == 200
        csv = {"csrf": token, "file": "ref,label\nres-3,Room 3 Mrs Private\n"}
        assert (await client.post("/residents/import", data=csv)).status == 200
        found = await client.post("/residents/search", data={"q": "Hidden", "csrf": token})
        assert found.status == 200 and "Room 2 Mr Hidden" in await found.text()
        assert (await client.get("/residents/res-2")).status == 200
        form = {"resident": "res-2", "protocol": "heart-4", "csrf": token,
                "reason": "fell at night, chest pain"}  # fmt: skip
        opened = await client.post("/exams", data=form, allow_redirects=False)
        exam = opened.headers["Location"]
        assert "Room 2 Mr Hidden" in await (await client.get(exam)).text()
        assert (await client.get(f"{exam}/panel")).status == 200
        record = {"csrf": token, "site": "aortic", "device": "steth-1"}
        assert (await client.post(f"{exam}/record", data=record)).status in (200, 409)
        stopped = await client.post(f"{exam}/stop", data={"csrf": token, "device": "steth-1"})
        assert stopped.status == 200
        assert (await client.post(f"{exam}/abandon", data={"csrf": token})).status < 500
        assert (await client.post("/logout", data={"csrf": token})).status == 200

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario, attached=("steth-1",))
    # aiohttp's access log is the test server's: the agent serves with none (web_server.py);
    # a search is a POST besides, so no name is in a URL for any log to keep.
    said = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "event=exam_opened" in said  # the exam's own lines were captured
    for secret in ("Hidden", "Private", "Secret", "chest pain", "fell at night"):
        assert secret.lower() not in said.lower(), secret


def test_every_page_keeps_its_headers_no_cache_no_frame_no_inline_script(
    tmp_path: Path,
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam_id = await open_exam(client)
        answers = [await client.get("/login"), await client.get("/no-such-page")]
        for method, template in routes(client):
            if method != "GET" or template.startswith("/live/") or template == "/lang/{lang}":
                continue
            answer = await client.get(fill(template, exam_id=exam_id), allow_redirects=False)
            assert answer.status < 500, template
            answers.append(answer)
        assert sum(a.status == 200 for a in answers) >= 6  # the pages themselves, not refusals
        for answer in answers:
            if 300 <= answer.status < 400:  # a redirect carries nothing to cache or frame
                continue
            headers = answer.headers
            csp = headers.get("Content-Security-Policy", "")
            assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, answer.url
            assert "form-action 'self'" in csp and "base-uri 'none'" in csp, answer.url
            assert headers["Cache-Control"] == "no-store", answer.url
            assert headers["Referrer-Policy"] == "no-referrer", answer.url
            if headers.get("Content-Type", "").startswith("text/html"):
                page = await answer.text()
                assert not re.search(r"<script(?![^>]*\bsrc=)", page), answer.url

    run(tmp_path, scenario)


def test_the_lock_on_a_name_holds_whatever_its_case_or_spaces(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        token = await csrf_of(client, "/login")
        for spelling in ("NURSE-A", " nurse-a", "Nurse-A\t", "nurse-a ", "nUrse-a"):
            form = {"staff": spelling, "secret": "000000", "csrf": token}
            assert (await client.post("/login", data=form)).status == 401
        ctx.throttle.succeeded("127.0.0.1")  # as if from another tablet: the name alone
        assert ctx.throttle.retry_after("nurse-a", clock()) == 30.0
        form = {"staff": "NURSE-A ", "secret": PIN, "csrf": token}
        assert (await client.post("/login", data=form)).status == 429

    run(tmp_path, scenario)


def test_the_pages_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        folder = exam_dir(tmp_path / "state")
        store, accounts = ExamStore(folder / "exams.sqlite3"), Accounts(folder / ACCOUNTS_FILE)
        accounts.add("nurse-a", "Marie", PIN)
        accounts.audit("nurse-a", "sign-in", "127.0.0.1")
        store.close()
        accounts.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"exams.sqlite3", ACCOUNTS_FILE}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_sign_in_forms_asked_for_in_bulk_sign_no_nurse_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a visitor on the care home's network asking for /login MAX_SESSIONS times (each
    # visit without a cookie makes a form's session) pushed every nurse's session out, a
    # nurse mid-exam included. Now a form's session gives way to another form's first.
    monkeypatch.setattr(web_sessions, "MAX_SESSIONS", 20)

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        async with ClientSession(cookie_jar=DummyCookieJar()) as visitor:
            for _ in range(3 * web_sessions.MAX_SESSIONS):
                async with visitor.get(client.make_url("/login")) as form:
                    assert form.status == 200
        assert (await client.get("/residents", allow_redirects=False)).status == 200

    run(tmp_path, scenario)


def test_stopping_a_recording_dismissing_a_request_and_signing_out_are_audited(
    tmp_path: Path,
) -> None:
    # Before: these three posts changed something and left no audit row (sign-in had one).
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam_id = await open_exam(client)
        token = await csrf_of(client, f"/exams/{exam_id}")
        form = {"csrf": token, "device": "steth-1"}
        assert (await client.post(f"/exams/{exam_id}/stop", data=form)).status == 200
        request_id = str(uuid.uuid4())
        dismissed = await client.post(f"/requests/{request_id}/dismiss", data={"csrf": token})
        assert dismissed.status == 200
        assert (await client.post("/logout", data={"csrf": token})).status == 200
        ctx = client.server.app[CTX]
        changes = ("sign-out", "dismiss-request", "stop-recording")
        rows = [row[1:] for row in ctx.accounts.audit_log() if row[2] in changes]
        assert rows == [
            ("nurse-a", "sign-out", "-"),
            ("nurse-a", "dismiss-request", request_id),
            ("nurse-a", "stop-recording", exam_id),
        ]

    run(tmp_path, scenario, attached=("steth-1",))
