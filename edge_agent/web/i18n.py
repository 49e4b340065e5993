"""The page's words in English and French; the browser's language picks one, a switch overrides.

Quality advice keys come from edge_agent.exam.verdict: one thing for the nurse to do next.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "fr")

_EN: Final[dict[str, str]] = {
    "app.title": "Stethoscope exams",
    "nav.residents": "Residents",
    "nav.stethoscopes": "Stethoscopes",
    "nav.requests": "Doctor's requests",
    "nav.sign_out": "Sign out",
    "signin.title": "Sign in",
    "signin.staff": "Staff id",
    "signin.secret": "PIN or password",
    "signin.submit": "Sign in",
    "signin.failed": "Unknown staff id or wrong PIN.",
    "signin.throttled": "Too many attempts. Try again in {seconds} seconds.",
    "residents.title": "Residents",
    "residents.search": "Search",
    "residents.none": "No resident found.",
    "residents.add": "Add a resident",
    "residents.ref": "Reference (opaque code, never a name)",
    "residents.label": "Label shown here only (room, initials)",
    "residents.save": "Save",
    "residents.import": "Import a CSV file (ref,label)",
    "residents.import_submit": "Import",
    "residents.imported": "{added} added, {updated} updated.",
    "residents.saved": "Resident saved.",
    "residents.examine": "Examine",
    "exam.start_title": "New exam",
    "exam.protocol": "What to listen to",
    "exam.reason": "Why (a few words, no names)",
    "exam.start": "Start the exam",
    "exam.recent": "Recent exams",
    "exam.title": "Exam",
    "exam.next_site": "Next site",
    "exam.all_done": "All sites are recorded.",
    "exam.stethoscope": "Stethoscope",
    "exam.record": "Record",
    "exam.rerecord": "Record again",
    "exam.stop": "Stop",
    "exam.recording": "Recording… keep still",
    "exam.close": "Finish the exam",
    "exam.abandon": "Abandon",
    "exam.summary": "Summary",
    "exam.finished": "This exam is finished: it was sent to the doctor.",
    "body.front": "front",
    "body.back": "back",
    "exam.state.open": "open",
    "exam.state.recording": "in progress",
    "exam.state.done": "finished",
    "exam.state.abandoned": "abandoned",
    "exam.site.pending": "to record",
    "exam.site.rerecord": "record again",
    "exam.site.done": "recorded",
    "exam.attempts": "{n} recording(s)",
    "exam.verdict_ok": "Good recording.",
    "exam.verdict_bad": "This recording cannot be used:",
    "exam.answer": "Doctor's answer",
    "exam.no_answer": "No answer from the doctor yet.",
    "exam.level": "Triage",
    "exam.rate": "Heart rate",
    "exam.resp_rate": "Breathing rate",
    "exam.per_min": "/min",
    "exam.contact": "Contact",
    "exam.no_contact": "No contact",
    "exam.clipping": "Too loud",
    "exam.level_meter": "Level",
    "exam.in_use_by": "In use by {who}",
    "level.routine": "routine",
    "level.review": "doctor to review",
    "level.urgent": "urgent",
    "level.rerecord": "record again",
    "disposition.no-action": "No action needed",
    "disposition.re-examine": "Examine again later",
    "disposition.visit": "A doctor will visit",
    "disposition.transfer": "Transfer to hospital",
    "advice.too_quiet": "Too quiet: press the chest piece firmly on bare skin.",
    "advice.slipping": "The chest piece moved: hold it still and firmly.",
    "advice.no_heartbeat": "No clear heartbeat: move the chest piece a little and press firmly.",
    "advice.clipping": "Clipping: lower the gain.",
    "advice.noise": "Talking or noise: ask the resident to stay silent, quiet the room.",
    "advice.disconnected": "The stethoscope disconnected: part of the sound is missing.",
    "advice.analysis_failed": "The sound could not be analysed: record again.",
    "steth.title": "Stethoscopes",
    "steth.connected": "connected",
    "steth.disconnected": "not connected",
    "steth.battery": "Battery",
    "steth.monitoring": "timed monitoring",
    "steth.pairing": "To add a stethoscope, an administrator runs `stetho pair` on the Pi.",
    "requests.title": "Doctor's requests",
    "requests.none": "No request.",
    "requests.accept": "Accept and record",
    "requests.dismiss": "Dismiss",
    "requests.wants": "{by} asks for {site}",
    "error.title": "Cannot do that",
    "error.back": "Back",
    "site.aortic": "aortic",
    "site.pulmonic": "pulmonic",
    "site.tricuspid": "tricuspid",
    "site.mitral": "mitral",
    "site.trachea": "trachea",
    "site.lung-left-upper": "left lung, upper",
    "site.lung-left-lower": "left lung, lower",
    "site.lung-right-upper": "right lung, upper",
    "site.lung-right-lower": "right lung, lower",
    "site.lung-left-posterior": "left lung, back",
    "site.lung-right-posterior": "right lung, back",
    "site.lung-left-lateral": "left lung, side",
    "site.lung-right-lateral": "right lung, side",
}

_FR: Final[dict[str, str]] = {
    "app.title": "Examens au stéthoscope",
    "nav.residents": "Résidents",
    "nav.stethoscopes": "Stéthoscopes",
    "nav.requests": "Demandes du médecin",
    "nav.sign_out": "Se déconnecter",
    "signin.title": "Connexion",
    "signin.staff": "Identifiant",
    "signin.secret": "Code ou mot de passe",
    "signin.submit": "Se connecter",
    "signin.failed": "Identifiant inconnu ou code erroné.",
    "signin.throttled": "Trop d'essais. Réessayez dans {seconds} secondes.",
    "residents.title": "Résidents",
    "residents.search": "Chercher",
    "residents.none": "Aucun résident trouvé.",
    "residents.add": "Ajouter un résident",
    "residents.ref": "Référence (code opaque, jamais un nom)",
    "residents.label": "Libellé affiché ici seulement (chambre, initiales)",
    "residents.save": "Enregistrer",
    "residents.import": "Importer un fichier CSV (ref,label)",
    "residents.import_submit": "Importer",
    "residents.imported": "{added} ajoutés, {updated} mis à jour.",
    "residents.saved": "Résident enregistré.",
    "residents.examine": "Examiner",
    "exam.start_title": "Nouvel examen",
    "exam.protocol": "Que faut-il écouter",
    "exam.reason": "Pourquoi (quelques mots, sans nom)",
    "exam.start": "Commencer l'examen",
    "exam.recent": "Examens récents",
    "exam.title": "Examen",
    "exam.next_site": "Point suivant",
    "exam.all_done": "Tous les points sont enregistrés.",
    "exam.stethoscope": "Stéthoscope",
    "exam.record": "Enregistrer",
    "exam.rerecord": "Enregistrer à nouveau",
    "exam.stop": "Arrêter",
    "exam.recording": "Enregistrement… ne bougez pas",
    "exam.close": "Terminer l'examen",
    "exam.abandon": "Abandonner",
    "exam.summary": "Résumé",
    "exam.finished": "Cet examen est terminé : il a été envoyé au médecin.",
    "body.front": "face",
    "body.back": "dos",
    "exam.state.open": "ouvert",
    "exam.state.recording": "en cours",
    "exam.state.done": "terminé",
    "exam.state.abandoned": "abandonné",
    "exam.site.pending": "à enregistrer",
    "exam.site.rerecord": "à refaire",
    "exam.site.done": "enregistré",
    "exam.attempts": "{n} enregistrement(s)",
    "exam.verdict_ok": "Bon enregistrement.",
    "exam.verdict_bad": "Cet enregistrement est inutilisable :",
    "exam.answer": "Réponse du médecin",
    "exam.no_answer": "Pas encore de réponse du médecin.",
    "exam.level": "Tri",
    "exam.rate": "Fréquence cardiaque",
    "exam.resp_rate": "Fréquence respiratoire",
    "exam.per_min": "/min",
    "exam.contact": "Contact",
    "exam.no_contact": "Pas de contact",
    "exam.clipping": "Trop fort",
    "exam.level_meter": "Niveau",
    "exam.in_use_by": "Utilisé par {who}",
    "level.routine": "normal",
    "level.review": "à revoir par le médecin",
    "level.urgent": "urgent",
    "level.rerecord": "à refaire",
    "disposition.no-action": "Rien à faire",
    "disposition.re-examine": "Réexaminer plus tard",
    "disposition.visit": "Un médecin passera",
    "disposition.transfer": "Transfert à l'hôpital",
    "advice.too_quiet": "Trop faible : appuyez fermement le pavillon sur la peau nue.",
    "advice.slipping": "Le pavillon a bougé : tenez-le immobile et appuyé.",
    "advice.no_heartbeat": "Pas de battement net : déplacez un peu le pavillon et appuyez.",
    "advice.clipping": "Saturation : baissez le gain.",
    "advice.noise": "Paroles ou bruit : demandez au résident de se taire, faites le calme.",
    "advice.disconnected": "Le stéthoscope s'est déconnecté : une partie du son manque.",
    "advice.analysis_failed": "Le son n'a pas pu être analysé : enregistrez à nouveau.",
    "steth.title": "Stéthoscopes",
    "steth.connected": "connecté",
    "steth.disconnected": "non connecté",
    "steth.battery": "Batterie",
    "steth.monitoring": "surveillance programmée",
    "steth.pairing": "Pour ajouter un stéthoscope, un administrateur lance `stetho pair` "
    "sur le Pi.",
    "requests.title": "Demandes du médecin",
    "requests.none": "Aucune demande.",
    "requests.accept": "Accepter et enregistrer",
    "requests.dismiss": "Ignorer",
    "requests.wants": "{by} demande : {site}",
    "error.title": "Impossible",
    "error.back": "Retour",
    "site.aortic": "aortique",
    "site.pulmonic": "pulmonaire",
    "site.tricuspid": "tricuspide",
    "site.mitral": "mitral",
    "site.trachea": "trachée",
    "site.lung-left-upper": "poumon gauche, haut",
    "site.lung-left-lower": "poumon gauche, bas",
    "site.lung-right-upper": "poumon droit, haut",
    "site.lung-right-lower": "poumon droit, bas",
    "site.lung-left-posterior": "poumon gauche, dos",
    "site.lung-right-posterior": "poumon droit, dos",
    "site.lung-left-lateral": "poumon gauche, côté",
    "site.lung-right-lateral": "poumon droit, côté",
}
CATALOGUES: Final = {"en": _EN, "fr": _FR}


def pick_language(accept_language: str | None, chosen: str | None) -> str:
    """The switch's choice, else the first supported language the browser prefers, else en."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((q, tag.split("-")[0].lower()))
    for _, lang in sorted(ranked, key=lambda x: -x[0]):
        if lang in LANGUAGES:
            return lang
    return "en"


def translator(lang: str) -> Translator:
    return Translator(CATALOGUES.get(lang, _EN))


class Translator:
    def __init__(self, words: dict[str, str]) -> None:
        self._words = words

    def __call__(self, key: str, **values: object) -> str:
        text = self._words.get(key) or _EN.get(key, key)
        return text.format(**values) if values else text
