"""The page over real HTTP (aiohttp's test server): sign-in, cookies, CSRF, throttling,
languages, and refused input shown as a page, never a traceback."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.service import ExamService
from edge_agent.web import WebContext, build_app
from edge_agent.web.accounts import Accounts
from edge_agent.web.context import CTX
from edge_agent.web.render import MAX_BODY, templates
from edge_agent.web.sessions import SessionBook
from stetho_common.favicon import FAVICON_SVG
from stetho_common.web_server import app_runner
from tests.fakes.raw_http import exchange

PIN = "135790"
Scenario = Callable[[TestClient, "Clock"], Awaitable[None]]


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(
    tmp: Path, scenario: Scenario, devices: tuple[str, ...] = ("steth-1",),
    attached: tuple[str, ...] = (), sessions: SessionBook | None = None,
) -> None:  # fmt: skip
    """The page over `devices`, of which `attached` are connected (at 4 kHz); `sessions`: a
    book of other limits than an hour and no idle limit."""
    # Set-up that fsyncs and hashes runs before the loop (the agent does it in threads).
    env = templates()
    store = ExamStore(tmp / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1 Mme Secret")])
    accounts = Accounts(tmp / "web.sqlite3")
    accounts.add("nurse-a", "Marie", PIN)

    async def main() -> None:
        service = ExamService(store, "home", "pi", list(devices), _discard, 4.0)
        for device in attached:
            service.attach(device, 4000)
        clock = Clock()
        book = sessions or SessionBook(3600)
        ctx = WebContext(service, accounts, book, env, lambda: [], False, clock=clock)
        async with TestClient(TestServer(build_app(ctx))) as client:
            await scenario(client, clock)

    try:
        asyncio.run(main())
    finally:
        store.close()
        accounts.close()


async def _discard(_: object) -> None:
    return None


async def csrf_of(client: TestClient, path: str) -> str:
    page = await (await client.get(path)).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in(client: TestClient, pin: str = PIN) -> int:
    token = await csrf_of(client, "/login")
    response = await client.post("/login", data={"staff": "nurse-a", "secret": pin, "csrf": token},
                                 allow_redirects=False)  # fmt: skip
    return response.status


async def opened_exam(client: TestClient) -> tuple[str, str]:
    """A signed-in page opens a heart exam of res-1: the exam page's path and the CSRF token."""
    token = await csrf_of(client, "/residents")
    form = {"csrf": token, "resident": "res-1", "protocol": "heart-4"}
    opened = await client.post("/exams", data=form, allow_redirects=False)
    assert opened.status == 303
    return opened.headers["Location"], token


def test_the_icon_needs_no_sign_in_and_every_page_links_it(tmp_path: Path) -> None:
    # Before: a browser's own /favicon.ico was a 401 or a 404, noise in its console.
    icon = FAVICON_SVG  # stetho_common's, the console's too (tests/test_favicon.py)

    async def scenario(client: TestClient, clock: Clock) -> None:
        for path in ("/favicon.ico", "/static/favicon.svg"):
            answer = await client.get(path, headers={"Sec-Fetch-Mode": "no-cors"})
            assert answer.status == 200 and answer.content_type == "image/svg+xml", path
            assert await answer.read() == icon and len(icon) < 1024
        link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        assert link in await (await client.get("/login")).text()
        assert await sign_in(client) == 303
        assert link in await (await client.get("/residents")).text()
        assert (await client.get("/favicon.ico")).status == 200

    run(tmp_path, scenario)


