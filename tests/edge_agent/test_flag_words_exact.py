"""Each flag's French sentence, whole, for given numbers: what the doctor and the nurse read.

test_flag_words checks every code the analysis emits reads in French; here each sentence is
pinned word for word, with a value and a bound that differ (a swapped number shows), decimals
that need a comma, every age band, both murmur phases, every quality problem and note; and
flags missing part of their numbers or details fall back to the wire's English sentence
rather than a sentence with a hole in it.
"""

from __future__ import annotations

import math

import pytest

from edge_agent.wire.flag_words import flag_text, flag_text_of

WIRE = "The wire's own sentence."  # what a reader gets when the French cannot be built


def fr(code: str, value: float | None, threshold: float | None, band: str | None = None,
       **details: object) -> str:  # fmt: skip
    return flag_text(code, WIRE, value, threshold, "fr", band, details)


# ---- rates: the number, its side of the bound, and why it matters


@pytest.mark.parametrize(
    ("code", "value", "bound", "french"),
    [
        ("heart_rate_high", 120.4, 111.0,
         "Fréquence cardiaque 120 battements/min, égale ou supérieure à 111 : un avis médical "
         "est conseillé."),
        ("heart_rate_low", 49.6, 50.0,
         "Fréquence cardiaque 50 battements/min, égale ou inférieure à 50 : un avis médical "
         "est conseillé."),
        ("respiratory_rate_high", 22.0, 21.0,
         "Fréquence respiratoire 22 respirations/min, égale ou supérieure à 21 : un avis "
         "médical est conseillé."),
        ("respiratory_rate_low", 10.0, 11.0,
         "Fréquence respiratoire 10 respirations/min, égale ou inférieure à 11 : un avis "
         "médical est conseillé."),
        ("heart_rate_very_high", 150.0, 131.0,
         "Fréquence cardiaque 150 battements/min, égale ou supérieure à 131 ; le score NEWS2 "
         "est de 3 : avis médical urgent."),
        ("heart_rate_very_low", 38.0, 40.0,
         "Fréquence cardiaque 38 battements/min, égale ou inférieure à 40 ; le score NEWS2 "
         "est de 3 : avis médical urgent."),
    ],
)  # fmt: skip
def test_a_rate_reads_with_its_number_and_bound(
    code: str, value: float, bound: float, french: str
) -> None:
    assert fr(code, value, bound) == french
    assert fr(code, value, bound, "adult") == french


@pytest.mark.parametrize(
    ("band", "years"),
    [("under_1", "moins de 1 an"), ("1_to_2", "1 à 2 ans"), ("2_to_5", "2 à 5 ans"),
     ("5_to_12", "5 à 12 ans"), ("12_to_16", "12 à 16 ans")],
)  # fmt: skip
def test_an_urgent_child_rate_names_its_age_band(band: str, years: str) -> None:
    assert fr("heart_rate_very_high", 150.0, 140.0, band) == (
        "Fréquence cardiaque 150 battements/min, égale ou supérieure à 140 ; hors des valeurs "
        f"pédiatriques de {years} : avis médical urgent."
    )


def test_a_breathing_rate_heard_during_auscultation_says_rest_is_not_that() -> None:
    assert fr("respiratory_rate_very_high_during_auscultation", 27.0, 25.0) == (
        "Fréquence respiratoire 27 respirations/min, mesurée pendant l'auscultation, égale ou "
        "supérieure à 25 : au repos, le score NEWS2 serait de 3, un avis médical urgent, mais "
        "la respiration profonde de l'auscultation n'est pas le repos ; compter la fréquence "
        "respiratoire au repos sur une minute."
    )
    few = fr("respiratory_rate_very_low_during_auscultation", 7.0, 8.0, "1_to_2",
             breaths=1.5, min_breaths=3.0)  # fmt: skip
    assert few == (
        "Fréquence respiratoire 7 respirations/min, mesurée pendant l'auscultation sur "
        "seulement 1,5 respirations (moins de 3), égale ou inférieure à 8 : au repos, elle "
        "serait hors des valeurs pédiatriques de 1 à 2 ans, un avis médical urgent, mais la "
        "respiration profonde de l'auscultation n'est pas le repos ; compter la fréquence "
        "respiratoire au repos sur une minute."
    )


# ---- an urgent heart rate the recording does not bear out

FAST = "Fréquence cardiaque 200 battements/min, égale ou supérieure à 131"


