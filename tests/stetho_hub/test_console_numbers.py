"""Numbers and times on the console as the doctor writes them: a decimal comma in French, and a
recording's time as the inbox shows it (date, 24 h time, UTC), not the wire's ISO string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running


@pytest.mark.parametrize(("lang", "two_s", "six_s", "volume"), [
    ("en", "2.0 s", "6.0 s", "1.0×"), ("fr", "2,0 s", "6,0 s", "1,0×"),
])  # fmt: skip
def test_lengths_and_times_read_as_the_doctor_writes_them(
    tmp_path: Path, lang: str, two_s: str, six_s: str, volume: str
) -> None:
    # Before: "Durée 2.0 s", "· 6.0 s ·", "1.0×" on the French pages, and the recording page's
    # "enregistré le 2026-12-01T09:01:00Z" while the inbox said "2026-12-01 09:01:00 UTC".
    with console_running(tmp_path) as hub:
        doctor = Browser(hub.url)
        doctor.get(f"/signin?lang={lang}")
        assert doctor.sign_in("dr-a") == 303
        _s, body, _h = doctor.get(f"/recordings/{hub.home_a.recording_id}")
        recording = body.decode()
        _s, body, _h = doctor.get(f"/exams/{hub.exam_a}")
        exam = body.decode()
        homes = doctor.get("/homes")[1].decode()
    duration = re.search(r'<p id="duration"[^>]*>([^<]*)</p>', recording)
    assert duration and duration.group(1).endswith(f" {two_s}")
    assert "T09:01:00Z" not in recording and "2026-12-01 09:01:00 UTC" in recording
    assert exam.count(f" · {six_s} · ") == 4
    assert f'<output id="volume-value">{volume}</output>' in exam
    # The care homes' page said "since 2026-12-01 10:00:00" without the zone the inbox names.
    assert "2026-12-01 10:00:00 UTC" in homes and "2026-12-01 09:08:00 UTC" in homes


def test_a_requested_length_can_be_typed_with_a_decimal_mark_on_a_tablet(
    tmp_path: Path,
) -> None:
    # Before: the length's box said inputmode="numeric", so a tablet showed a keypad of digits
    # alone: "12,5", which the console reads since b0373f8, could not be typed on it.
    with console_running(tmp_path) as hub:
        doctor = Browser(hub.url)
        assert doctor.sign_in("dr-a") == 303
        pages = [doctor.get(f"/recordings/{hub.home_a.recording_id}")[1].decode(),
                 doctor.get(f"/exams/{hub.exam_a}")[1].decode()]  # fmt: skip
    for page in pages:
        (box,) = re.findall(r'<input name="duration"[^>]*>', page)
        assert 'inputmode="decimal"' in box, box
