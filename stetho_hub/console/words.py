"""The exam view's and live page's words in English and French.

The language comes from `?lang=` or the browser's Accept-Language, picked by the nurse's page's
own rule (edge_agent.web.i18n.pick_language), which also names the auscultation sites in French.
"""

from __future__ import annotations

from typing import Final

from edge_agent.web.i18n import CATALOGUES, pick_language

__all__ = ["pick_language", "words"]

_EN: Final[dict[str, str]] = {
    "exam": "Exam",
    "care_home": "Care home",
    "resident": "resident",
    "opened": "opened",
    "reason": "Reason",
    "state": "state",
    "player": "Listening",
    "volume": "Volume",
    "band": "Band",
    "band.off": "as recorded",
    "band.heart": "heart",
    "band.lung": "lung",
    "counted": "Counted recording",
    "rerecords": "Also recorded here (not counted)",
    "not_recorded": "Not recorded yet.",
    "not_arrived": "Recorded; the recording has not reached the hub yet.",
    "no_audio": "The audio has not arrived yet.",
    "no_analysis": "No analysis",
    "triage": "Triage",
    "heart_rate": "heart rate",
    "breathing_rate": "breathing rate",
    "measured": "measured",
    "threshold": "threshold",
    "no_finding": "No finding.",
    "support": "Decision support, not a diagnosis.",
    "picture": "waveform with S1/S2, wheezes and crackles marked; spectrogram; reasons",
    "earlier": "Earlier exams of this resident",
    "no_earlier": "No other exam of this resident.",
    "timeline": "Timeline",
    "timeline.heart": "heart /min",
    "timeline.breaths": "breaths /min",
    "timeline.flags": "findings",
    "open_recording": "recording page",
    "live": "Listen live",
    "live.title": "Live",
    "live.start": "Start listening",
    "live.stop": "Stop",
    "live.idle": "Not listening.",
    "live.hint": "The stethoscope streams while you listen; the care home sees the request.",
    "this_exam": "this exam",
    "level.urgent": "urgent",
    "level.review": "review",
    "level.routine": "routine",
    "site.pending": "to record",
    "site.rerecord": "to record again",
    "site.done": "recorded",
}

_FR: Final[dict[str, str]] = {
    "exam": "Examen",
    "care_home": "Établissement",
    "resident": "résident",
    "opened": "ouvert le",
    "reason": "Motif",
    "state": "état",
    "player": "Écoute",
    "volume": "Volume",
    "band": "Bande",
    "band.off": "telle qu'enregistrée",
    "band.heart": "cœur",
    "band.lung": "poumon",
    "counted": "Enregistrement retenu",
    "rerecords": "Aussi enregistré ici (non retenu)",
    "not_recorded": "Pas encore enregistré.",
    "not_arrived": "Enregistré ; l'enregistrement n'est pas encore arrivé au hub.",
    "no_audio": "Le son n'est pas encore arrivé.",
    "no_analysis": "Pas d'analyse",
    "triage": "Tri",
    "heart_rate": "fréquence cardiaque",
    "breathing_rate": "fréquence respiratoire",
    "measured": "mesuré",
    "threshold": "seuil",
    "no_finding": "Aucune anomalie relevée.",
    "support": "Aide à la décision, pas un diagnostic.",
    "picture": "onde avec B1/B2, sibilants et crépitants marqués ; spectrogramme ; raisons",
    "earlier": "Examens précédents de ce résident",
    "no_earlier": "Aucun autre examen de ce résident.",
    "timeline": "Évolution",
    "timeline.heart": "cœur /min",
    "timeline.breaths": "respiration /min",
    "timeline.flags": "anomalies",
    "open_recording": "page de l'enregistrement",
    "live": "Écouter en direct",
    "live.title": "En direct",
    "live.start": "Écouter",
    "live.stop": "Arrêter",
    "live.idle": "Pas d'écoute en cours.",
    "live.hint": "Le stéthoscope diffuse pendant l'écoute ; l'établissement voit la demande.",
    "this_exam": "cet examen",
    "level.urgent": "urgent",
    "level.review": "à revoir",
    "level.routine": "routine",
    "site.pending": "à enregistrer",
    "site.rerecord": "à refaire",
    "site.done": "enregistré",
}
_CATALOGUES: Final = {"en": _EN, "fr": _FR}


def words(lang: str) -> dict[str, str]:
    """The catalogue for `lang` (English for anything else), with the sites' names added."""
    chosen = dict(_CATALOGUES.get(lang, _EN))
    sites = CATALOGUES.get(lang, CATALOGUES["en"])
    chosen.update({k: v for k, v in sites.items() if k.startswith("site.") and k not in chosen})
    return chosen