def test_an_unconfirmed_rate_on_few_beats() -> None:
    text = fr("heart_rate_very_low_unconfirmed", 35.0, 40.0, "5_to_12",
              beat_intervals=2.0, min_beat_intervals=4.0)  # fmt: skip
    assert text == (
        "Fréquence cardiaque 35 battements/min, égale ou inférieure à 40 ; hors des valeurs "
        "pédiatriques de 5 à 12 ans : avis médical urgent, mais mesurée sur seulement 2 "
        "intervalles entre battements (moins de 4) : un avis médical, et enregistrer à nouveau "
        "pour confirmer."
    )


def test_an_unconfirmed_rate_from_sounds_above_the_hearts_band() -> None:
    text = fr("heart_rate_very_low_unconfirmed", 30.0, 40.0,
              high_band_share=0.764, max_high_band_share=0.6)  # fmt: skip
    assert text == (
        "Fréquence cardiaque 30 battements/min, égale ou inférieure à 40 ; le score NEWS2 est "
        "de 3 : avis médical urgent, mais 76\u00a0% de la puissance qu'ajoutent ses bruits se "
        "situe entre 300 et 1000 Hz (plus de 60\u00a0%), où les bruits du cœur en ont peu, les "
        "crépitants et les bruits respiratoires beaucoup : ce ne sont peut-être pas des bruits "
        "du cœur ; un avis médical, compter le pouls et enregistrer à nouveau sur le cœur."
    )


def test_a_fast_rate_whose_sounds_neither_repeat_nor_stand_out() -> None:
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, envelope_repeat=-0.094,
              min_envelope_repeat=0.1, sound_prominence=3.04, min_sound_prominence=3.5)  # fmt: skip
    assert text == (
        f"{FAST} ; le score NEWS2 est de 3 : avis médical urgent, mais l'enveloppe de ses "
        "bruits se répète à peine à cette fréquence (autocorrélation -0,09, moins de 0,10) et "
        "ses bruits ressortent à peine (3,0 fois le fond, moins de 3,5) : les battements sont "
        "peut-être des bruits respiratoires ou du bruit entre des bruits du cœur plus lents ; "
        "un avis médical, compter le pouls sur une minute."
    )


def test_a_fast_rate_heard_in_the_breath_band_over_part_of_the_recording() -> None:
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, high_band_share=0.77,
              max_high_band_share=0.6, beat_span_share=0.62, min_beat_span_share=0.8)  # fmt: skip
    assert text == (
        f"{FAST} ; le score NEWS2 est de 3 : avis médical urgent, mais 77\u00a0% de la "
        "puissance qu'ajoutent ses bruits se situe entre 300 et 1000 Hz (plus de 60\u00a0%), "
        "où les bruits du cœur en ont peu et les bruits respiratoires beaucoup, et ses "
        "battements ne couvrent que 62\u00a0% de l'enregistrement (moins de 80\u00a0%) : ce "
        "sont peut-être des bruits respiratoires, entendus au rythme de la respiration ; un "
        "avis médical, compter le pouls et enregistrer à nouveau sur le cœur."
    )


def test_a_fast_rate_in_the_breath_band_without_its_span_bound() -> None:
    # The span is only evidence against its bound: without it, the band alone is read.
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, high_band_share=0.77,
              max_high_band_share=0.6, beat_span_share=0.62)  # fmt: skip
    assert text.endswith(
        "mais 77\u00a0% de la puissance qu'ajoutent ses bruits se situe entre 300 et 1000 Hz "
        "(plus de 60\u00a0%), où les bruits du cœur en ont peu, les crépitants et les bruits "
        "respiratoires beaucoup : ce ne sont peut-être pas des bruits du cœur ; un avis "
        "médical, compter le pouls et enregistrer à nouveau sur le cœur."
    )


def test_a_fast_rate_whose_beats_step_up_and_down() -> None:
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0,
              beat_step=0.85, max_beat_step=0.795)  # fmt: skip
    assert text == (
        f"{FAST} ; le score NEWS2 est de 3 : avis médical urgent, mais le niveau de ses "
        "battements monte et descend d'un battement à l'autre (pas médian 0,850 en logarithme "
        "népérien, 2,3 fois ; plus de 0,795), ce que ne font pas les battements d'un cœur : un "
        "battement sur deux est peut-être un bruit respiratoire ou du bruit entre des bruits "
        "du cœur plus lents ; un avis médical, compter le pouls sur une minute."
    )


