"""The doctor's console says when a recording is faint yet analysed (a stethoscope at low gain),
beside the recording, in English and French, with the band's level: turn the volume up to
listen. Recordings at the usual level, and those of agents that never send the key, say
nothing of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stetho_hub import wire
from stetho_hub.console.pages import faint
from stetho_hub.console.words import words
from stetho_hub.storage import Archive, AudioStore, open_database
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import Archived, console_running
from stetho_testkit.hub.factory import WireRecording, make_recording

SAID = {
    "en": "Faint recording (band at {db} dBFS, under the usual -65 dBFS; a stethoscope at low "
    "gain), clear enough for the analysis; turn the volume up to listen.",
    "fr": "Enregistrement faible (bande à {db} dBFS, sous les -65 dBFS habituels\u00a0; "
    "stéthoscope à gain bas), assez net pour l'analyse\u00a0; montez le volume pour l'écouter.",
}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Archived, WireRecording]]:
    with console_running(tmp_path) as running:
        quiet = make_recording(
            5, site="home-a", seconds=6.0, analysed=True, heart_bpm=72, quieter_db=50.0
        )
        db = open_database(running.target)
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        archive.store(wire.RecordingMeta(quiet.meta, quiet.meta_json))
        archive.store(wire.RecordingAudio(quiet.recording_id, "home-a", "steth-a", quiet.flac))
        db.close()
        yield running, quiet


def _faint_lines(page: str) -> list[tuple[str, str]]:
    found = re.findall(r'<p class="faint" data-dbfs="([^"]*)">([^<]*)</p>', page)
    return [(db, text.replace("&#x27;", "'")) for db, text in found]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_recording_says_it_is_faint(hub: tuple[Archived, WireRecording], lang: str) -> None:
    running, quiet = hub
    assert quiet.meta.analysis is not None
    level = quiet.meta.analysis.quality.faint_level_dbfs
    assert level is not None and -90.0 < level < -65.0
    assert quiet.meta.analysis.quality.acceptable
    doctor = Browser(running.url)
    doctor.get(f"/signin?lang={lang}")
    assert doctor.sign_in("dr-a") == 303
    status, body, _h = doctor.get(f"/recordings/{quiet.recording_id}")
    assert status == 200
    assert _faint_lines(body.decode()) == [(f"{level:g}", SAID[lang].format(db=f"{level:.0f}"))]


def test_at_the_usual_level_no_line(hub: tuple[Archived, WireRecording]) -> None:
    running, _quiet = hub
    doctor = Browser(running.url)
    assert doctor.sign_in("dr-a") == 303
    assert b"faint_level_dbfs" not in running.home_a.meta_json
    page = doctor.get(f"/recordings/{running.home_a.recording_id}")[1].decode()
    assert 'class="faint"' not in page and "dBFS" not in page


@pytest.mark.parametrize(
    ("quality", "said"),
    [
        ({"faint_level_dbfs": -74.94}, ("-74.94", "band at -75 dBFS")),
        ({"faint_level_dbfs": -70}, ("-70", "band at -70 dBFS")),
        ({"faint_level_dbfs": None}, None),
        ({}, None),
        (None, None),
        ({"faint_level_dbfs": "-70"}, None),  # never stored (refused on arrival)
        ({"faint_level_dbfs": True}, None),
    ],
)
def test_the_line_from_what_was_archived(
    quality: dict[str, object] | None, said: tuple[str, str] | None
) -> None:
    line = faint({"quality": quality}, words("en"))
    if said is None:
        assert line == ""
        return
    assert _faint_lines(line)[0][0] == said[0] and said[1] in line