def test_everything_needs_sign_in(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        response = await client.get("/residents", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login"
        assert (await client.get("/live/steth-1")).status == 401
        # The exam panel's poll, once the session has ended: a 401 its script turns into the
        # sign-in page (before: the sign-in page's HTML was followed and put in the panel).
        fetched = await client.get("/exams/x/panel", headers={"Sec-Fetch-Mode": "same-origin"},
                                   allow_redirects=False)  # fmt: skip
        assert fetched.status == 401
        opened = await client.get("/exams/x", headers={"Sec-Fetch-Mode": "navigate"},
                                  allow_redirects=False)  # fmt: skip
        assert opened.status == 303 and opened.headers["Location"] == "/login"
        assert (await client.get("/static/app.js")).status == 200  # assets need no session
        login = await client.get("/login")
        cookie = login.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "script-src 'self'" in login.headers["Content-Security-Policy"]
        assert await sign_in(client) == 303
        page = await (await client.get("/residents")).text()
        assert "Room 1 Mme Secret" in page

    run(tmp_path, scenario)


def test_a_post_without_the_csrf_token_is_refused(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        forged = await client.post("/residents", data={"ref": "res-2", "label": "x"})
        assert forged.status == 403
        token = await csrf_of(client, "/residents")
        form = {"ref": "res-2", "label": "Room 2", "csrf": token}
        ok = await client.post("/residents", data=form)
        assert ok.status == 200 and "Room 2" in await ok.text()

    run(tmp_path, scenario)


def test_refusals_are_the_error_page_in_the_nurses_language(tmp_path: Path) -> None:
    # Before: aiohttp's or our plain English text ("404: Not Found", "sign in first", "the
    # form expired or came from elsewhere: reload") on a French tablet.
    pages: dict[str, tuple[int, str, str]] = {}
    french = {"Accept-Language": "fr"}

    async def keep(name: str, response: ClientResponse) -> None:
        text = await response.text()
        message = re.search(r'id="error-message">([^<]*)<', text)
        allow = response.headers.get("Allow", "")
        pages[name] = (response.status, message.group(1) if message else text, allow)

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        await keep("missing", await client.get("/nowhere", headers=french))
        await keep("method", await client.post("/stethoscopes", data={"csrf": token},
                                               headers=french))  # fmt: skip
        await keep("forged", await client.post("/residents", data={"ref": "r"}, headers=french))
        fetch = {**french, "X-CSRF-Token": "wrong"}
        response = await client.post("/exams/x/stop", headers=fetch)
        pages["fetch"] = (response.status, (await response.json())["error"], "")
        await keep("static", await client.get("/static/nothing.js"))
        clock.now += 3601  # the tablet left open past its session
        await keep("ended", await client.post("/residents", data={"csrf": token}, headers=french))

    run(tmp_path, scenario)
    assert pages["missing"] == (404, "Cette page n&#39;existe pas.", "")
    assert pages["method"] == (405, "Cette page ne s&#39;utilise pas ainsi.", "GET,HEAD")
    expired = "Le formulaire a expiré ou vient d&#39;ailleurs : rechargez la page et renvoyez-le."
    assert pages["forged"] == (403, expired, "")
    assert pages["fetch"][:2] == (403, expired.replace("&#39;", "'"))
    assert pages["static"][0] == 404 and "error-message" not in pages["static"][1]
    assert pages["ended"] == (
        401,
        "Votre session est terminée : reconnectez-vous, puis renvoyez le formulaire.",
        "",
    )


def test_guessing_pins_is_throttled(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        for _ in range(5):
            assert await sign_in(client, "000000") == 401
        assert await sign_in(client) == 429  # even the right PIN waits now
        clock.now += 31
        assert await sign_in(client) == 303

    run(tmp_path, scenario)


def test_bad_input_is_a_readable_page_and_labels_stay_out_of_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        unknown = await client.post("/exams", data={"resident": "res-9", "protocol": "heart-4",
                                                     "csrf": token})  # fmt: skip
        said = "No resident has the reference res-9 on this Pi"  # and where to add them
        assert unknown.status == 409 and said in await unknown.text()
        bad_csv = "ref,label\nres-3,Room 3\nBad Ref,Room 4\n"
        form = {"csrf": token, "file": bad_csv}
        refused = await client.post("/residents/import", data=form)
        assert refused.status == 400 and "Line 3" in await refused.text()
        exam_form = {"resident": "res-1", "protocol": "heart-4", "csrf": token}
        good = await client.post("/exams", data=exam_form, allow_redirects=False)
        assert good.status == 303
        exam_page = await (await client.get(good.headers["Location"])).text()
        assert "Room 1 Mme Secret" in exam_page and 'data-site="aortic"' in exam_page

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario)
    assert "Mme Secret" not in caplog.text


def test_what_a_visitor_types_or_requests_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the sign-in name and the (percent-decoded) path went into the log raw, so a
    # newline in either wrote a line of the visitor's choosing, with no sign-in needed.
    forged = "x\nevent=signin staff=nurse-a"

    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")
        form = {"staff": forged, "secret": "000000", "csrf": token}
        assert (await client.post("/login", data=form)).status == 401
        assert (await client.post("/login%0Aevent=signin%20staff=nurse-a")).status == 403

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("edge_agent")]
    # The name as typed is no account's: only its length is logged (test_page_attacker.py).
    assert "event=signin_failed staff=unknown(28-chars) peer=127.0.0.1" in said
    assert 'event=csrf_refused path="/login\\nevent=signin staff=nurse-a"' in said
    assert not any("\n" in line for line in said)


def test_a_form_that_cannot_be_read_is_refused_not_a_server_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: aiohttp's ValueError escaped the CSRF check: 500 and a traceback in the log, for
    # anyone on the network (the sign-in form needs no session).
    statuses: list[int] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        for body, kind in [
            (b"staff=\xff&secret=\xfe", "application/x-www-form-urlencoded"),
            (b"--b\r\n\r\nno name\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        ]:
            refused = await client.post("/login", data=body, headers={"Content-Type": kind})
            statuses.append(refused.status)
            assert "could not be read" in await refused.text()
        assert await sign_in(client) == 303  # the page carries on
        token = await csrf_of(client, "/residents")
        by_script = {"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"}
        sent = await client.post("/residents", data=b"ref=\xff", headers=by_script)
        statuses.append(sent.status)

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario)
    assert statuses == [400, 400, 400]
    said = [r.getMessage() for r in caplog.records]
    assert said.count("event=form_unreadable path=/login error=UnicodeDecodeError") == 1
    assert "event=form_unreadable path=/login error=ValueError" in said
    assert not any(r.exc_info for r in caplog.records)


def test_a_form_over_the_size_limit_is_a_page_and_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: aiohttp's own plain text, "Maximum request body size 2097152 exceeded.", in
    # English whatever the nurse's language, and nothing in the log.
    pages: list[tuple[int, str]] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")
        big = urlencode({"staff": "x" * (MAX_BODY + 1), "secret": "y", "csrf": token})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        refused = await client.post("/login", data=io.BytesIO(big.encode()), headers=form)
        pages.append((refused.status, await refused.text()))
        assert await sign_in(client) == 303  # the page carries on
        token = await csrf_of(client, "/residents")
        csv = "ref,label\n" + "res-1,Room 1\n" * (MAX_BODY // 12)
        french = {"Accept-Language": "fr"}
        upload = {"csrf": token, "file": io.BytesIO(csv.encode())}
        refused = await client.post("/residents/import", data=upload, headers=french)
        pages.append((refused.status, await refused.text()))

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario)
    assert [status for status, _ in pages] == [413, 413]
    assert 'id="error-message">The form is larger than 2 MiB' in pages[0][1]
    assert 'id="error-message">Le formulaire dépasse 2 Mio' in pages[1][1]
    said = [r.getMessage() for r in caplog.records]
    assert "event=form_too_large path=/login" in said
    assert "event=form_too_large path=/residents/import" in said
    assert not any(r.exc_info for r in caplog.records)


def test_a_request_line_over_aiohttps_limit_is_a_400_and_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: aiohttp answered 400 but logged LineTooLong's traceback at ERROR, for anyone on
    # the care home's network. The page served as `serve` serves it, over a real socket.
    store, accounts = ExamStore(tmp_path / "exams.sqlite3"), Accounts(tmp_path / "web.sqlite3")
    env = templates()

    async def main() -> tuple[bytes, bytes]:
        service = ExamService(store, "home", "pi", ["steth-1"], _discard, 4.0)
        ctx = WebContext(service, accounts, SessionBook(3600), env, lambda: [], False)
        runner = app_runner(build_app(ctx), shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            long_line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: pi\r\n\r\n"
            return await exchange(port, long_line), await exchange(port, LOGIN_PAGE)
        finally:
            await runner.cleanup()

    try:
        with caplog.at_level(logging.INFO):
            refused, served = asyncio.run(main())
    finally:
        store.close()
        accounts.close()
    assert refused.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 "))
    assert served.startswith(b"HTTP/1.0 200 ")  # the page carries on
    said = [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")]
    assert said == ["event=http_refused status=400 error=LineTooLong"]
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


LOGIN_PAGE = b"GET /login HTTP/1.0\r\n\r\n"


def test_french_from_the_browser_and_the_switch(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        fr = await client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
        assert "Se connecter" in await fr.text()
        await client.get("/lang/en")
        en = await client.get("/login", headers={"Accept-Language": "fr-FR"})
        assert "Sign in" in await en.text()

    run(tmp_path, scenario)


def test_pairing_with_the_radio_off_is_a_readable_refusal(tmp_path: Path) -> None:
    from firmware_bridge.errors import AdapterUnavailableError

    async def no_adapter() -> list[object]:
        raise AdapterUnavailableError("powered-off", "the Bluetooth adapter is powered off")

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        ctx.scan = no_adapter  # type: ignore[assignment]
        ctx.pair = no_adapter  # type: ignore[assignment]  # never reached: the address is bad
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/stethoscopes")
        page = await client.post("/stethoscopes/scan", data={"csrf": token})
        assert page.status == 409 and "Bluetooth may be off" in await page.text()
        for address in ["x", "5E:7A:00:00:01:01\n"]:  # `$` also matched before a final \n
            form = {"csrf": token, "address": address}
            bad = await client.post("/stethoscopes/pair", data=form)
            assert bad.status == 409 and "not a Bluetooth address" in await bad.text()

    run(tmp_path, scenario)
