"""The doctor's console over HTTP: sign-in, CSRF, care-home isolation, audit, headers."""

from __future__ import annotations

import logging
import socket
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from stetho_common.favicon import FAVICON_SVG
from stetho_hub.storage import open_database
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import PASSWORD, Archived, console_running
from stetho_testkit.hub.factory import make_recording


@pytest.fixture
def hub(tmp_path: Path) -> Archived:
    with console_running(tmp_path) as running:
        yield running  # type: ignore[misc]


def test_pages_need_a_sign_in_and_the_form_needs_its_csrf_token(hub: Archived) -> None:
    browser = Browser(hub.url)
    status, _body, headers = browser.get("/")
    assert status == 303 and headers["Location"] == "/signin"
    status, _b, _h = browser.get(f"/recordings/{hub.home_a.recording_id}/audio")
    assert status == 303
    browser.csrf("/signin")
    status, _b, _h = browser.post("/signin", {"username": "dr-a", "password": PASSWORD})
    assert status == 403
    assert browser.sign_in("dr-a", "wrong password!") == 401
    assert browser.sign_in("dr-a") == 303
    cookie = next(iter(browser.jar))
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "Strict"
    status, _b, _h = browser.post("/signout", {})
    assert status == 403  # no CSRF token: still signed in
    assert browser.get("/")[0] == 200


def test_the_icon_needs_no_sign_in_and_every_page_links_it(hub: Archived) -> None:
    # Before: a browser's own /favicon.ico was a 303 to the sign-in page, then a 404 once
    # signed in: noise in its console on every page.
    browser = Browser(hub.url)
    for path in ("/favicon.ico", "/static/favicon.svg"):
        status, body, headers = browser.get(path)
        assert status == 200 and headers["Content-Type"] == "image/svg+xml", path
        assert body.startswith(b"<svg") and len(body) < 1024
    assert body == FAVICON_SVG  # the nurses' page's too (tests/test_favicon.py)
    link = b'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    assert link in browser.get("/signin")[1]
    assert browser.sign_in("dr-a") == 303
    assert link in browser.get("/")[1]
    assert browser.get("/favicon.ico")[0] == 200


