"""The console against someone who should not get in: a visitor with no session, a doctor of
another care home, another site's page posting with the doctor's cookie, a guesser of names.
Every route is read off the app's router, so a route added later is checked too (or must be
named below as one that shows no health data). A real console over a real SQLite archive,
aiohttp's test client; no broker, no browser."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar, DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.runtime.local_broker import free_port
from edge_agent.transport.mqtt import MqttSettings
from stetho_common.sign_in import FREE_FAILURES
from stetho_hub.console import ConsoleSettings, make_app
from stetho_hub.console import sessions as console_sessions
from stetho_hub.fhir.queue import FhirQueue
from stetho_hub.storage import AudioStore, DatabaseTarget, open_database
from stetho_hub.storage.users import check_sign_in
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.console import EXAM_A, EXAM_B, PASSWORD, populate

Scenario = Callable[[TestClient, dict[str, dict[str, str]]], Awaitable[None]]
# Routes a visitor may open without signing in: the form and the page's own assets.
# The browser's own icon request is answered without a session, as the static files are.
PUBLIC = {("GET", "/signin"), ("POST", "/signin"), ("GET", "/favicon.ico")}
# Signed-in routes that show no health data, so write no audit row: the live page (a care
# home's and a stethoscope's ids; its socket is audited when it opens), the inbox's "something
# new" event stream, the administrators' audit export (audited, but not a doctor's to read).
NO_HEALTH_DATA = {"/events", "/live/{site}/{device}", "/live/{site}/{device}/socket", "/audit.csv"}
WEBSOCKET = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip


def run(tmp: Path, scenario: Scenario, publish: MqttSettings | None = None) -> DatabaseTarget:
    """The console over the test kit's archive (home-a's doctor `dr-a`, an `admin`); the
    scenario gets the ids to put in each route: `own` (home-a's), `other` (home-b's) and
    `missing` (nobody's)."""
    target = DatabaseTarget("sqlite", str(tmp / "hub.db"))
    home_a, home_b = populate(target, tmp / "audio")
    ids = {
        "own": {"recording_id": home_a.recording_id, "exam_id": EXAM_A, "site": "home-a",
                "device": home_a.device},
        "other": {"recording_id": home_b.recording_id, "exam_id": EXAM_B, "site": "home-b",
                  "device": home_b.device},
        "missing": {"recording_id": str(uuid.uuid4()), "exam_id": str(uuid.uuid4()),
                    "site": "home-z", "device": "steth-z"},
    }  # fmt: skip

    async def main() -> None:
        db = await asyncio.to_thread(open_database, target)
        app = make_app(ConsoleSettings(target, tmp / "audio", publish=publish), db)
        async with TestClient(TestServer(app)) as client:
            await scenario(client, ids)

    asyncio.run(main())
    return target


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route but HEAD (GET's twin) and the static files."""
    found = []
    for route in client.server.app.router.routes():
        template = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and not template.startswith("/static/"):
            found.append((route.method, template))
    assert len(found) >= 17, found  # the router's routes were read, not an empty list
    return found


def fill(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)


async def csrf_of(client: TestClient, path: str) -> str:
    page = await (await client.get(path)).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    form = {"csrf": await csrf_of(client, "/signin"), "username": name, "password": password}
    return (await client.post("/signin", data=form, allow_redirects=False)).status


def audit(target: DatabaseTarget) -> list[tuple[str, ...]]:
    """The audit rows oldest first, without their time: (user, action, home, target, client)."""
    db = open_database(target)
    try:
        return [row[1:] for row in reversed(audit_entries(db))]
    finally:
        db.close()


def test_without_a_session_every_route_is_the_sign_in_page_and_no_data(tmp_path: Path) -> None:
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        for method, template in routes(client):
            if (method, template) in PUBLIC:
                continue
            path = fill(template, ids["own"])
            response = await client.request(method, path, allow_redirects=False)
            body = await response.read()
            assert response.status == 303, (method, path)
            assert response.headers["Location"] == "/signin", (method, path)
            assert ids["own"]["recording_id"].encode() not in body and b"res-1" not in body

    run(tmp_path, scenario)


def test_another_homes_record_is_refused_exactly_as_a_missing_one_on_every_route(
    tmp_path: Path,
) -> None:
    own: set[str] = {""}  # the audit rows' targets allowed: none, or home-a's records

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        token = await csrf_of(client, "/")
        for method, template in routes(client):
            if "{" not in template:
                continue
            answers = []
            for whose in ("other", "missing"):
                path = fill(template, ids[whose])
                form = {"csrf": token, "disposition": "no-action", "auscultation_site": "mitral"}
                data = form if method == "POST" else None
                response = await client.request(method, path, data=data, allow_redirects=False)
                answers.append((response.status, await response.read()))
            (status, body), (missing_status, missing_body) = answers
            assert status == missing_status == 404, (method, template, status, missing_status)
            assert body == missing_body, (method, template)  # no oracle in the page either
            assert ids["other"]["recording_id"].encode() not in body

        own.update((ids["own"]["recording_id"], ids["own"]["exam_id"]))
        # The pages that list (inbox, care homes) and home-a's own pages name nothing of home-b.
        theirs = [ids["other"][k].encode() for k in ("recording_id", "exam_id", "site")]
        for method, template in routes(client):
            if method != "GET" or template in NO_HEALTH_DATA or (method, template) in PUBLIC:
                continue
            body = await (await client.get(fill(template, ids["own"]))).read()
            assert not any(other in body for other in theirs), template

    target = run(tmp_path, scenario)
    actions = {row[1] for row in audit(target)}
    assert "view_recording" in actions  # home-a's pages, read last
    for row in audit(target):  # no refusal audited: neither home-b's nor the missing ids
        assert row[2] != "home-b" and row[3] in own, row


def test_every_post_and_the_live_socket_refuse_another_sites_page(tmp_path: Path) -> None:
    # Before: a post with the right token was taken whatever page sent it; SameSite=Strict
    # keeps another *site's* page from sending the cookie, not a page of the same site on
    # another host (another service under the hospital's domain). Now the browser's
    # Sec-Fetch-Site, or else the Origin against the Host, must say "this console".
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        token = await csrf_of(client, "/")
        host = f"{client.host}:{client.port}"
        changing = [(m, t) for m, t in routes(client) if m == "POST"]
        changing.append(("GET", "/live/{site}/{device}/socket"))
        foreign = [
            {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "same-site", "Origin": f"https://other.{client.host}"},
            {"Origin": "https://evil.example"},  # an older browser: no Fetch Metadata
            {"Origin": "null"},  # a sandboxed frame
        ]
        for method, template in changing:
            path = fill(template, ids["own"])
            extra = WEBSOCKET if method == "GET" else {}
            for headers in foreign:
                response = await client.request(
                    method, path, data={"csrf": token, "disposition": "no-action"},
                    headers={**extra, **headers}, allow_redirects=False,
                )  # fmt: skip
                said = await response.text()
                assert response.status == 403, (method, path, headers, response.status)
                assert "The form expired or came from elsewhere" in said
        # The console's own pages still post: a same-origin form, or no browser's headers.
        own = {"Sec-Fetch-Site": "same-origin", "Origin": f"http://{host}"}
        decision = fill("/recordings/{recording_id}/decision", ids["own"])
        form = {"csrf": token, "disposition": "no-action"}
        for headers in (own, {"Origin": f"http://{host}"}, {}):
            response = await client.post(decision, data=form, headers=headers)
            assert response.status == 503, headers  # past both checks: no broker to send to
        socket = fill("/live/{site}/{device}/socket", ids["own"])
        assert (await client.get(socket, headers={**WEBSOCKET, **own})).status == 503
        response = await client.post("/signout", data={"csrf": token}, headers=own,
                                     allow_redirects=False)  # fmt: skip
        assert response.status == 303

    run(tmp_path, scenario)


def test_every_page_with_health_data_audits_who_read_which_record(tmp_path: Path) -> None:
    seen: dict[str, list[tuple[str, ...]]] = {}
    target_box: list[DatabaseTarget] = []

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        for method, template in routes(client):
            if method != "GET" or template in NO_HEALTH_DATA or (method, template) in PUBLIC:
                continue
            before = len(audit(target_box[0]))
            path = fill(template, ids["own"])
            response = await client.get(path, allow_redirects=False)
            assert response.status == 200, path
            seen[template] = audit(target_box[0])[before:]

    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    target_box.append(target)
    run(tmp_path, scenario)
    opaque = {"recording_id", "exam_id"}
    for template, rows in seen.items():
        assert len(rows) == 1, (template, rows)
        user, _action, _home, target_id, _client = rows[0]
        assert user == "dr-a", template
        named = re.findall(r"\{(\w+)\}", template)
        if named:  # a record's page names the record, by its opaque id
            assert set(named) <= opaque and target_id, (template, rows)
    for row in audit(target):
        assert not any("short of breath" in value or "res-1" in value for value in row)


def test_a_name_that_is_no_account_is_kept_out_of_the_audit_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: a failed sign-in's audit row held the name as typed, so a resident's name (or a
    # password typed in the wrong box) went into the audit log, which administrators export.
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "Mme Dupont", "Dupont1936!") == 401
        assert await sign_in(client, "dr-a", "not the password") == 401
        assert await sign_in(client, "dr-a") == 303

    with caplog.at_level(logging.DEBUG):
        target = run(tmp_path, scenario)
    rows = audit(target)
    assert [(r[0], r[1]) for r in rows] == [
        ("", "signin_failed"), ("dr-a", "signin_failed"), ("dr-a", "signin"),
    ]  # fmt: skip
    assert "Dupont" not in caplog.text
    assert not any("Dupont" in value for row in rows for value in row)


def test_a_doctors_note_and_the_exams_reason_stay_out_of_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A doctor reads an exam (its reason is the nurse's note) and sends a decision with a note
    # through a broker that is down: the refusal is logged, the note and the reason are not.
    note = "Mme Dupont: call her daughter"
    broker = MqttSettings("127.0.0.1", free_port(), "console-test")

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "Mme Dupont", "Dupont1936!") == 401
        assert await sign_in(client, "dr-a") == 303
        exam = fill("/exams/{exam_id}", ids["own"])
        page = await client.get(exam)
        assert page.status == 200 and "short of breath" in await page.text()
        form = {"csrf": await csrf_of(client, exam), "disposition": "gp-visit-24h", "note": note}
        for path in (f"{exam}/decision", fill("/recordings/{recording_id}/decision", ids["own"])):
            answer = await client.post(path, data=form)
            assert answer.status == 503, path  # the broker is down: said, and logged

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario, publish=broker)
    assert "event=console_send_failed" in caplog.text
    for secret in ("Dupont", "daughter", "short of breath"):
        assert secret not in caplog.text, secret


def test_the_lock_on_a_name_holds_whatever_its_case_or_spaces(tmp_path: Path) -> None:
    # The name is matched exactly: "DR-A" or " dr-a" is no account, so guessing under those
    # spellings never reaches dr-a's password, and the lock on "dr-a" stays.
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        for _ in range(FREE_FAILURES):
            assert await sign_in(client, "dr-a", "not the password") == 401
        assert await sign_in(client, "dr-a") == 429
        for spelling in ("DR-A", " dr-a", "dr-a ", "Dr-A\t", "dr\u2010a"):
            assert await sign_in(client, spelling) == 401, spelling
        assert await sign_in(client, "dr-a") == 429

    run(tmp_path, scenario)


def test_an_unknown_name_takes_as_long_to_refuse_as_a_wrong_password(tmp_path: Path) -> None:
    # Before: a name that is no account was refused without the scrypt check (3 ms against
    # 100 ms here), so a visitor on the network could list the doctors' names by timing.
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    populate(target, tmp_path / "audio")
    db = open_database(target)
    try:
        # CPU time, the two names taken in turn: scrypt's work is what a visitor would time,
        # and wall time under load measured the scheduler (CI at load 17: 0.63 s vs 0.19 s).
        def cost(name: str) -> float:
            start = time.process_time()
            assert check_sign_in(db, name, "not the password") is None
            return time.process_time() - start

        cost("nobody")  # the decoy's hash is made once, at the first unknown name
        pairs = [(cost("dr-a"), cost("nobody-else")) for _ in range(3)]
        known, unknown = min(k for k, _ in pairs), min(u for _, u in pairs)
    finally:
        db.close()
    assert unknown > known / 3, (known, unknown)


def test_a_signed_out_session_is_ended_on_the_server(tmp_path: Path) -> None:
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        cookie = next(c for c in client.session.cookie_jar if c.key == "stetho_hub_session")
        token = cookie.value
        form = {"csrf": await csrf_of(client, "/")}
        assert (await client.post("/signout", data=form, allow_redirects=False)).status == 303
        # The old cookie, sent again as a thief who copied it would: no longer anyone's.
        replay = await client.get("/", headers={"Cookie": f"stetho_hub_session={token}"},
                                  allow_redirects=False)  # fmt: skip
        assert replay.status == 303 and replay.headers["Location"] == "/signin"

    run(tmp_path, scenario)


def test_path_tricks_in_ids_are_a_clear_not_found(tmp_path: Path) -> None:
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        rid = ids["own"]["recording_id"]
        tricks = ["..%2F..%2Fhub.db", "..%5Chub.db", "a" * 4000, "not-a-uuid",
                  f"{rid}%2Faudio", f"{rid}%00", "%2Fetc%2Fpasswd"]  # fmt: skip
        for trick in tricks:
            for tail in ("", "/audio", "/picture.png"):
                response = await client.get(f"/recordings/{trick}{tail}", allow_redirects=False)
                body = await response.read()
                assert 400 <= response.status < 500, (trick, tail, response.status)
                assert not body.startswith(b"fLaC") and b"SQLite format" not in body
            response = await client.get(f"/exams/{trick}", allow_redirects=False)
            assert 400 <= response.status < 500, trick
        response = await client.get(f"/live/home-a/{'x' * 4000}", allow_redirects=False)
        assert response.status == 404
        # A Range request gets the whole recording (no partial answers are made), never more.
        whole = await (await client.get(f"/recordings/{rid}/audio")).read()
        ranged = await client.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9"})
        assert ranged.status == 200 and await ranged.read() == whole

    run(tmp_path, scenario)


def test_pages_are_not_cached_framed_or_given_inline_script(tmp_path: Path) -> None:
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        for method, template in routes(client):
            if method != "GET" or template == "/events":
                continue
            response = await client.get(fill(template, ids["own"]), allow_redirects=False)
            headers = response.headers
            csp = headers["Content-Security-Policy"]
            assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, template
            assert "form-action 'self'" in csp and "base-uri 'none'" in csp, template
            assert headers["Cache-Control"] == "no-store", template
            assert headers["X-Frame-Options"] == "DENY", template
            assert headers["Referrer-Policy"] == "no-referrer", template
            if headers.get("Content-Type", "").startswith("text/html"):
                page = await response.text()
                assert not re.search(r"<script(?![^>]*\bsrc=)", page), template

    run(tmp_path, scenario)


def test_the_console_makes_its_files_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = DatabaseTarget("sqlite", str(tmp_path / "db" / "hub.db"))
        populate(target, tmp_path / "audio")
        FhirQueue(tmp_path / "fhir" / "queue.sqlite3").close()
        AudioStore(tmp_path / "audio2").put(b"fLaC" + b"\0" * 100)
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    folders = [p for p in tmp_path.rglob("*") if p.is_dir()]
    assert any(p.suffix == ".flac" for p in files) and any(p.name == "hub.db" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_sign_in_forms_asked_for_in_bulk_sign_no_doctor_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the session book's cap let any session push out the oldest, and every visit to
    # /signin without a cookie makes one: a visitor asking for the form MAX_SESSIONS times
    # signed every doctor out. Now a form's session gives way to another form's first.
    monkeypatch.setattr(console_sessions, "MAX_SESSIONS", 20)

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        async with ClientSession(cookie_jar=DummyCookieJar()) as visitor:
            for _ in range(3 * console_sessions.MAX_SESSIONS):
                async with visitor.get(client.make_url("/signin")) as form:
                    assert form.status == 200
        assert (await client.get("/", allow_redirects=False)).status == 200  # still signed in

    run(tmp_path, scenario)


def test_sign_ins_under_made_up_names_do_not_hold_up_the_doctors_pages(tmp_path: Path) -> None:
    # A name that is no account's costs a full scrypt check (so that timing tells nothing).
    # Before, the check ran on the console's one database thread: a visitor posting made-up
    # names queued every doctor's page behind them. Now the check runs beside it.
    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as visitor:
            page = await (await visitor.get(client.make_url("/signin"))).text()
            found = re.search(r'name="csrf" value="([^"]+)"', page)
            assert found is not None

            async def guess(n: int) -> int:
                form = {"csrf": found.group(1), "username": f"made-up-{n}", "password": "x"}
                async with visitor.post(client.make_url("/signin"), data=form) as answer:
                    return answer.status

            start = time.perf_counter()
            flood = asyncio.gather(*(guess(n) for n in range(8)))
            await asyncio.sleep(0.05)  # the guesses are in
            inbox_start = time.perf_counter()
            assert (await client.get("/")).status == 200
            inbox_s = time.perf_counter() - inbox_start
            assert await flood == [401] * 8
            flood_s = time.perf_counter() - start
        assert inbox_s < flood_s / 3, (inbox_s, flood_s)

    run(tmp_path, scenario)