def test_a_fast_rate_whose_faint_beats_barely_stand_above_the_breath() -> None:
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, envelope_repeat=0.181,
              max_envelope_repeat=0.2, beat_prominence=3.14, min_beat_prominence=4.0)  # fmt: skip
    assert text == (
        f"{FAST} ; le score NEWS2 est de 3 : avis médical urgent, mais l'enveloppe de ses "
        "bruits se répète peu à cette fréquence (autocorrélation 0,181, moins de 0,20) et un "
        "quart de ses battements ressortent au plus de 3,14 fois le bruit entre eux (moins de "
        "4,0) : les bruits du cœur ressortent à peine des bruits respiratoires, et la "
        "fréquence compte peut-être des bruits respiratoires ou du bruit entre des bruits du "
        "cœur plus lents ; un avis médical, compter le pouls sur une minute."
    )


FEW = {"beat_intervals": 2.0, "min_beat_intervals": 4.0}  # the sentence left when others lack


@pytest.mark.parametrize(
    "part",
    [
        {"envelope_repeat": -0.09},
        {"min_envelope_repeat": 0.1},
        {"sound_prominence": 3.0, "min_sound_prominence": 3.5},
        {"min_sound_prominence": 3.5},
        {"envelope_repeat": -0.09, "min_envelope_repeat": 0.1, "sound_prominence": 3.0},
        {"high_band_share": 0.77, "beat_span_share": 0.62, "min_beat_span_share": 0.8},
        {"max_high_band_share": 0.6, "beat_span_share": 0.62, "min_beat_span_share": 0.8},
        {"beat_span_share": 0.62, "min_beat_span_share": 0.8},
        {"min_beat_span_share": 0.8},
        {"beat_step": 0.85},
        {"max_beat_step": 0.795},
        {"beat_prominence": 3.14, "min_beat_prominence": 4.0},
        {"envelope_repeat": 0.181, "max_envelope_repeat": 0.2, "beat_prominence": 3.14},
        {"max_envelope_repeat": 0.2, "beat_prominence": 3.14, "min_beat_prominence": 4.0},
        {"envelope_repeat": 0.181, "max_envelope_repeat": 0.2, "min_beat_prominence": 4.0},
    ],
)
def test_part_of_the_evidence_is_not_read_as_the_whole(part: dict[str, float]) -> None:
    # An older agent's or a damaged flag: the sentence its complete details allow, no other.
    text = fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, **FEW, **part)
    assert text.endswith(
        "mais mesurée sur seulement 2 intervalles entre battements (moins de 4) : un avis "
        "médical, et enregistrer à nouveau pour confirmer."
    )


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"beat_intervals": 2.0},
        {"min_beat_intervals": 4.0},
        {"high_band_share": 0.76},
        {"max_high_band_share": 0.6},
        {"beat_step": 0.85},
        {"beat_intervals": math.inf, "min_beat_intervals": 4.0},
    ],
)
def test_an_unconfirmed_rate_without_its_evidence_reads_as_sent(
    details: dict[str, float],
) -> None:
    assert fr("heart_rate_very_high_unconfirmed", 200.0, 131.0, **details) == WIRE


# ---- the heart's and the lungs' other findings


def test_a_rate_that_may_be_half() -> None:
    text = fr("heart_possible_half_rate", 1.234, 1.2, rate_bpm=80.0, s1_s2_level_ratio=1.054,
              systole_ms=361.0, diastole_ms=372.0)  # fmt: skip
    assert text == (
        "La fréquence cardiaque est peut-être le double de la valeur lue (160 et non 80 "
        "battements/min) : ses bruits sont régulièrement espacés (B1-B2 361 ms, B2-B1 372 ms) "
        "et semblables (B1 1,05 fois B2), une systole 1,23 fois celle attendue à 80/min (au "
        "moins 1,20) : un seul bruit par battement à 160/min sonnerait de même ; un avis "
        "médical, compter le pouls sur une minute."
    )


def test_a_clip_too_short_to_see_a_slow_heart() -> None:
    text = fr("heart_short_clip", 5.0, 6.3, rate_bpm=62.5, slowest_seen_bpm=38.0,
              urgent_low_bpm=40.0)  # fmt: skip
    assert text == (
        "Enregistrement de 5,0 s : un cœur plus lent que 38/min peut ne pas y montrer les deux "
        "cycles entiers dont une fréquence se lit, et 40/min ou moins est urgent ; la fréquence "
        "lue, 62/min, peut être un multiple d'une fréquence plus lente : un avis médical, "
        "enregistrer au moins 6,3 s ou compter le pouls sur une minute."
    )


