"""The console shows each flag's sentence in the doctor's language, from the one renderer."""

from __future__ import annotations

from typing import Any

from stetho_hub.console import pages
from stetho_hub.console.words import words
from stetho_hub.storage.views import HomeRow, InboxRow

MURMUR: dict[str, Any] = {
    "code": "heart_murmur", "value": 2.04, "threshold": 1.6,
    "reason": "Sound in systolic phase is 2.0 times that in diastole (above 1.6): possible "
    "systolic murmur, a hint to listen to the recording, not a finding.",
    "details": {"phase": "systolic"},
}  # fmt: skip
# Archived from an agent that sent no details: its English sentence is all there is.
OLD_MURMUR = {k: v for k, v in MURMUR.items() if k != "details"}
FAST: dict[str, Any] = {
    "code": "heart_rate_very_high", "value": 150.0, "threshold": 140.0,
    "reason": "Heart rate 150 beats/min is at or above 140; beyond the paediatric range for "
    "2 to 5 years: urgent clinical review.",
}  # fmt: skip
NEWER = {"code": "heart_stridor", "value": 1.0, "threshold": 0.5, "reason": "A newer flag."}


def _inbox(lang: str, flags: tuple[dict[str, Any], ...]) -> str:
    row = InboxRow(
        "a1", "r1", "home-a", "urgent", "2026-12-01T10:00:00", "res-1", "mitral", flags, True,
        age_band="2_to_5",
    )  # fmt: skip
    return pages.inbox([row], "dr-a", "token", lang, words(lang))


def test_the_french_inbox_says_why_in_french_with_the_age_band_and_numbers() -> None:
    page = _inbox("fr", (FAST, MURMUR, NEWER)).replace("&#x27;", "'")
    assert "Fréquence cardiaque 150 battements/min, égale ou supérieure à 140" in page
    assert "hors des valeurs pédiatriques de 2 à 5 ans" in page
    assert "Le son en systole est 2,0 fois celui en diastole (au-delà de 1,6)" in page
    assert "A newer flag." in page  # an unknown code: the agent's own sentence
    archived = _inbox("fr", (OLD_MURMUR,)).replace("&#x27;", "'")
    assert "Le son en systole" not in archived and "possible systolic murmur" in archived
    english = _inbox("en", (FAST, MURMUR, NEWER))
    assert FAST["reason"] in english and "A newer flag." in english


def test_a_french_recording_lists_flags_in_french_with_decimal_commas() -> None:
    meta = {"analysis": {"triage": {"level": "review", "flags": [MURMUR]}}}
    html = pages.findings(meta, words("fr"), "fr").replace("&#x27;", "'")
    assert "souffle systolique possible" in html and "mesuré 2,04×, seuil 1,6×" in html
    assert 'data-code="heart_murmur"' in html and "<strong>souffle</strong>\u00a0: " in html
    english = pages.findings(meta, words("en"), "en")
    assert "possible systolic murmur" in english and "measured 2.04×, threshold 1.6×" in english
    assert "<strong>murmur</strong>" in english  # the finding's name, not its code


def test_each_measured_value_and_threshold_carries_its_unit() -> None:
    # Before: a wheeze read "(mesuré 0,16, seuil 0,1)" after "0,16 s (au moins 0,10 s)", a
    # rate "(mesuré 134,1, seuil 131,0)": numbers without their unit.
    flags = [
        {"code": "lung_wheeze", "value": 0.16, "threshold": 0.1},
        {"code": "heart_rate_very_high", "value": 134.1, "threshold": 131.0},
        {"code": "respiratory_rate_high", "value": 22, "threshold": 21},
        {"code": "heart_opening_snap", "value": 0.4, "threshold": 0.3},
        {"code": "heart_possible_half_rate", "value": 1.734, "threshold": 1.5},
        {"code": "lung_crackles", "value": 4.0, "threshold": 3},  # a count: no unit
        {"code": "heart_short_clip", "value": 2.9, "threshold": 6.3},
    ]
    meta = {"analysis": {"triage": {"level": "review", "flags": flags}}}
    measured = [m.split("</span>")[0] for m in pages.findings(meta, words("fr"), "fr").split(
        '<span class="measured">')[1:]]  # fmt: skip
    assert measured == [
        "(mesuré 0,16\u00a0s, seuil 0,1\u00a0s)", "(mesuré 134,1/min, seuil 131,0/min)",
        "(mesuré 22/min, seuil 21/min)", "(mesuré 40\u00a0%, seuil 30\u00a0%)",
        "(mesuré 1,734×, seuil 1,5×)", "(mesuré 4,0, seuil 3)",
        "(mesuré 2,9\u00a0s, seuil 6,3\u00a0s)",
    ]  # fmt: skip
    english = pages.findings(meta, words("en"), "en")
    assert "(measured 0.16\u00a0s, threshold 0.1\u00a0s)" in english
    assert "(measured 40\u00a0%, threshold 30\u00a0%)" in english


def test_the_french_homes_page_words_the_outbox_alarm_in_french() -> None:
    alarm = {"alarm": "outbox at 93% of its quota"}
    home = HomeRow("home-a", (("pi-a", "online", None, alarm),), 3, 0, None)
    assert "file d'envoi à 93\u00a0% de son quota" in pages.homes(
        [home], "dr-a", "t", "fr", words("fr")
    ).replace("&#x27;", "'")
    assert "outbox at 93% of its quota" in pages.homes([home], "dr-a", "t", "en", words("en"))


def test_french_sets_the_findings_line_s_colon_and_semicolon_off_by_a_space() -> None:
    meta = {"analysis": {"heart": {"rate_bpm": 72.0},
                         "triage": {"level": "review", "flags": [MURMUR]}}}  # fmt: skip
    french = pages.findings(meta, words("fr"), "fr")
    assert "</strong>\u00a0; " in french and "</strong>\u00a0: " in french
    english = pages.findings(meta, words("en"), "en")
    assert "</strong>; " in english and "</strong>: " in english


def test_a_source_s_state_on_the_homes_page_takes_the_french_colon() -> None:
    # Before: "pi-a: en ligne", the one colon the French pages still wrote the English way.
    row = HomeRow("home-a", (("pi-a", "online", None, {}),), 1, 0, None)
    assert "pi-a\u00a0: en ligne</span>" in pages.homes([row], "dr-a", "t", "fr", words("fr"))
    assert "pi-a: online</span>" in pages.homes([row], "dr-a", "t", "en", words("en"))


def test_a_sources_battery_reads_with_its_percent_after_the_number() -> None:
    # Before: "batterie % 80" and "battery % 80".
    detail = {"battery_pct": 80, "receipts": {"awaiting": 2}}
    french = pages._source("steth-1", "online", None, detail, words("fr"), "fr").replace(
        "&#x27;", "'"
    )
    english = pages._source("steth-1", "online", None, detail, words("en"), "en")
    assert "batterie 80\u00a0%" in french and "en attente d'accusé de réception 2" in french
    assert "battery 80%" in english and "waiting for a receipt 2" in english
    assert "{value}" not in french + english


def test_a_homes_counts_read_right_for_one_recording_in_both_languages() -> None:
    # Before: "1 attendent leur son" and "1 recordings archived".
    for lang in ("fr", "en"):
        said = words(lang)["homes.counts"].format(archived=1, waiting=1, newest="-")
        assert said.startswith(("enregistrements archivés\u00a0: 1", "recordings archived: 1"))
