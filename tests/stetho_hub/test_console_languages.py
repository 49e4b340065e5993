"""Every console page in English and in French, refusals included, by one word table."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import free_port
from edge_agent.transport.settings import broker_from_url, broker_settings
from stetho_hub.console import words as words_module
from stetho_hub.console.words import words
from stetho_hub.fhir.queue import FhirQueue
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import Archived, console_running


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Archived]:
    queue = FhirQueue(tmp_path / "fhir.sqlite3")
    queue.enqueue("exam-1", b"{}", time.time())
    queue.close()
    # A broker nobody listens on: forms get past "no broker" to their own checks.
    publish = broker_settings(broker_from_url(f"mqtt://127.0.0.1:{free_port()}"), None)
    with console_running(tmp_path, publish, tmp_path / "fhir.sqlite3") as running:
        yield running


def test_both_catalogues_name_the_same_words() -> None:
    assert words_module._EN.keys() == words_module._FR.keys()


def _pages(hub: Archived) -> list[str]:
    return [
        "/",
        f"/recordings/{hub.home_a.recording_id}",
        "/homes",
        f"/exams/{hub.exam_a}",
        "/live/home-a/steth-a",
    ]


# A few words each page must say in each language (beyond the header's).
EXPECTED = {
    "en": ("Alerts", "Length", "Hospital record (FHIR)", "Earlier exams", "Listen"),
    "fr": ("Alertes", "Durée", "Dossier hospitalier (FHIR)", "Examens précédents",
           "Écouter"),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_speaks_the_chosen_language(hub: Archived, lang: str) -> None:
    w = words(lang)
    doctor = Browser(hub.url)
    status, body, _h = doctor.get(f"/signin?lang={lang}")
    assert status == 200 and f'<html lang="{lang}">' in body.decode()
    assert w["signin.password"] in body.decode()
    assert doctor.sign_in("dr-a") == 303
    for path, expected in zip(_pages(hub), EXPECTED[lang], strict=True):
        status, body, _h = doctor.get(path)  # the switch's cookie carries the choice
        page = body.decode()
        assert status == 200, (path, page[:300])
        assert f'<html lang="{lang}">' in page and w["nav.inbox"] in page, path
        assert expected in page, (path, expected)
    recording = doctor.get(f"/recordings/{hub.home_a.recording_id}")[1].decode()
    for key in ("decision.note", "request.at", "disposition.urgent-visit-today", "rec.findings"):
        assert w[key].replace("'", "&#x27;") in recording or w[key] in recording, key
    # The picture's words follow the page's (its URL names the language: a cache keys on it).
    rid = hub.home_a.recording_id
    assert f'src="/recordings/{rid}/picture.png?lang={lang}"' in recording
    status, png, headers = doctor.get(f"/recordings/{rid}/picture.png?lang={lang}")
    assert status == 200 and png.startswith(b"\x89PNG") and headers["Content-Language"] == lang
    exam = doctor.get(f"/exams/{hub.exam_a}")[1].decode()
    assert f"({w['exam.state.done']})" in exam
    # The protocol as the nurse's page names it (was "heart-4" in the heading and the list).
    heart_4 = w["protocol.heart-4"].format(n=4)
    assert f"<h1>{w['exam']} · {heart_4} <small>" in exam and f"</a> {heart_4} · " in exam
    assert f'/picture.png?lang={lang}"' in exam
    # The exam's hearts beat at 133-136/min: the flag reads in the page's language, numbers in.
    said = {"en": "beats/min is at or above 131", "fr": "battements/min, égale ou supérieure à 131"}
    assert said[lang] in exam.replace("&#x27;", "'"), exam
    live = doctor.get("/live/home-a/steth-a")[1].decode()
    assert w["live.heard"] in live.replace("&#x27;", "'")  # live.js fills it in
    homes = doctor.get("/homes")[1].decode()
    alarm = w["detail.alarm"].removesuffix("{value}")  # "alarme " then the alarm's words
    assert f"pi-a{w['colon']} {w['state.online']}" in homes and alarm in homes


def test_accept_language_picks_french_and_the_switch_overrides_it(hub: Archived) -> None:
    doctor = Browser(hub.url)
    doctor.opener.addheaders = [("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")]
    assert '<html lang="fr">' in doctor.get("/signin")[1].decode()
    doctor.sign_in("dr-a")
    assert "Les plus urgentes d'abord" in doctor.get("/")[1].decode().replace("&#x27;", "'")
    assert '<html lang="en">' in doctor.get("/?lang=en")[1].decode()
    assert '<html lang="en">' in doctor.get("/homes")[1].decode()  # remembered


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_refusals_are_pages_in_the_reader_s_language(hub: Archived, lang: str) -> None:
    w = words(lang)
    doctor = Browser(hub.url)
    doctor.get(f"/signin?lang={lang}")
    doctor.sign_in("dr-a")
    status, body, _h = doctor.get("/no/such/page")
    assert status == 404 and w["status.404"] in body.decode() and 'id="refused"' in body.decode()
    status, body, _h = doctor.get(f"/recordings/{hub.home_b.recording_id}")  # another home's
    assert status == 404 and w["error.no_recording"].replace("'", "&#x27;") in body.decode()
    status, body, _h = doctor.get(f"/exams/{hub.exam_b}")
    assert status == 404 and w["status.404"] in body.decode()
    rec = f"/recordings/{hub.home_a.recording_id}"
    status, body, _h = doctor.post(f"{rec}/decision", {"disposition": "no-action"})  # no token
    assert status == 403 and w["status.403"] in body.decode()
    token = doctor.csrf(rec)
    status, body, _h = doctor.post(f"{rec}/decision", {"csrf": token, "disposition": "maybe"})
    page = body.decode().replace("&#x27;", "'")
    assert status == 400 and w["decision.choose_decision"] in page
    status, body, _h = doctor.post(
        f"{rec}/request", {"csrf": token, "auscultation_site": "aortic", "duration": "999"}
    )
    assert status == 400 and w["decision.duration_range"].format(limit=120) in body.decode()
    status, body, _h = doctor.get("/audit.csv")  # a doctor is not an administrator
    assert status == 403 and w["error.admin_only"] in body.decode()
    wrong = Browser(hub.url)
    token = wrong.csrf(f"/signin?lang={lang}")
    status, body, _h = wrong.post("/signin", {"csrf": token, "username": "x", "password": "y"})
    assert status == 401 and w["signin.wrong"].replace("'", "&#x27;") in body.decode()