def test_a_short_clip_with_no_rate_read() -> None:
    text = fr("heart_short_clip", 4.0, 6.3, slowest_seen_bpm=48.0, urgent_low_bpm=40.0)
    assert text == (
        "Enregistrement de 4,0 s : un cœur plus lent que 48/min peut ne pas y montrer les deux "
        "cycles entiers dont une fréquence se lit, et 40/min ou moins est urgent ; aucune "
        "fréquence n'a été lue, ce qui n'écarte pas un cœur lent : un avis médical, enregistrer "
        "au moins 6,3 s ou compter le pouls sur une minute."
    )


@pytest.mark.parametrize("missing", ["slowest_seen_bpm", "urgent_low_bpm"])
def test_a_short_clip_without_one_of_its_numbers_reads_as_sent(missing: str) -> None:
    details = {"rate_bpm": 64.5, "slowest_seen_bpm": 37.0, "urgent_low_bpm": 40.0}
    del details[missing]
    assert fr("heart_short_clip", 2.9, 3.5, **details) == WIRE
    del details["rate_bpm"]
    assert fr("heart_short_clip", 2.9, 3.5, **details) == WIRE
    assert fr("heart_short_clip", None, 3.5, rate_bpm=64.5) == WIRE


@pytest.mark.parametrize("rate", ["64", None, True, float("nan")])
def test_a_short_clip_whose_rate_is_not_a_number_reads_as_sent(rate: object) -> None:
    # Sent but unreadable is not "no rate read": the sentence would say what was not measured.
    assert fr("heart_short_clip", 2.9, 6.3, rate_bpm=rate, slowest_seen_bpm=66.0,
              urgent_low_bpm=40.0) == WIRE  # fmt: skip


def test_an_irregular_rhythm() -> None:
    assert fr("heart_irregular", 0.234, 0.1) == (
        "Les intervalles entre battements varient de 0,23 (RMSSD normalisé), au-delà de 0,10 : "
        "rythme irrégulier, envisager un ECG."
    )


@pytest.mark.parametrize(
    ("phase", "words"),
    [("systolic", "systole est 2,0 fois celui en diastole (au-delà de 1,6) : souffle "
                  "systolique"),
     ("diastolic", "diastole est 2,0 fois celui en systole (au-delà de 1,6) : souffle "
                   "diastolique")],
)  # fmt: skip
def test_a_murmur_names_its_phase(phase: str, words: str) -> None:
    assert fr("heart_murmur", 2.04, 1.6, phase=phase) == (
        f"Le son en {words} possible, une piste pour écouter l'enregistrement, pas une "
        "constatation."
    )


def test_an_opening_snap() -> None:
    assert fr("heart_opening_snap", 0.8, 0.5, delay_ms=72.4) == (
        "Un second bruit 72 ms après B2 dans 80\u00a0% des battements (au moins 50\u00a0%) : "
        "claquement d'ouverture possible (rétrécissement mitral), ou B2 largement dédoublé ; "
        "une piste pour écouter au foyer mitral, pas une constatation."
    )


def test_a_wheeze_with_and_without_a_voice_heard() -> None:
    alone = (
        "Son musical de 0,26 s (au moins 0,25 s) vers 412 Hz : sibilant possible, écouter "
        "l'enregistrement."
    )
    assert fr("lung_wheeze", 0.257, 0.25, frequency_hz=412.3) == alone
    assert fr("lung_wheeze", 0.257, 0.25, frequency_hz=412.3, voice_sounds=3.0) == (
        f"{alone} Une voix a été entendue pendant l'enregistrement (3 sons de voix écartés) : "
        "vérifier que ce son n'est pas une voix."
    )


def test_crackles() -> None:
    assert fr("lung_crackles", 7.0, 3.0) == (
        "7 sons brefs et explosifs (au moins 3) : crépitants possibles, écouter "
        "l'enregistrement et comparer aux précédents."
    )


