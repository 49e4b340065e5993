"""A triage flag's sentence in the reader's language, rebuilt from its code and numbers.

The analysis writes each flag's `reason` in English (stetho_signal._rules) and the wire carries
it unchanged; this module is the one place that says the same thing in French, for the nurse's
page and the doctor's console alike (both import edge_agent.wire). English is the wire's own
sentence. A code we do not know (a newer agent), or a flag without the details its sentence
needs (one archived from an older agent), falls back to that sentence: a reader gets English
rather than nothing or a wrong number.

The numbers come from the flag's `value`, `threshold` and `details` (the murmur's phase, the
snap's delay, the wheeze's pitch and whether someone spoke, how few beats an urgent rate stood
on or how much of its sounds' power lay above the heart's band, which measurement was not
possible:
stetho_signal.triage.FLAG_DETAILS); the age band from the message. The English sentence is
never read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from stetho_common.decimal_mark import digits_above, local_number

__all__ = ["FLAG_CODES", "flag_text", "flag_text_of"]


@dataclass(frozen=True)
class _Parts:
    value: float | None
    threshold: float | None
    age_band: str | None
    details: Mapping[str, object] = field(default_factory=dict)

    def number(self, key: str) -> float | None:
        x = self.details.get(key)
        if isinstance(x, bool) or not isinstance(x, int | float):
            return None
        return float(x) if math.isfinite(x) else None

    def word(self, key: str) -> str | None:
        x = self.details.get(key)
        return x if isinstance(x, str) else None


def _num(x: float, spec: str) -> str:
    """A number the French way: decimal comma (0,25 s; 1,6 fois)."""
    return local_number(x, "fr", spec)


def _above(value: float, threshold: float, digits: int) -> str:
    """`value`, flagged for being above `threshold`, never written as the threshold ("1,63
    fois (au-delà de 1,6)", not "1,6 fois")."""
    return _num(value, f".{digits_above(value, threshold, digits)}f")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}\u00a0%"  # French sets a (no-break) space before %


def _nums(p: _Parts) -> tuple[float, float] | None:
    value, threshold = p.value, p.threshold
    if value is None or threshold is None:
        return None
    return (value, threshold) if math.isfinite(value) and math.isfinite(threshold) else None


# The paediatric bands of stetho_signal.triage.AGE_BANDS, in French.
_YEARS: Final = {
    "under_1": "moins de 1 an", "1_to_2": "1 à 2 ans", "2_to_5": "2 à 5 ans",
    "5_to_12": "5 à 12 ans", "12_to_16": "12 à 16 ans",
}  # fmt: skip


def _urgent_why(age_band: str | None) -> str | None:
    if age_band is None or age_band == "adult":
        return "le score NEWS2 est de 3 : avis médical urgent"
    years = _YEARS.get(age_band)
    return (
        None if years is None else f"hors des valeurs pédiatriques de {years} : avis médical urgent"
    )


def _at_rest(age_band: str | None) -> str | None:
    if age_band is None or age_band == "adult":
        return "le score NEWS2 serait de 3"
    years = _YEARS.get(age_band)
    return None if years is None else f"elle serait hors des valeurs pédiatriques de {years}"


_RATE_LABEL: Final = {
    "heart": ("Fréquence cardiaque", "battements"),
    "respiratory": ("Fréquence respiratoire", "respirations"),
}
_RATE_SIDE: Final = {
    "very_low": "égale ou inférieure à", "very_high": "égale ou supérieure à",
    "low": "égale ou inférieure à", "high": "égale ou supérieure à",
}  # fmt: skip


_URGENT_SIDES: Final = ("very_low", "very_high")


def _rate(kind: str, side: str, p: _Parts) -> str | None:
    label, unit = _RATE_LABEL[kind]
    if (n := _nums(p)) is None:
        return None
    head = f"{label} {n[0]:.0f} {unit}/min, {_RATE_SIDE[side]} {n[1]:.0f}"
    if side not in _URGENT_SIDES:
        return f"{head} : un avis médical est conseillé."
    why = _urgent_why(p.age_band)
    return None if why is None else f"{head} ; {why}."


