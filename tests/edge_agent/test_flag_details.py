"""A flag's details travel as data: produced by the triage, carried by the wire, said in French.

Each code of stetho_signal.triage.FLAG_DETAILS is produced here by the real rules, goes through
`stetho analyze --json`'s dict into the wire model and back from JSON, and reads in French from
the details alone. Malformed details (not finite, unknown key, wrong word) are refused at the
wire edge; flags from older agents (no details) still validate and read in English.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from edge_agent.wire import messages
from edge_agent.wire.flag_words import flag_text, flag_text_of
from stetho_signal._notes import Note
from stetho_signal._rules import triage
from stetho_signal.heart import HeartResult
from stetho_signal.lung import LungResult
from stetho_signal.quality import Quality, QualityMeasures
from stetho_signal.triage import FLAG_DETAILS, Flag, TriageThresholds

GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))
HEART = HeartResult(
    150.0, (), (), 0.03, 2.04, "diastolic", 0.9, 3.0,
    (Note("heart_rate_out_of_range", "heart rate 250 bpm is outside the measurable 30-220 bpm",
          250),),
    beat_intervals=2, snap_fraction=0.8, snap_delay_s=0.072,
)  # fmt: skip
# Evenly spaced, alike sounds at 84/min: one sound per beat of a heart at 168/min would match.
EVEN = HeartResult(
    84.2, (), (), 0.03, 1.1, "systolic", 0.9, 3.0, (), beat_intervals=6,
    systole_s=0.36, diastole_s=0.363, s1_s2_level_ratio=1.016,
)  # fmt: skip
# A very slow read from sounds whose power lies mostly above the heart's band (crackles).
SLOW = HeartResult(
    30.0, (), (), 0.03, 1.1, "systolic", 0.9, 3.0, (), beat_intervals=6,
    sound_high_band_share=0.734,
)  # fmt: skip
# A normal rate read from a clip too short to see a slow heart.
SHORT = HeartResult(
    64.5, (), (), 0.03, 1.1, "systolic", 0.9, 3.0, (), beat_intervals=4, clip_s=3.0,
)  # fmt: skip
# A wheeze in the speaking range while someone spoke: the flag says a voice may be the wheeze.
LUNG = LungResult(
    31.0, True, ((0.1, 0.36),), 203.4, (), 0.3,
    (Note("no_breathing", "no breathing pattern in the recording"),), breaths=2.5,
    voice_sounds=9,
)  # fmt: skip
EXPECTED: dict[str, dict[str, float | str]] = {
    "heart_rate_very_high_unconfirmed": {"beat_intervals": 2.0, "min_beat_intervals": 4.0},
    "heart_rate_very_low_unconfirmed": {"high_band_share": 0.734, "max_high_band_share": 0.6},
    "heart_murmur": {"phase": "diastolic"},
    "heart_opening_snap": {"delay_ms": 72.0},
    "heart_unmeasured": {"note": "heart_rate_out_of_range", "measured": 250.0},
    "heart_possible_half_rate": {
        "rate_bpm": 84.2,
        "systole_ms": 360.0,
        "diastole_ms": 363.0,
        "s1_s2_level_ratio": 1.016,
    },
    "heart_short_clip": {"rate_bpm": 64.5, "slowest_seen_bpm": 63.0, "urgent_low_bpm": 40.0},
    "respiratory_rate_very_high_during_auscultation": {"breaths": 2.5, "min_breaths": 3.0},
    "lung_wheeze": {"frequency_hz": 203.0, "voice_sounds": 9.0},
    "lung_unmeasured": {"note": "no_breathing"},
}


def _flags() -> dict[str, Flag]:
    flags = triage(GOOD, HEART, LUNG, TriageThresholds(), "adult").flags
    flags += triage(GOOD, EVEN, None, TriageThresholds(), "adult").flags
    flags += triage(GOOD, SLOW, None, TriageThresholds(), "adult").flags
    flags += triage(GOOD, SHORT, None, TriageThresholds(), "adult").flags
    return {f.code: f for f in flags}


def _wire(flag: Flag) -> dict[str, Any]:
    out: dict[str, Any] = {"code": flag.code, "reason": flag.reason, "value": flag.value}
    out |= {"threshold": flag.threshold}
    return out | ({"details": dict(flag.details)} if flag.details else {})


def _triage_message(flags: list[dict[str, Any]]) -> messages.TriageMessage:
    return messages.TriageMessage.model_validate({
        "schema": "stetho.triage", "schema_version": 1, "recording_id": str(uuid.uuid4()),
        "site": "home-1", "device": "steth-1", "resident": "r-7", "auscultation_site": "apex",
        "kind": "heart", "recorded_at": datetime(2026, 12, 4, tzinfo=UTC).isoformat(),
        "level": "review", "flags": flags,
    })  # fmt: skip


def test_the_rules_produce_the_details_of_each_code_that_has_them() -> None:
    flags = _flags()
    assert {code: flags[code].details for code in EXPECTED} == EXPECTED
    # Every code whose details the table declares is covered here (the old respiratory
    # "unconfirmed" codes are no longer emitted and carry none).
    covered = set(EXPECTED) | {"respiratory_rate_very_low_during_auscultation"}
    assert covered == set(FLAG_DETAILS)


def test_details_survive_the_analysis_dict_and_the_wire_round_trip() -> None:
    wire = [_wire(f) for f in _flags().values()]
    message = _triage_message(wire)
    back = json.loads(messages.to_json(message))
    by_code = {f["code"]: f for f in back["flags"]}
    for code, details in EXPECTED.items():
        assert by_code[code]["details"] == details
    again = messages.TriageMessage.model_validate_json(messages.to_json(message))
    assert again == message


def test_a_flag_without_details_is_sent_as_version_1_readers_know_it() -> None:
    old = {"code": "heart_rate_high", "reason": "Heart rate 120.", "value": 120.0,
           "threshold": 111.0}  # fmt: skip
    message = _triage_message([old])
    assert message.flags[0].details == {}
    (sent,) = json.loads(messages.to_json(message))["flags"]
    assert sent == old  # no "details" key at all


@pytest.mark.parametrize(
    ("code", "details", "why"),
    [
        ("heart_opening_snap", {"delay_ms": float("nan")}, "finite"),
        ("heart_opening_snap", {"delay_ms": float("inf")}, "finite"),
        ("lung_wheeze", {"frequency_hz": True}, "valid number|finite number"),
        ("lung_wheeze", {"pitch_hz": 400.0}, "no detail 'pitch_hz'"),
        ("heart_murmur", {"phase": "mid"}, "one of"),
        ("heart_murmur", {"phase": 1.0}, "one of"),
        ("heart_unmeasured", {"note": "made_up"}, "one of"),
        ("heart_rate_high", {"Bad Key": 1.0}, "lower-case name"),
        ("heart_rate_high", {"n": "x" * 41}, "at most 40"),
    ],
)
def test_malformed_details_are_refused_at_the_wire_edge(
    code: str, details: dict[str, object], why: str
) -> None:
    flag = {"code": code, "reason": "x", "value": 1.0, "threshold": 1.0, "details": details}
    with pytest.raises(ValidationError, match=why):
        _triage_message([flag])
    with pytest.raises(ValueError, match=why):  # the analysis's own value object too
        Flag(code, "x", 1.0, 1.0, details)  # type: ignore[arg-type]


def test_nan_in_json_details_is_refused() -> None:
    payload = (
        '{"code": "heart_opening_snap", "reason": "x", "value": 0.8, "threshold": 0.75, '
        '"details": {"delay_ms": NaN}}'
    )
    with pytest.raises(ValidationError, match="finite"):
        messages.Flag.model_validate_json(payload)


def test_french_reads_the_details_never_the_sentence() -> None:
    for code, flag in _flags().items():
        if code not in EXPECTED:
            continue
        reworded = dataclasses.replace(flag, reason="Reworded by a newer agent.")
        french = flag_text_of(_wire(reworded), "fr", "adult")
        assert french != reworded.reason, code
    flags = _flags()
    murmur = flag_text_of(_wire(flags["heart_murmur"]), "fr")
    assert "souffle diastolique possible" in murmur
    assert "72 ms après B2" in flag_text_of(_wire(flags["heart_opening_snap"]), "fr")
    wheeze = flag_text_of(_wire(flags["lung_wheeze"]), "fr")
    assert "vers 203 Hz" in wheeze
    assert "Une voix a été entendue pendant l'enregistrement (9 sons de voix écartés)" in wheeze
    fast = flag_text_of(_wire(flags["heart_rate_very_high_unconfirmed"]), "fr")
    assert "seulement 2 intervalles entre battements (moins de 4)" in fast
    slow = flag_text_of(_wire(flags["heart_rate_very_low_unconfirmed"]), "fr")
    assert "mais 73\u00a0% de la puissance" in slow and "(plus de 60\u00a0%)" in slow
    half_rate = flag_text_of(_wire(flags["heart_possible_half_rate"]), "fr")
    assert half_rate == (
        "La fréquence cardiaque est peut-être le double de la valeur lue (168 et non 84 "
        "battements/min) : ses bruits sont régulièrement espacés (B1-B2 360 ms, B2-B1 363 ms) "
        "et semblables (B1 1,02 fois B2), une systole 1,12 fois celle attendue à 84/min (au "
        "moins 1,00) : un seul bruit par battement à 168/min sonnerait de même ; un avis "
        "médical, compter le pouls sur une minute."
    )
    unmeasured = flag_text_of(_wire(flags["heart_unmeasured"]), "fr")
    assert unmeasured == (
        "fréquence cardiaque de 250 battements/min, hors de la plage mesurable de 30 à 220"
    )
    breathing = flag_text_of(_wire(flags["respiratory_rate_very_high_during_auscultation"]), "fr")
    assert breathing == (
        "Fréquence respiratoire 31 respirations/min, mesurée pendant l'auscultation sur "
        "seulement 2,5 respirations (moins de 3), égale ou supérieure à 25 : au repos, le score "
        "NEWS2 serait de 3, un avis médical urgent, mais la respiration profonde de "
        "l'auscultation n'est pas le repos ; compter la fréquence respiratoire au repos sur une "
        "minute."
    )


def test_a_childs_breathing_rate_reads_in_the_childs_band() -> None:
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=44.0, breaths=10.0)
    t = TriageThresholds().for_age_band("2_to_5")
    flag = next(f for f in triage(GOOD, None, lung, t, "2_to_5").flags if f.value == 44.0)
    french = flag_text_of(_wire(flag), "fr", "2_to_5")
    assert french.startswith("Fréquence respiratoire 44 respirations/min, mesurée pendant")
    assert "au repos, elle serait hors des valeurs pédiatriques de 2 à 5 ans" in french


def test_an_archived_flag_without_its_details_reads_in_english() -> None:
    # A breathing rate from enough breaths needs no details; every other code here does.
    for code in set(EXPECTED) - {"respiratory_rate_very_high_during_auscultation"}:
        reason = f"An older agent's sentence for {code}."
        assert flag_text(code, reason, 2.0, 1.0, "fr", "adult") == reason
    half = {"breaths": 2.5}  # one of a pair: not enough to say it
    code = "respiratory_rate_very_high_during_auscultation"
    assert flag_text(code, "As sent.", 31.0, 25.0, "fr", None, half) == "As sent."


def test_a_fast_rate_the_recording_does_not_bear_out_sends_what_it_measured() -> None:
    """The three reasons a very high rate is unconfirmed (stetho_signal._rules._fast_unconfirmed)
    travel as details through the wire and read in French from them."""
    bursts = dataclasses.replace(HEART, beat_intervals=13, envelope_repeat=-0.087)
    breath = dataclasses.replace(
        HEART, beat_intervals=41, sound_high_band_share=0.77, beat_span_share=0.625
    )
    steps = dataclasses.replace(HEART, beat_intervals=34, beat_step=0.916)
    flags = [
        next(f for f in triage(GOOD, h, None, TriageThresholds()).flags if f.value == 150.0)
        for h in (bursts, breath, steps)
    ]
    assert [f.code for f in flags] == ["heart_rate_very_high_unconfirmed"] * 3
    assert flags[0].details == {
        "envelope_repeat": -0.087, "min_envelope_repeat": 0.1,
        "sound_prominence": 3.0, "min_sound_prominence": 3.5,
    }  # fmt: skip
    assert flags[1].details == {
        "high_band_share": 0.77, "max_high_band_share": 0.6,
        "beat_span_share": 0.625, "min_beat_span_share": 0.7,
    }  # fmt: skip
    back = json.loads(messages.to_json(_triage_message([_wire(f) for f in flags])))
    assert [f["details"] for f in back["flags"]] == [f.details for f in flags]
    assert flags[2].details == {"beat_step": 0.916, "max_beat_step": 0.795}
    bursts_fr, breath_fr, steps_fr = (flag_text_of(f, "fr", "adult") for f in back["flags"])
    assert "(pas médian 0,916 en logarithme népérien, 2,5 fois ; plus de 0,795)" in steps_fr
    assert "(autocorrélation -0,09, moins de 0,10)" in bursts_fr
    assert "ressortent à peine (3,0 fois le fond, moins de 3,5)" in bursts_fr
    assert "ne couvrent que 62\u00a0% de l'enregistrement (moins de 70\u00a0%)" in breath_fr
