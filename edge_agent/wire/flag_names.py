"""A triage flag's short name in the reader's language: what lists and hover titles show.

A flag's sentence (:mod:`edge_agent.wire.flag_words`) says what was measured and why it
matters; where a page lists several exams' findings side by side (a resident's earlier exams,
the timeline) that sentence is too long, and the code (``heart_murmur``) is not for a doctor to
read. A code we do not know (a newer agent) is shown as it came.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FLAG_NAMES", "flag_name"]

FLAG_NAMES: Final[dict[str, tuple[str, str]]] = {  # code: (English, French)
    "heart_irregular": ("irregular rhythm", "rythme irrégulier"),
    "heart_murmur": ("murmur", "souffle"),
    "heart_opening_snap": ("opening snap", "claquement d'ouverture"),
    "heart_possible_half_rate": ("rate may be twice", "fréquence peut-être double"),
    "heart_short_clip": ("clip too short for a slow heart", "enregistrement trop court"),
    "heart_rate_high": ("heart rate high", "fréquence cardiaque élevée"),
    "heart_rate_low": ("heart rate low", "fréquence cardiaque basse"),
    "heart_rate_very_high": ("heart rate very high", "fréquence cardiaque très élevée"),
    "heart_rate_very_high_unconfirmed": (
        "very high heart rate, unconfirmed",
        "fréquence cardiaque très élevée, non confirmée",
    ),
    "heart_rate_very_low": ("heart rate very low", "fréquence cardiaque très basse"),
    "heart_rate_very_low_unconfirmed": (
        "very low heart rate, unconfirmed",
        "fréquence cardiaque très basse, non confirmée",
    ),
    "heart_unmeasured": ("heart not measured", "cœur non mesuré"),
    "lung_crackles": ("crackles", "crépitants"),
    "lung_unmeasured": ("breathing not measured", "respiration non mesurée"),
    "lung_wheeze": ("wheeze", "sibilant"),
    "quality_background_noise": ("background noise", "bruit de fond"),
    "quality_breath_unheard": ("breath not heard", "respiration non entendue"),
    "quality_clipping": ("saturated", "son saturé"),
    "quality_handling": ("handling noise", "bruit de manipulation"),
    "quality_no_heartbeat": ("no heartbeat heard", "aucun battement entendu"),
    "quality_no_signal": ("no sound", "aucun son"),
    "quality_noise": ("noisy", "bruité"),
    "respiratory_rate_high": ("breathing rate high", "fréquence respiratoire élevée"),
    "respiratory_rate_low": ("breathing rate low", "fréquence respiratoire basse"),
    "respiratory_rate_very_high": (
        "breathing rate very high",
        "fréquence respiratoire très élevée",
    ),
    "respiratory_rate_very_high_during_auscultation": (
        "breathing rate very high while listened to",
        "fréquence respiratoire très élevée pendant l'auscultation",
    ),
    "respiratory_rate_very_low": ("breathing rate very low", "fréquence respiratoire très basse"),
    "respiratory_rate_very_low_during_auscultation": (
        "breathing rate very low while listened to",
        "fréquence respiratoire très basse pendant l'auscultation",
    ),
}


def flag_name(code: str, lang: str) -> str:
    """The short name of the flag `code` in `lang` ("fr", else English); an unknown code as is."""
    names = FLAG_NAMES.get(code)
    if names is None:
        return code
    return names[1] if lang == "fr" else names[0]
