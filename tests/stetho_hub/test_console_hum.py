"""The doctor's console says when the analysis took mains hum out, beside the recording: on the
recording's page and in the exam view's site card, in English and French, with its frequency.
Recordings without hum, and those of agents that never send the key, say nothing of it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stetho_hub import wire
from stetho_hub.console.pages import mains_hum
from stetho_hub.console.words import words
from stetho_hub.storage import Archive, AudioStore, open_database
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import Archived, console_running, store_exam
from stetho_testkit.hub.factory import WireRecording, make_recording

EXAM = str(uuid.UUID(int=404, version=4))
SAID = {
    "en": "Mains hum at 50 Hz (a charger, a bed motor or a mains-powered device near the "
    "stethoscope) found and taken out before the analysis; the audio plays as recorded, hum "
    "included.",
    "fr": "Bourdonnement du secteur à 50 Hz (chargeur, moteur de lit ou appareil branché près "
    "du stéthoscope) trouvé et retiré avant l'analyse ; le son est joué tel qu'enregistré, "
    "bourdonnement compris.",
}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Archived, WireRecording]]:
    with console_running(tmp_path) as running:
        humming = make_recording(
            4, site="home-a", seconds=6.0, analysed=True, heart_bpm=72, mains_hum_hz=50.0
        )
        db = open_database(running.target)
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        archive.store(wire.RecordingMeta(humming.meta, humming.meta_json))
        archive.store(wire.RecordingAudio(humming.recording_id, "home-a", "steth-a", humming.flac))
        day = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
        store_exam(archive, EXAM, "home-a", day, (72, 78), 404, mains_hum_hz=50.0)
        db.close()
        yield running, humming


def _hum_lines(page: str) -> list[tuple[str, str]]:
    found = re.findall(r'<p class="mains-hum" data-hz="([^"]*)">([^<]*)</p>', page)
    return [(hz, text.replace("&#x27;", "'")) for hz, text in found]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_recording_says_hum_was_taken_out(
    hub: tuple[Archived, WireRecording], lang: str
) -> None:
    running, humming = hub
    assert humming.meta.analysis is not None
    assert humming.meta.analysis.quality.mains_hum_hz == [50.0]
    doctor = Browser(running.url)
    doctor.get(f"/signin?lang={lang}")
    assert doctor.sign_in("dr-a") == 303
    status, body, _h = doctor.get(f"/recordings/{humming.recording_id}")
    assert status == 200
    assert _hum_lines(body.decode()) == [("50", SAID[lang])]
    # The exam view: every counted recording of the exam hummed, each card says so.
    exam = doctor.get(f"/exams/{EXAM}")[1].decode()
    assert _hum_lines(exam) == [("50", SAID[lang])] * 2
    db = open_database(running.target)
    try:
        actions = {(row[1], row[2], row[4]) for row in audit_entries(db)}
    finally:
        db.close()
    assert ("dr-a", "view_recording", humming.recording_id) in actions  # audited as ever
    assert ("dr-a", "view_exam", EXAM) in actions


def test_no_hum_no_line_and_other_homes_stay_hidden(hub: tuple[Archived, WireRecording]) -> None:
    running, humming = hub
    doctor = Browser(running.url)
    assert doctor.sign_in("dr-a") == 303
    # An agent from before the key: its recording's JSON has none (home_a's, as archived).
    assert b"mains_hum_hz" not in running.home_a.meta_json
    plain = doctor.get(f"/recordings/{running.home_a.recording_id}")[1].decode()
    assert 'class="mains-hum"' not in plain and "hum" not in plain.lower()
    assert 'class="mains-hum"' not in doctor.get(f"/exams/{running.exam_a}")[1].decode()
    assert doctor.get(f"/recordings/{running.home_b.recording_id}")[0] == 404
    assert Browser(running.url).get(f"/recordings/{humming.recording_id}")[0] == 303  # sign in


@pytest.mark.parametrize(
    ("quality", "said"),
    [
        ({"mains_hum_hz": [49.98]}, ("49.98", "at 50 Hz (")),
        ({"mains_hum_hz": [50.0, 60.02]}, ("50 60.02", "at 50 Hz and 60 Hz (")),
        ({"mains_hum_hz": []}, None),
        ({}, None),
        (None, None),
        ({"mains_hum_hz": ["50", True, None]}, None),  # never stored (refused on arrival)
    ],
)
def test_the_line_from_what_was_archived(
    quality: dict[str, object] | None, said: tuple[str, str] | None
) -> None:
    line = mains_hum({"quality": quality}, words("en"))
    if said is None:
        assert line == ""
        return
    assert _hum_lines(line)[0][0] == said[0] and said[1] in line
    assert "à 50 Hz et 60 Hz (" in mains_hum({"quality": {"mains_hum_hz": [50, 60]}}, words("fr"))
