"""Every POST route of the doctor's console, sent forms no page of ours sends: fields missing,
of the wrong kind, NaN or infinite durations, huge, not UTF-8, or with a wrong CSRF token. Each
answer is a refusal in the doctor's language (a 4xx), never a 500: nothing is sent."""

from __future__ import annotations

import re
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

from edge_agent.transport.settings import broker_from_url, broker_settings
from stetho_hub.console.app import make_app
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running

HUGE = "x" * 15_000  # four such fields stay under the console's 64 KiB body limit: each is read
# No broker listens here: a form that got past its checks would answer 503, not 4xx.
NOWHERE = broker_settings(broker_from_url("mqtt://127.0.0.1:1"), None)


class Doctor(Browser):
    def send(self, path: str, body: bytes, lang: str) -> tuple[int, str]:
        headers = {"Accept-Language": lang, "Content-Type": "application/x-www-form-urlencoded"}
        url = self.base + path
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
        status, page, _headers = self._open(request)
        found = re.search(rb'<p class="error" role="alert">([^<]*)</p>', page)
        return status, found.group(1).decode() if found else ""


def _forms(csrf: str) -> dict[str, bytes]:
    forms: dict[str, dict[str, str]] = {
        "missing": {"csrf": csrf},
        "wrong kinds": {"csrf": csrf, "disposition": "7", "auscultation_site": "elbow",
                        "duration": "ten"},
        "nan": {"csrf": csrf, "auscultation_site": "aortic", "duration": "nan"},
        "infinite": {"csrf": csrf, "auscultation_site": "aortic", "duration": "1e309"},
        "negative": {"csrf": csrf, "auscultation_site": "aortic", "duration": "-5"},
        "huge": {"csrf": csrf, "disposition": HUGE, "note": HUGE, "auscultation_site": HUGE,
                 "duration": HUGE},
        "long note": {"csrf": csrf, "disposition": "no-action", "note": "n" * 1001},
        "over the limit": {"csrf": csrf, "note": "n" * 70_000},  # refused whole: 413
        "wrong csrf": {"csrf": "forged", "disposition": "no-action"},
    }  # fmt: skip
    encoded = {name: urlencode(form).encode() for name, form in forms.items()}
    encoded["not utf-8"] = b"csrf=" + csrf.encode() + b"&disposition=\xff&note=\xfe"
    return encoded


def test_the_routes_here_are_every_post_route_of_the_console(tmp_path: Path) -> None:
    from stetho_hub.console.app import ConsoleSettings
    from stetho_hub.storage import DatabaseTarget, open_database

    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    db = open_database(target, migrating=True)
    try:
        app = make_app(ConsoleSettings(target, tmp_path, "127.0.0.1", 0), db)
        posted = {r.resource.canonical for r in app.router.routes() if r.method == "POST"}
    finally:
        db.close()
    assert posted == {
        "/signin", "/signout", "/recordings/{recording_id}/decision",
        "/recordings/{recording_id}/request", "/exams/{exam_id}/decision",
        "/exams/{exam_id}/request",
    }  # fmt: skip


def test_every_malformed_form_is_refused_in_the_doctors_language(tmp_path: Path) -> None:
    answers: dict[tuple[str, str, str], tuple[int, str]] = {}
    with console_running(tmp_path, NOWHERE) as hub:
        doctor = Doctor(hub.url)
        assert doctor.sign_in("dr-a") == 303
        recording = f"/recordings/{hub.home_a.recording_id}"
        csrf = doctor.csrf(recording)
        routes = [
            f"{recording}/decision", f"{recording}/request", f"/exams/{hub.exam_a}/decision",
            f"/exams/{hub.exam_a}/request", f"/recordings/{uuid.uuid4()}/decision",
            "/exams/not-an-id/request", "/signin",
        ]  # fmt: skip
        for route in routes:
            for name, body in _forms(csrf).items():
                for lang in ("fr", "en"):
                    answers[(route, name, lang)] = doctor.send(route, body, lang)
        for lang in ("fr", "en"):
            forged = urlencode({"csrf": "forged", "note": HUGE}).encode()
            answers[("/signout", "wrong csrf", lang)] = doctor.send("/signout", forged, lang)
        junk = urlencode({"csrf": csrf, "note": HUGE}).encode()
        assert doctor.send("/signout", junk, "fr")[0] == 303  # it reads no field: signed out
    for (route, name, lang), (status, said) in answers.items():
        if lang == "fr":
            where = f"{route} {name}: {status} {said!r}"
            assert 400 <= status < 500, where
            assert (status == 413) is (name == "over the limit"), where  # the rest are read
            assert said and said != answers[(route, name, "en")][1], f"{where} is not French"
