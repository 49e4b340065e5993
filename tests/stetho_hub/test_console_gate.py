"""The console's gate over HTTP: a new session at each sign-in, the lock on guessing, CSRF on
every post that sends to a care home (checked before anything else), another home's record as
"not found", and the audit row each page writes (who, what, which home, which record, from
where). A real console on loopback over a real SQLite archive; no broker, no browser."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stetho_common.sign_in import FREE_FAILURES
from stetho_hub.console import ConsoleSettings, make_app
from stetho_hub.console import app as console_app
from stetho_hub.console.sessions import Session
from stetho_hub.console.shell import COOKIE, HEADERS, KEY, SESSION, signed_in
from stetho_hub.storage import DatabaseTarget, migrate, open_database
from stetho_hub.storage.users import add_user
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import PASSWORD, Archived, console_running


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Archived]:
    with console_running(tmp_path) as running:
        yield running


def _audit(hub: Archived) -> list[tuple[str, ...]]:
    """The audit rows oldest first, without their time: (user, action, home, target, client)."""
    db = open_database(hub.target)
    try:
        return [row[1:] for row in reversed(audit_entries(db))]
    finally:
        db.close()


def _token(browser: Browser) -> str:
    return next(c.value for c in browser.jar if c.name == COOKIE and c.value is not None)


def test_each_page_writes_who_saw_what_where_and_from_which_client(hub: Archived) -> None:
    doctor = Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303
    rid, exam = hub.home_a.recording_id, hub.exam_a
    for path in ("/", f"/recordings/{rid}", f"/recordings/{rid}/audio",
                 f"/recordings/{rid}/picture.png", "/homes", f"/exams/{exam}"):  # fmt: skip
        assert doctor.get(path)[0] == 200, path
    assert doctor.post("/signout", {"csrf": doctor.csrf("/")})[0] == 303
    ip = "127.0.0.1"
    assert _audit(hub) == [
        ("dr-a", "signin", "", "", ip),
        ("dr-a", "view_inbox", "", "", ip),
        ("dr-a", "view_recording", "home-a", rid, ip),
        ("dr-a", "listen", "home-a", rid, ip),
        ("dr-a", "view_picture", "home-a", rid, ip),
        ("dr-a", "view_homes", "", "", ip),
        ("dr-a", "view_exam", "home-a", exam, ip),
        ("dr-a", "view_inbox", "", "", ip),  # the page the sign-out form was read from
        ("dr-a", "signout", "", "", ip),
    ]


def test_another_homes_record_is_not_found_and_not_audited(hub: Archived) -> None:
    doctor = Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303
    before = _audit(hub)
    other, unknown = hub.home_b.recording_id, str(uuid.uuid4())
    statuses = {}
    for rid in (other, unknown):
        for tail in ("", "/audio", "/picture.png"):
            status, body, _h = doctor.get(f"/recordings/{rid}{tail}")
            statuses[rid, tail] = status
            assert b"No such recording, or not yours to see." in body
    assert set(statuses.values()) == {404}
    status, body, _h = doctor.get("/recordings/not-a-uuid")
    assert status == 404 and b"No such recording, or not yours to see." in body
    # The same page for another home's exam as for one that does not exist.
    status, body, _h = doctor.get(f"/exams/{hub.exam_b}")
    assert status == 404 and b"No such exam, or not yours to see." in body
    assert body == doctor.get(f"/exams/{uuid.uuid4()}")[1] == doctor.get("/exams/x")[1]
    status, body, _h = doctor.get("/live/home-b/steth-a")
    assert status == 404 and b"No such stethoscope, or not yours to hear." in body
    assert _audit(hub) == before
    # The id is read as a UUID: its upper-case spelling names the same recording.
    assert doctor.get(f"/recordings/{hub.home_a.recording_id.upper()}")[0] == 200
    admin = Browser(hub.url)
    assert admin.sign_in("admin") == 303
    assert admin.get(f"/recordings/{other}")[0] == 200
    assert admin.get("/live/home-b/steth-a")[0] == 200


def test_a_sign_in_replaces_the_forms_session_and_sets_a_strict_cookie(hub: Archived) -> None:
    browser = Browser(hub.url)
    status, _b, headers = browser.get("/signin")
    assert status == 200 and "HttpOnly" in headers["Set-Cookie"]
    anonymous = _token(browser)
    assert browser.get("/")[0] == 303  # the form's session is not signed in
    assert browser.get("/signin")[0] == 200 and _token(browser) == anonymous  # kept
    token = browser.csrf("/signin")
    status, _b, headers = browser.post(
        "/signin", {"csrf": token, "username": "dr-a", "password": PASSWORD}
    )
    assert status == 303 and headers["Location"] == "/"
    signed = _token(browser)
    assert signed != anonymous  # no session fixation
    # The form's session is ended, not just left: its cookie now gets a new one.
    request = urllib.request.Request(  # noqa: S310 - loopback http
        hub.url + "/signin", headers={"Cookie": f"{COOKIE}={anonymous}"}
    )
    _status, _b, headers = Browser(hub.url)._open(request)
    assert anonymous not in headers["Set-Cookie"]
    cookie = next(c for c in browser.jar if c.name == COOKIE)
    assert cookie.path == "/" and not cookie.secure
    assert cookie.get_nonstandard_attr("SameSite") == "Strict"
    for token, status in ((anonymous, 303), (signed, 200)):  # the form's cookie signs no one in
        cookie_only = {"Cookie": f"{COOKIE}={token}"}
        request = urllib.request.Request(hub.url + "/", headers=cookie_only)  # noqa: S310
        assert Browser(hub.url)._open(request)[0] == status


def test_a_wrong_password_is_audited_and_guessing_locks_the_name(hub: Archived) -> None:
    browser = Browser(hub.url)
    for _ in range(FREE_FAILURES - 1):
        assert browser.sign_in("dr-a", "not the password") == 401
    assert browser.sign_in("dr-a") == 303  # a sign-in forgets the name's failures
    token = browser.csrf("/")
    assert browser.post("/signout", {"csrf": token})[0] == 303
    token = browser.csrf("/signin")
    form = {"csrf": token, "username": "dr-a", "password": "not the password"}
    status, body, _h = browser.post("/signin", form)
    assert status == 401 and b"Wrong user or password." in body
    for _ in range(FREE_FAILURES - 2):
        assert browser.sign_in("dr-a", "not the password") == 401
    before = time.monotonic()  # the lock starts at the next failure, 30 s long
    assert browser.sign_in("dr-a", "not the password") == 401
    status, body, _h = browser.get("/signin")
    assert status == 200
    token = browser.csrf("/signin")
    status, body, _h = browser.post(
        "/signin", {"csrf": token, "username": "dr-a", "password": PASSWORD}
    )
    # The wait shown is what is left of 30 s: under load the requests since took seconds.
    shown = re.search(rb"Too many attempts: wait (\d+) s\.", body)
    assert status == 429 and shown, body[-300:]
    assert 30 - (time.monotonic() - before) - 1 <= int(shown[1]) <= 30
    assert Browser(hub.url).sign_in("admin") == 303  # another name is not locked
    failed = [row for row in _audit(hub) if row[1] == "signin_failed"]
    assert failed == [("dr-a", "signin_failed", "", "", "127.0.0.1")] * (2 * FREE_FAILURES - 1)
    token = browser.csrf("/signin")
    assert browser.post("/signin", {"csrf": token})[0] == 401  # no name, no password
    assert _audit(hub)[-1] == ("", "signin_failed", "", "", "127.0.0.1")
    long_name = "x" * 100  # no account's: its row names nobody (it may be a resident's name)
    assert browser.sign_in(long_name, "nope") == 401
    assert _audit(hub)[-1][:2] == ("", "signin_failed")


def test_every_post_that_sends_checks_its_csrf_token_first(hub: Archived) -> None:
    doctor, admin = Browser(hub.url), Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303 and admin.sign_in("admin") == 303
    mine = doctor.csrf("/")
    theirs = admin.csrf("/")
    rid, other = hub.home_a.recording_id, hub.home_b.recording_id
    posts = [f"/recordings/{rid}/decision", f"/recordings/{rid}/request",
             f"/exams/{hub.exam_a}/decision", f"/exams/{hub.exam_a}/request"]  # fmt: skip
    for path in posts:
        for form in ({}, {"csrf": ""}, {"csrf": theirs}, {"csrf": mine + "x"}):
            status, body, _h = doctor.post(path, {**form, "disposition": "no-action"})
            assert status == 403 and b"The form expired" in body, (path, form)
        # The right token passes the check; this console has no broker to send through.
        assert doctor.post(path, {"csrf": mine, "disposition": "no-action"})[0] == 503, path
    for path in (f"/recordings/{other}/decision", f"/exams/{hub.exam_b}/request"):
        assert doctor.post(path, {"csrf": mine})[0] == 404  # another home's: not found
    assert doctor.post("/signout", {"csrf": theirs})[0] == 403
    status, body, _h = doctor.post(
        "/signin", {"csrf": theirs, "username": "admin", "password": PASSWORD}
    )
    assert status == 403 and b"The form expired" in body
    assert doctor.get("/")[0] == 200  # still signed in, as themselves


def test_the_audit_log_is_an_administrators_alone(hub: Archived) -> None:
    doctor, admin = Browser(hub.url), Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303 and admin.sign_in("admin") == 303
    status, body, _h = doctor.get("/audit.csv")
    assert status == 403 and b"Administrators only." in body
    status, body, headers = admin.get("/audit.csv")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    assert _audit(hub)[-1] == ("admin", "export_audit", "", "", "127.0.0.1")
    assert not any(row[1] == "export_audit" and row[0] == "dr-a" for row in _audit(hub))
    assert b",dr-a,signin,,,127.0.0.1" in body


def test_every_page_and_refusal_carries_the_security_headers(hub: Archived) -> None:
    browser = Browser(hub.url)
    answers = [browser.get("/signin"), browser.get("/no-such-page")]
    assert browser.sign_in("dr-a") == 303
    answers += [browser.get("/"), browser.get(f"/exams/{hub.exam_b}")]
    assert [status for status, _b, _h in answers] == [200, 404, 200, 404]
    for _status, _b, headers in answers:
        for name, value in HEADERS.items():
            assert headers[name] == value, name


def test_the_sign_in_check_wraps_a_page_with_the_readers_session(tmp_path: Path) -> None:
    # The console's pages are wrapped at import; this wraps one here, so that a changed
    # `signed_in` is the one the request meets (mutmut swaps code in after the import).
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    add_user(db, "dr-a", PASSWORD, "doctor", ("home-a",))
    seen: list[Session] = []

    async def probe(request: web.Request) -> web.StreamResponse:
        seen.append(request[SESSION])
        return web.Response(text="inside")

    async def scenario() -> None:
        app = make_app(ConsoleSettings(DatabaseTarget("sqlite", "unused"), tmp_path), db)
        app.router.add_get("/probe", signed_in(probe))
        async with TestClient(TestServer(app)) as client:
            signed_out = await client.get("/probe", allow_redirects=False)
            assert signed_out.status == 303 and signed_out.headers["Location"] == "/signin"
            page = await (await client.get("/signin")).text()  # a session, not signed in
            assert (await client.get("/probe", allow_redirects=False)).status == 303
            found = re.search(r'name="csrf" value="([^"]+)"', page)
            assert found is not None
            form = {"csrf": found.group(1), "username": "dr-a", "password": PASSWORD}
            assert (await client.post("/signin", data=form, allow_redirects=False)).status == 303
            inside = await client.get("/probe", allow_redirects=False)
            assert inside.status == 200 and await inside.text() == "inside"
        assert [(s.username, s.sites) for s in seen] == [("dr-a", ("home-a",))]

    asyncio.run(scenario())


def test_a_secure_cookie_behind_tls_and_a_lock_to_its_last_half_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()  # the sign-in's clock, held still: half a second of the lock is left
    monkeypatch.setattr(console_app, "time", SimpleNamespace(time=lambda: now))
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    add_user(db, "dr-a", PASSWORD, "doctor", ("home-a",))

    async def scenario() -> None:
        settings = ConsoleSettings(
            DatabaseTarget("sqlite", "unused"), tmp_path, secure_cookies=True
        )
        app = make_app(settings, db)
        async with TestClient(TestServer(app)) as client:
            form_page = await client.get("/signin")
            cookie = form_page.headers["Set-Cookie"]
            for part in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
                assert part in cookie, part
            found = re.search(r'name="csrf" value="([^"]+)"', await form_page.text())
            assert found is not None
            client.session.cookie_jar.update_cookies(
                {COOKIE: cookie.split(";")[0].split("=", 1)[1]}
            )  # the test client speaks plain HTTP: it would not send a Secure cookie back
            app[KEY].throttle._failures["dr-a"] = (FREE_FAILURES, now + 0.5)
            form = {"csrf": found.group(1), "username": "dr-a", "password": PASSWORD}
            locked = await client.post("/signin", data=form, allow_redirects=False)
            assert locked.status == 429 and "Too many attempts: wait" in await locked.text()

    asyncio.run(scenario())