def _unconfirmed(side: str, p: _Parts) -> str | None:
    base = _rate("heart", side, p)
    if base is None:
        return None
    if (fast := _fast_unconfirmed(p, base)) is not None:
        return fast
    share, most = p.number("high_band_share"), p.number("max_high_band_share")
    if share is not None and most is not None:
        return (
            f"{base[:-1]}, mais {_pct(share)} de la puissance qu'ajoutent ses bruits se "
            f"situe entre 300 et 1000 Hz (plus de {_pct(most)}), où les bruits du cœur en "
            "ont peu, les crépitants et les bruits respiratoires beaucoup : ce ne sont "
            "peut-être pas des bruits du cœur ; un avis médical, compter le pouls et "
            "enregistrer à nouveau sur le cœur."
        )
    n, least = p.number("beat_intervals"), p.number("min_beat_intervals")
    if n is None or least is None:
        return None
    return (
        f"{base[:-1]}, mais mesurée sur seulement {_num(n, 'g')} intervalles entre "
        f"battements (moins de {_num(least, 'g')}) : un avis médical, et enregistrer à "
        "nouveau pour confirmer."
    )


def _fast_unconfirmed(p: _Parts, base: str) -> str | None:
    """A very high rate the recording does not bear out (stetho_signal._rules), or None."""
    repeat, least = p.number("envelope_repeat"), p.number("min_envelope_repeat")
    prominence, clear = p.number("sound_prominence"), p.number("min_sound_prominence")
    if repeat is not None and least is not None and prominence is not None and clear is not None:
        return (
            f"{base[:-1]}, mais l'enveloppe de ses bruits se répète à peine à cette fréquence "
            f"(autocorrélation {_num(repeat, '.2f')}, moins de {_num(least, '.2f')}) et ses "
            f"bruits ressortent à peine ({_num(prominence, '.1f')} fois le fond, moins de "
            f"{_num(clear, '.1f')}) : les battements sont peut-être des bruits respiratoires ou "
            "du bruit entre des bruits du cœur plus lents ; un avis médical, compter le pouls "
            "sur une minute."
        )
    share, most = p.number("high_band_share"), p.number("max_high_band_share")
    span, least_span = p.number("beat_span_share"), p.number("min_beat_span_share")
    if share is None or most is None or span is None or least_span is None:
        return _steps_between_beats(p, base)
    return (
        f"{base[:-1]}, mais {_pct(share)} de la puissance qu'ajoutent ses bruits se situe "
        f"entre 300 et 1000 Hz (plus de {_pct(most)}), où les bruits du cœur en ont peu et les "
        f"bruits respiratoires beaucoup, et ses battements ne couvrent que {_pct(span)} de "
        f"l'enregistrement (moins de {_pct(least_span)}) : ce sont peut-être des bruits "
        "respiratoires, entendus au rythme de la respiration ; un avis médical, compter le pouls "
        "et enregistrer à nouveau sur le cœur."
    )


def _steps_between_beats(p: _Parts, base: str) -> str | None:
    """A very high rate whose beats step up and down in level (stetho_signal._rules), or None."""
    step, most = p.number("beat_step"), p.number("max_beat_step")
    if step is None or most is None:
        return _faint_beats(p, base)
    try:
        times = math.exp(step)
    except OverflowError:  # a stored step is only known finite; none measured nears e**709
        return None
    return (
        f"{base[:-1]}, mais le niveau de ses battements monte et descend d'un battement à "
        f"l'autre (pas médian {_num(step, '.3f')} en logarithme népérien, "
        f"{_num(times, '.1f')} fois ; plus de {_num(most, '.3f')}), ce que ne font pas "
        "les battements d'un cœur : un battement sur deux est peut-être un bruit respiratoire "
        "ou du bruit entre des bruits du cœur plus lents ; un avis médical, compter le pouls "
        "sur une minute."
    )