def test_a_form_that_cannot_be_read_is_refused_not_a_server_error(
    hub: Archived, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: aiohttp's ValueError made the sign-in a 500 with a traceback in the hub's log.
    browser = Browser(hub.url)
    browser.csrf("/signin")
    for body, kind in [
        (b"username=\xff&password=\xfe", "application/x-www-form-urlencoded"),
        (b"--b\r\n\r\nno name\r\n--b--\r\n", "multipart/form-data; boundary=b"),
    ]:
        request = urllib.request.Request(  # noqa: S310 - loopback http
            hub.url + "/signin", data=body, method="POST", headers={"Content-Type": kind}
        )
        status, page, _h = browser._open(request)
        assert status == 400 and b"The form could not be read" in page
    assert browser.sign_in("dr-a") == 303  # the console carries on
    said = [r.getMessage() for r in caplog.records]
    assert "event=form_unreadable path=/signin error=UnicodeDecodeError" in said
    assert not any(r.exc_info for r in caplog.records)


def test_a_request_line_over_aiohttps_limit_is_a_400_and_one_line(
    hub: Archived, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: aiohttp answered 400 but logged LineTooLong's traceback at ERROR on the hub.
    address = urllib.parse.urlsplit(hub.url)
    long_line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: hub\r\n\r\n"
    with (
        caplog.at_level(logging.INFO),
        socket.create_connection((address.hostname, address.port), 10) as raw,
    ):
        raw.sendall(long_line)
        answer = b"".join(iter(lambda: raw.recv(65536), b""))
    assert answer.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 "))
    assert Browser(hub.url).get("/signin")[0] == 200  # the console carries on
    said = [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")]
    assert said == ["event=http_refused status=400 error=LineTooLong"]
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_doctor_sees_only_assigned_care_homes_by_page_and_by_audio(hub: Archived) -> None:
    browser = Browser(hub.url)
    assert browser.sign_in("dr-a") == 303
    status, body, headers = browser.get("/")
    assert status == 200 and hub.home_a.recording_id.encode() in body
    assert hub.home_b.recording_id.encode() not in body and b"home-b" not in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for path in ("", "/audio"):
        assert browser.get(f"/recordings/{hub.home_b.recording_id}{path}")[0] == 404
    status, body, _h = browser.get(f"/recordings/{hub.home_a.recording_id}")
    assert status == 200 and b"Decision support" in body and b'id="level"' in body
    status, png, headers = browser.get(f"/recordings/{hub.home_a.recording_id}/picture.png")
    assert status == 200 and png.startswith(b"\x89PNG") and headers["Content-Type"] == "image/png"
    assert browser.get(f"/recordings/{hub.home_b.recording_id}/picture.png")[0] == 404
    status, flac, headers = browser.get(f"/recordings/{hub.home_a.recording_id}/audio")
    assert status == 200 and flac == hub.home_a.flac and headers["Content-Type"] == "audio/flac"
    assert (
        b'id="earlier"' in body and make_recording(8, site="home-a").recording_id.encode() in body
    )
    status, body, _h = browser.get("/homes")
    assert status == 200 and b"home-a" in body and b"home-b" not in body
    assert b"pi-a: online" in body and b"outbox 91 % full" in body
    assert b"/audit.csv" not in body  # a doctor is offered no link she would be refused
    assert browser.get("/audit.csv")[0] == 403
    db = open_database(hub.target)
    try:
        actions = [(row[1], row[2], row[4]) for row in audit_entries(db)]
    finally:
        db.close()
    rid = hub.home_a.recording_id
    for expected in [("dr-a", "listen", rid), ("dr-a", "view_recording", rid),
                     ("dr-a", "view_picture", rid),
                     ("dr-a", "view_inbox", ""), ("dr-a", "signin", "")]:  # fmt: skip
        assert expected in actions
    assert not any(target == hub.home_b.recording_id for _u, _a, target in actions)


def test_an_administrator_sees_every_care_home_and_exports_the_audit_log(hub: Archived) -> None:
    browser = Browser(hub.url)
    assert browser.sign_in("admin") == 303
    _status, body, _h = browser.get("/")
    assert hub.home_a.recording_id.encode() in body and hub.home_b.recording_id.encode() in body
    # Before: no page linked to the export; she had to know its address.
    _status, body, _h = browser.get("/homes?lang=fr")
    assert (
        '<a id="audit" href="/audit.csv" download>Télécharger le journal d\'audit (CSV)\u00a0: '
        "qui a vu ou fait quoi, et quand</a>"
    ).encode() in body
    status, csv_bytes, headers = browser.get("/audit.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    lines = csv_bytes.decode().splitlines()
    assert lines[0] == "at,user,action,care_home,target,client"
    assert any(",admin,signin," in line for line in lines)


def test_the_care_homes_page_shows_the_fhir_exports_failures(tmp_path: Path) -> None:
    import time as _time

    from stetho_hub.fhir.queue import FhirQueue

    path = tmp_path / "fhir-queue.sqlite3"
    queue = FhirQueue(path)
    try:
        queue.enqueue("exam-1", b'{"resourceType":"Bundle"}', _time.time())
        item = queue.next_due(_time.time() + 1)
        assert item is not None
        queue.mark_failed(item, _time.time(), "503 from the FHIR server", retry=True)
    finally:
        queue.close()
    with console_running(tmp_path, fhir_queue=path) as running:
        admin = Browser(running.url)
        assert admin.sign_in("admin") == 303
        status, body, _h = admin.get("/homes")
    assert status == 200
    assert b"Hospital record (FHIR)" in body and b"failing: 1;" in body
    assert b"503 from the FHIR server" in body


def test_the_care_homes_page_lists_the_latest_exams_a_doctor_may_open(hub: Archived) -> None:
    # Before: a routine exam raised no alert and no page linked it: the doctor could not find
    # it, and the nurse's page waited for her answer.
    from stetho_testkit.hub.console import EXAM_A, EXAM_A_BEFORE, EXAM_B

    doctor, admin = Browser(hub.url), Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303 and admin.sign_in("admin") == 303
    body = doctor.get("/homes")[1].decode()
    listed = body.split('id="latest-exams">')[1].split("</div>")[0]
    assert listed.index(f'href="/exams/{EXAM_A}"') < listed.index(f'href="/exams/{EXAM_A_BEFORE}"')
    assert EXAM_B not in body  # another home's exam is not even named
    assert (
        f'<li><a href="/exams/{EXAM_A}">2026-12-01 08:00:00 UTC</a> · home-a · res-1 · '
        'Heart (4 points) · finished · <span class="review">no answer yet</span></li>'
    ) in listed
    assert f'href="/exams/{EXAM_B}"' in admin.get("/homes?lang=fr")[1].decode()
    assert "Derniers examens" in admin.get("/homes")[1].decode()  # the language kept