@pytest.mark.parametrize(
    ("code", "value", "bound", "details"),
    [
        ("heart_rate_high", 120.0, None, {}),  # a value without its bound
        ("heart_rate_high", math.inf, 111.0, {}),
        ("heart_rate_high", 120.0, math.nan, {}),
        ("heart_rate_very_high", 150.0, 131.0, {}),  # fine: the control
        ("respiratory_rate_very_high_during_auscultation", None, 25.0, {}),
        ("respiratory_rate_very_high_during_auscultation", 27.0, 25.0, {"breaths": 1.5}),
        ("respiratory_rate_very_high_during_auscultation", 27.0, 25.0, {"min_breaths": 3.0}),
        ("heart_murmur", 2.04, 1.6, {"phase": ["systolic"]}),  # not a word
        ("heart_murmur", 2.04, 1.6, {"phase": "mid"}),
        ("lung_wheeze", 0.257, 0.25, {"frequency_hz": math.inf}),
        ("lung_wheeze", 0.257, 0.25, {"frequency_hz": True}),  # a flag, not a number
    ],
)
def test_a_flag_missing_what_its_sentence_needs_reads_as_sent(
    code: str, value: float | None, bound: float | None, details: dict[str, object]
) -> None:
    text = fr(code, value, bound, **details)
    assert (text != WIRE) == (code == "heart_rate_very_high"), text


def test_a_breathing_rate_in_an_unknown_age_band_reads_as_sent() -> None:
    assert fr("respiratory_rate_very_high_during_auscultation", 27.0, 25.0, "elder") == WIRE


# ---- quality and what could not be measured


@pytest.mark.parametrize(
    ("problem", "french"),
    [
        ("clipping", "son saturé : baisser le gain"),
        ("no_signal", "stéthoscope sans contact : aucun son enregistré, vérifier le contact et "
                      "qu'il est allumé"),
        ("noise", "trop de bruit : garder le pavillon immobile sur la peau nue et faire le "
                  "silence"),
        ("no_heartbeat", "pas de battement cardiaque net : stéthoscope sans contact ou loin du "
                         "cœur, le déplacer"),
        ("handling", "le stéthoscope glisse ou appuie mal : tenir le pavillon immobile et ferme "
                     "sur la peau nue"),
        ("breath_unheard", "respiration à peine audible sur le bruit de fond : faire respirer "
                           "lentement et profondément bouche ouverte, et faire le silence"),
        ("background_noise", "bruit de fond assez fort pour cacher des crépitants : faire le "
                             "silence (porte fermée, télévision, radio et conversations "
                             "éteintes) et enregistrer à nouveau"),
    ],
)  # fmt: skip
def test_each_quality_problem_says_what_to_do(problem: str, french: str) -> None:
    assert fr(f"quality_{problem}", None, None) == french


def test_a_measurement_not_made_says_why_with_its_number() -> None:
    assert fr("heart_unmeasured", None, None, note="heart_rate_out_of_range", measured=241.6) == (
        "fréquence cardiaque de 242 battements/min, hors de la plage mesurable de 30 à 220"
    )
    assert fr("lung_unmeasured", None, None, note="no_breathing") == (
        "aucun rythme respiratoire dans l'enregistrement"
    )
    assert fr("lung_unmeasured", None, None, note="no_breathing", measured=3.0) == (
        "aucun rythme respiratoire dans l'enregistrement"
    )
    # A sentence that needs its number, without it; a note we do not know; none at all.
    assert fr("heart_unmeasured", None, None, note="no_heart_sounds") == WIRE
    assert fr("heart_unmeasured", None, None, note="no_gallop", measured=3.0) == WIRE
    assert fr("heart_unmeasured", None, None, note="no_gallop") == WIRE
    assert fr("heart_unmeasured", None, None) == WIRE


# ---- a flag as stored JSON


def test_a_stored_flag_with_odd_fields() -> None:
    fast = {"code": "heart_rate_very_high", "value": 150, "threshold": 131, "reason": WIRE}
    news2 = (
        "Fréquence cardiaque 150 battements/min, égale ou supérieure à 131 ; le score NEWS2 "
        "est de 3 : avis médical urgent."
    )
    assert flag_text_of(fast, "fr") == news2
    assert flag_text_of(fast, "fr", 5) == news2  # an age band that is not a word: adult
    assert flag_text_of({**fast, "details": "junk"}, "fr") == news2
    murmur = {"code": "heart_murmur", "value": 2.04, "threshold": 1.6, "reason": WIRE}
    assert flag_text_of({**murmur, "details": "systolic"}, "fr") == WIRE  # not a mapping
    assert flag_text_of({**fast, "value": True}, "fr") == WIRE  # a flag, not a number
    assert flag_text_of({}, "fr") == ""  # nothing to show, not a made-up word
    assert flag_text_of({"code": "heart_stridor"}, "fr") == "heart_stridor"