def _faint_beats(p: _Parts, base: str) -> str | None:
    """A very high rate whose envelope repeats little and whose fainter beats barely stand
    above the sound between them (stetho_signal._rules), or None."""
    repeat, most = p.number("envelope_repeat"), p.number("max_envelope_repeat")
    prominence, least = p.number("beat_prominence"), p.number("min_beat_prominence")
    if repeat is None or most is None or prominence is None or least is None:
        return None
    return (
        f"{base[:-1]}, mais l'enveloppe de ses bruits se répète peu à cette fréquence "
        f"(autocorrélation {_num(repeat, '.3f')}, moins de {_num(most, '.2f')}) et un quart "
        f"de ses battements ressortent au plus de {_num(prominence, '.2f')} fois le bruit "
        f"entre eux (moins de {_num(least, '.1f')}) : les bruits du cœur ressortent à peine "
        "des bruits respiratoires, et la fréquence compte peut-être des bruits respiratoires "
        "ou du bruit entre des bruits du cœur plus lents ; un avis médical, compter le pouls "
        "sur une minute."
    )


def _during_auscultation(side: str, p: _Parts) -> str | None:
    n, at_rest = _nums(p), _at_rest(p.age_band)
    breaths, least = p.number("breaths"), p.number("min_breaths")
    if n is None or at_rest is None or (breaths is None) != (least is None):
        return None
    few = ""
    if breaths is not None and least is not None:
        few = f" sur seulement {_num(breaths, 'g')} respirations (moins de {_num(least, 'g')})"
    return (
        f"Fréquence respiratoire {n[0]:.0f} respirations/min, mesurée pendant "
        f"l'auscultation{few}, {_RATE_SIDE[side]} {n[1]:.0f} : au repos, {at_rest}, un avis "
        "médical urgent, mais la respiration profonde de l'auscultation n'est pas le repos ; "
        "compter la fréquence respiratoire au repos sur une minute."
    )


def _half_rate(p: _Parts) -> str | None:
    if (
        (n := _nums(p)) is None
        or (rate := p.number("rate_bpm")) is None
        or (ratio := p.number("s1_s2_level_ratio")) is None
        or (systole := p.number("systole_ms")) is None
        or (diastole := p.number("diastole_ms")) is None
    ):
        return None
    return (
        f"La fréquence cardiaque est peut-être le double de la valeur lue ({2 * rate:.0f} et "
        f"non {rate:.0f} battements/min) : ses bruits sont régulièrement espacés (B1-B2 "
        f"{systole:.0f} ms, B2-B1 {diastole:.0f} ms) et semblables (B1 {_num(ratio, '.2f')} "
        f"fois B2), une systole {_num(n[0], '.2f')} fois celle attendue à {rate:.0f}/min (au "
        f"moins {_num(n[1], '.2f')}) : un seul bruit par battement à {2 * rate:.0f}/min "
        "sonnerait de même ; un avis médical, compter le pouls sur une minute."
    )


def _short_clip(p: _Parts) -> str | None:
    rate = p.number("rate_bpm")
    if (
        (n := _nums(p)) is None
        or (rate is None and "rate_bpm" in p.details)  # sent, but not a number
        or (seen := p.number("slowest_seen_bpm")) is None
        or (urgent := p.number("urgent_low_bpm")) is None
    ):
        return None
    read = (
        "aucune fréquence n'a été lue, ce qui n'écarte pas un cœur lent"
        if rate is None
        else f"la fréquence lue, {rate:.0f}/min, peut être un multiple d'une fréquence plus lente"
    )
    return (
        f"Enregistrement de {_num(n[0], '.1f')} s : un cœur plus lent que {seen:.0f}/min peut "
        "ne pas y montrer les deux cycles entiers dont une fréquence se lit, et "
        f"{urgent:.0f}/min ou moins est urgent ; {read} : un avis médical, "
        f"enregistrer au moins {_num(n[1], '.1f')} s ou compter le pouls sur une minute."
    )


def _irregular(p: _Parts) -> str | None:
    if (n := _nums(p)) is None:
        return None
    return (
        f"Les intervalles entre battements varient de {_above(n[0], n[1], 2)} (RMSSD normalisé), "
        f"au-delà de {_num(n[1], '.2f')} : rythme irrégulier, envisager un ECG."
    )


_PHASE_FR: Final = {"systolic": ("systole", "diastole", "systolique"),
                    "diastolic": ("diastole", "systole", "diastolique")}  # fmt: skip


def _murmur(p: _Parts) -> str | None:
    phase_en = p.word("phase")
    if (n := _nums(p)) is None or phase_en not in _PHASE_FR:
        return None
    phase, other, adjective = _PHASE_FR[phase_en]
    return (
        f"Le son en {phase} est {_above(n[0], n[1], 1)} fois celui en {other} (au-delà de "
        f"{_num(n[1], '.1f')}) : souffle {adjective} possible, une piste pour écouter "
        "l'enregistrement, pas une constatation."
    )


def _snap(p: _Parts) -> str | None:
    delay = p.number("delay_ms")
    if (n := _nums(p)) is None or delay is None:
        return None
    return (
        f"Un second bruit {delay:.0f} ms après B2 dans {_pct(n[0])} des battements (au moins "
        f"{_pct(n[1])}) : claquement d'ouverture possible (rétrécissement mitral), ou B2 "
        "largement dédoublé ; une piste pour écouter au foyer mitral, pas une constatation."
    )


def _wheeze(p: _Parts) -> str | None:
    pitch = p.number("frequency_hz")
    if (n := _nums(p)) is None or pitch is None:
        return None
    text = (
        f"Son musical de {_num(n[0], '.2f')} s (au moins {_num(n[1], '.2f')} s) vers "
        f"{pitch:.0f} Hz : sibilant possible, écouter l'enregistrement."
    )
    if (voices := p.number("voice_sounds")) is not None:
        text += (
            f" Une voix a été entendue pendant l'enregistrement ({voices:.0f} sons de voix "
            "écartés) : vérifier que ce son n'est pas une voix."
        )
    return text


def _crackles(p: _Parts) -> str | None:
    if (n := _nums(p)) is None:
        return None
    return (
        f"{n[0]:.0f} sons brefs et explosifs (au moins {n[1]:.0f}) : crépitants possibles, "
        "écouter l'enregistrement et comparer aux précédents."
    )


# The quality problems of stetho_signal.quality.PROBLEM_TEXT: for the nurse, what to do next.
_QUALITY: Final = {
    "clipping": "son saturé : baisser le gain",
    "no_signal": "stéthoscope sans contact : aucun son enregistré, vérifier le contact et "
    "qu'il est allumé",
    "noise": "trop de bruit : garder le pavillon immobile sur la peau nue et faire le silence",
    "no_heartbeat": "pas de battement cardiaque net : stéthoscope sans contact ou loin du "
    "cœur, le déplacer",
    "handling": "le stéthoscope glisse ou appuie mal : tenir le pavillon immobile et ferme "
    "sur la peau nue",
    "breath_unheard": "respiration à peine audible sur le bruit de fond : faire respirer "
    "lentement et profondément bouche ouverte, et faire le silence",
    "background_noise": "bruit de fond assez fort pour cacher des crépitants : faire le "
    "silence (porte fermée, télévision, radio et conversations éteintes) et enregistrer à "
    "nouveau",
}


def _quality(problem: str, _p: _Parts) -> str | None:
    return _QUALITY[problem]


# Why a measurement was not possible (stetho_signal._notes.NOTE_CODES); {0}: the number it
# carries as `measured` (ms of sound, or beats/min).
_NOTES: Final = {
    "no_cycle": "enregistrement trop court ou trop irrégulier pour y trouver un battement qui se "
    "répète",
    "no_heart_sounds": "la fréquence cardiaque demande des bruits du cœur ; les sons trouvés "
    "durent {0} ms à mi-hauteur, bien plus que des bruits du cœur : respiration ou bruit, pas "
    "de battement",
    "no_heartbeat": "la fréquence cardiaque demande un battement qui se répète ; aucun dans cet "
    "enregistrement",
    "too_few_beats": "la fréquence cardiaque demande au moins deux battements ; "
    "l'enregistrement en a moins",
    "heart_rate_out_of_range": "fréquence cardiaque de {0} battements/min, hors de la plage "
    "mesurable de 30 à 220",
    "too_few_beats_for_rhythm": "le rythme demande au moins cinq battements consécutifs ; "
    "l'enregistrement en a moins",
    "no_whole_cycle": "la recherche d'un souffle demande un cycle entier (B1, B2 et le B1 suivant)",
    "clip_too_short_for_breaths": "la fréquence respiratoire demande au moins deux "
    "respirations ; l'enregistrement est trop court",
    "no_breathing": "aucun rythme respiratoire dans l'enregistrement",
    "no_repeating_breathing": "aucun rythme respiratoire qui se répète",
}


def _unmeasured(p: _Parts) -> str | None:
    french = _NOTES.get(p.word("note") or "")
    measured = p.number("measured")
    if measured is None:
        return None if french is None or "{0}" in french else french
    return None if french is None else french.format(f"{measured:.0f}")


# A table, not closures built by a function: each sentence's code runs when it is read (so
# mutation testing reaches it), and tests/edge_agent/test_flag_words_exact.py reads every entry.
_FRENCH: Final[dict[str, Callable[[_Parts], str | None]]] = {
    **{f"{kind}_rate_{side}": partial(_rate, kind, side)
       for kind in _RATE_LABEL for side in _RATE_SIDE},
    **{f"heart_rate_{side}_unconfirmed": partial(_unconfirmed, side) for side in _URGENT_SIDES},
    **{f"respiratory_rate_{side}_during_auscultation": partial(_during_auscultation, side)
       for side in _URGENT_SIDES},
    "heart_possible_half_rate": _half_rate, "heart_short_clip": _short_clip,
    "heart_irregular": _irregular,
    "heart_murmur": _murmur, "heart_opening_snap": _snap,
    "lung_wheeze": _wheeze, "lung_crackles": _crackles,
    "heart_unmeasured": _unmeasured, "lung_unmeasured": _unmeasured,
    **{f"quality_{problem}": partial(_quality, problem) for problem in _QUALITY},
}  # fmt: skip
FLAG_CODES: Final = frozenset(_FRENCH)
"""Every flag code with a French sentence (the test holds it to what the analysis emits)."""


def flag_text(
    code: str,
    reason: str,
    value: float | None,
    threshold: float | None,
    lang: str,
    age_band: str | None = None,
    details: Mapping[str, object] | None = None,
) -> str:
    """The flag's sentence in `lang` ("en" or "fr"); the wire's English `reason` otherwise."""
    render = _FRENCH.get(code) if lang == "fr" else None
    if render is None:
        return reason
    return render(_Parts(value, threshold, age_band, details or {})) or reason


def flag_text_of(flag: Mapping[str, object], lang: str, age_band: object = None) -> str:
    """The same for a flag as stored JSON (a wire Flag's dict); odd fields are ignored."""

    def number(name: str) -> float | None:
        x = flag.get(name)
        return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None

    band = age_band if isinstance(age_band, str) else None
    code, reason = str(flag.get("code") or ""), str(flag.get("reason") or flag.get("code") or "")
    details = flag.get("details")
    extra = details if isinstance(details, Mapping) else None
    return flag_text(code, reason, number("value"), number("threshold"), lang, band, extra)
