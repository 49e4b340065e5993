"""The page's words in English and French; the browser's language picks one, a switch overrides.

Quality advice keys come from edge_agent.exam.verdict: one thing for the nurse to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from stetho_common.decimal_mark import local_number

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
    "signin.idle": "Signed out after {minutes} minutes without use: sign in again.",
    "signin.idle_one": "Signed out after 1 minute without use: sign in again.",
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
    "residents.not_utf8": (
        'The file is not UTF-8 text: in the spreadsheet, save it as "CSV UTF-8", then import '
        "it again."
    ),
    "residents.saved": "Resident saved.",
    "residents.examine": "Examine",
    "exam.start_title": "New exam",
    "exam.protocol": "What to listen to",
    "exam.reason": "Why (a few words, no names)",
    "exam.custom_sites": "Points to record, for “Points of my choice”",
    "protocol.heart-4": "Heart ({n} points)",
    "protocol.lung-anterior": "Lungs, front ({n} points)",
    "protocol.lung-posterior": "Lungs, back and sides ({n} points)",
    "protocol.full": "Heart, trachea and lungs ({n} points)",
    "protocol.custom": "Points of my choice",
    "exam.age_band": "Age",
    "age.adult": "adult (16 and over)",
    "age.under_1": "child under 1 year",
    "age.1_to_2": "child 1 to 2 years",
    "age.2_to_5": "child 2 to 5 years",
    "age.5_to_12": "child 5 to 12 years",
    "age.12_to_16": "child 12 to 16 years",
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
    "exam.attempts": "{n} recordings",
    "exam.attempts_one": "1 recording",
    "exam.attempts_none": "no recording",
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
    "exam.faint_contact": "Faint: press firmly or turn the volume up",
    "exam.clipping": "Too loud",
    "exam.level_meter": "Level",
    "exam.waveform": "The stethoscope's sound, live",
    "exam.body_map": "Where to listen: points done, to do and next",
    "exam.in_use_by": "In use by {who}",
    "exam.held_by_own": "Held by your exam of {resident}",
    "exam.none_free": "No stethoscope free",
    "exam.all_held": (
        "Every stethoscope is taken by another exam (the list says whose). Finish or abandon "
        "your other exam, or wait until your colleague has finished: this page offers the "
        "stethoscope as soon as it is free."
    ),
    "exam.chosen_unusable": (
        "The stethoscope you chose can no longer be used: {stethoscope}. Choose another one in "
        "the list, or wait: this page offers it again as soon as it is free."
    ),
    "level.routine": "routine",
    "level.review": "doctor to review",
    "level.urgent": "urgent",
    "level.rerecord": "record again",
    "disposition.no-action": "No action needed",
    "disposition.gp-visit-24h": "A doctor will visit within 24 hours",
    "disposition.urgent-visit-today": "A doctor will visit today (urgent)",
    "disposition.hospital-transfer": "Transfer to hospital",
    "disposition.re-record": "Record again, please",
    "advice.too_quiet": "Too quiet: press the chest piece firmly on bare skin.",
    "advice.slipping": "The chest piece moved: hold it still and firmly.",
    "advice.no_heartbeat": "No clear heartbeat: move the chest piece a little and press firmly.",
    "advice.clipping": "Clipping: lower the gain.",
    "advice.noise": "Talking or noise: ask the resident to stay silent, quiet the room.",
    "advice.breath_unheard": "Breathing barely heard: ask the resident to breathe slowly and "
    "deeply through the open mouth, and quiet the room.",
    "advice.background_noise": "Background noise could hide crackles: shut the door, turn off "
    "the television or radio, stop talking nearby, and record again.",
    "advice.disconnected": "The stethoscope disconnected: part of the sound is missing.",
    "advice.analysis_failed": "The sound could not be analysed: record again.",
    "advice.mains_hum": "Electrical hum picked up and removed: next time, keep the stethoscope "
    "and its cable away from chargers, bed motors and plugged-in devices, or unplug a charger "
    "that can wait.",
    "advice.faint": "Faint sound, analysed all the same: next time, turn the stethoscope's "
    "volume (gain) up, and press the chest piece firmly on bare skin.",
    "advice.voice": "Talking was heard, and a voice can sound like a wheeze: the doctor will "
    "check. Next time, ask everyone, the resident too, to stay silent while you listen.",
    "steth.title": "Stethoscopes",
    "steth.kind.ble": "Bluetooth",
    "steth.kind.usb": "USB cable",
    "steth.kind.file": "recording played from a file",
    "steth.kind.simulated": "simulated (for training)",
    "steth.connected": "connected",
    "steth.disconnected": "not connected",
    "steth.given_up": "not used: tell the IT contact",
    "steth.battery": "Battery",
    "colon": ":",
    "steth.monitoring": "timed monitoring",
    "steth.pairing": "To add a stethoscope, an administrator runs `stetho pair` on the Pi.",
    "steth.scan": "Find stethoscopes",
    "steth.scan_hint": "Switch the new stethoscope on and hold it near the Pi.",
    "steth.found": "Stethoscopes in range",
    "steth.none_found": "No stethoscope heard: is it on and within a few metres?",
    "steth.location": "Where it lives (optional, e.g. Ward B)",
    "steth.pair": "Pair",
    "steth.already": "already paired",
    "steth.paired": "Paired as {device}: it can be used now.",
    "steth.receipts": "Recordings waiting for the hospital's receipt: {count}.",
    "steth.receipts_oldest": "The oldest was made {minutes} min ago.",
    "steth.receipts_recent": "The oldest was made less than a minute ago.",
    "pair.title": "Pairing a stethoscope",
    "pair.who": "{who} is pairing {address}",
    "pair.running": "{who} is pairing {address}: see how it goes",
    "pair.connecting": "Connecting to the stethoscope… keep it on and near the Pi.",
    "pair.type_passkey": "Type this number on the stethoscope's keypad, then confirm:",
    "pair.passkey_hint": "The number changes each time. Nobody else needs it.",
    "pair.passkey_other": "{who} is typing a number on the stethoscope.",
    "pair.use": "Use it for an exam",
    "pair.cancel": "Cancel pairing",
    "pair.cancelled": "Pairing cancelled. The stethoscope was not added.",
    "pair.failed.timeout": "Too slow: the number was not typed in time. Pair again and type "
    "the new number within 30 seconds.",
    "pair.failed.rejected": "The stethoscope refused: the number typed was wrong, or pairing "
    "was cancelled on it. Pair again.",
    "pair.failed.out_of_range": "The stethoscope did not answer: switch it on, hold it near the "
    "Pi, and pair again.",
    "pair.failed.radio_off": "The Pi's Bluetooth is off or missing. Call the technician.",
    "pair.failed.radio_refused": "The Pi does not allow this pairing. Call the technician.",
    "pair.failed.other": "Pairing failed. Pair again; if it fails again, call the technician.",
    "requests.title": "Doctor's requests",
    "requests.none": "No request.",
    "requests.accept": "Accept and record",
    "requests.dismiss": "Dismiss",
    "requests.wants": "{by} asks for {site}",
    "requests.lasting": "for {seconds} seconds",
    "error.title": "Cannot do that",
    "error.back": "Back",
    "error.not_found": "There is no such page.",
    "error.method": "This page cannot be used that way.",
    "error.sign_in": "Your session has ended: sign in again, then send the form again.",
    "error.expired": "The form expired or came from elsewhere: reload the page and send it again.",
    "error.unreadable": "The form could not be read: reload the page and send it again.",
    "error.too_large": (
        "The form is larger than {mib} MiB, more than this page takes. A residents file that "
        "large can be split in parts and imported one after the other."
    ),
    "refused.too_long": (
        "This recording was not started: the hospital's message server (its MQTT broker) "
        "accepts recordings of at most {seconds} seconds from this stethoscope, and this one "
        "would last {asked} seconds. Please tell the care home's IT contact: the hospital must "
        "raise its broker's maximum packet size, or the exam length (exam.duration_s) must be "
        "shortened."
    ),
    "refused.unknown_exam": (
        "This exam is finished, or not on this Pi: open the resident's page to start a new one."
    ),
    "refused.unknown_resident": (
        "No resident has the reference {ref} on this Pi: add them on the Residents page, with "
        "the reference the hospital uses."
    ),
    "refused.request_answered": "Another nurse has already accepted or dismissed this request.",
    "refused.device_busy": "Stethoscope {device} is in use by {holder}: wait, or choose another.",
    "refused.device_in_use": "Stethoscope {device} is in use: wait, or choose another.",
    "refused.device_own_exam": (
        "Stethoscope {device} is held by your other exam, of {resident}: finish or abandon "
        "that exam first, then record here."
    ),
    "refused.device_off": (
        "Stethoscope {device} is not connected: check that it is on and charged, or choose another."
    ),
    "refused.no_site": "Choose at least one point to listen to.",
    "refused.reason_too_long": "The reason can have at most {max} characters: shorten it.",
    "refused.nothing_recorded": (
        "Nothing has been recorded yet: record a point, or abandon the exam."
    ),
    "refused.exam_moved": "This exam is {state}: reload the page.",
    "refused.exam_finished": "This exam is {state}: start a new one.",
    "refused.still_recording": (
        "A recording is in progress: wait for it to end, or stop it first."
    ),
    "refused.no_label": "A resident needs a label the team recognises (room, initials).",
    "refused.label_too_long": "A label has at most {max} characters: shorten it.",
    "refused.bad_ref": (
        "“{ref}” is not a resident reference: use 1 to 63 lower-case letters, digits and "
        "dashes (an opaque code such as res-0042, never a name)."
    ),
    "refused.storage": (
        "Exams cannot be read or saved on this Pi (its disk is full or failing): tell the care "
        "home's IT contact."
    ),
    "refused.csv_too_large": "The file is larger than {kib} KiB: split it into smaller files.",
    "refused.csv_header": "Line 1: the first line must be the header “ref,label”.",
    "refused.csv_too_many": "More than {max} residents: split the file into smaller files.",
    "refused.csv_fields": "Line {line}: 2 fields are needed (ref,label), this line has {found}.",
    "refused.csv_ref": (
        "Line {line}: the reference must be 1 to 63 lower-case letters, digits and dashes."
    ),
    "refused.csv_repeat": "Line {line}: this reference is already on line {first}.",
    "refused.csv_no_label": "Line {line}: the label is empty.",
    "refused.csv_long_label": "Line {line}: the label is longer than {max} characters.",
    "refused.csv_quote_runs_on": (
        "Line {line}: a quote opens here and is not closed on this line: close it or remove it."
    ),
    "refused.csv_open_quote": (
        "Line {line}: a field runs on for more than {kib} KiB: look for a quote left open."
    ),
    # Refusals only a form no page of ours sends can meet (a site, protocol or age band not in
    # its lists), and the pairing page's own.
    "refused.unknown_site": (
        "This listening point is not known: reload the page and choose from the list."
    ),
    "refused.site_not_in_exam": "This point is not part of this exam: reload the page.",
    "refused.unknown_protocol": (
        "This exam is not offered: reload the page and choose what to listen to."
    ),
    "refused.too_many_sites": "A “Points of my choice” exam has at most {max} points.",
    "refused.repeated_site": "A “Points of my choice” exam lists each point once.",
    "refused.age_band": "This age is not offered: reload the page and choose from the list.",
    "refused.bad_duration": (
        "A recording lasts {low} to {high} seconds: “{asked}” is not such a number of seconds."
    ),
    "refused.pairing_not_here": (
        "On this Pi, an administrator pairs stethoscopes with `stetho pair`."
    ),
    "refused.scan_failed": (
        "The search for stethoscopes failed: the Pi's Bluetooth may be off. Try again; if it "
        "fails again, call the technician."
    ),
    "refused.bad_address": "This is not a Bluetooth address: search for stethoscopes again.",
    "refused.pairing_unknown": (
        "This pairing is not known here (did the Pi restart?): pair again."
    ),
    "refused.pairing_busy": (
        "{who} is already pairing {address}: wait until it ends, or cancel it on its page."
    ),
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
    "signin.idle": "Session fermée après {minutes} minutes sans utilisation : reconnectez-vous.",
    "signin.idle_one": "Session fermée après 1 minute sans utilisation : reconnectez-vous.",
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
    "residents.not_utf8": (
        "Le fichier n'est pas du texte UTF-8 : dans le tableur, enregistrez-le en « CSV UTF-8 », "
        "puis importez-le de nouveau."
    ),
    "residents.saved": "Résident enregistré.",
    "residents.examine": "Examiner",
    "exam.start_title": "Nouvel examen",
    "exam.protocol": "Que faut-il écouter",
    "exam.reason": "Pourquoi (quelques mots, sans nom)",
    "exam.custom_sites": "Points à enregistrer, pour « Points au choix »",
    "protocol.heart-4": "Cœur ({n} points)",
    "protocol.lung-anterior": "Poumons, face ({n} points)",
    "protocol.lung-posterior": "Poumons, dos et côtés ({n} points)",
    "protocol.full": "Cœur, trachée et poumons ({n} points)",
    "protocol.custom": "Points au choix",
    "exam.age_band": "Âge",
    "age.adult": "adulte (16 ans et plus)",
    "age.under_1": "enfant de moins d'un an",
    "age.1_to_2": "enfant de 1 à 2 ans",
    "age.2_to_5": "enfant de 2 à 5 ans",
    "age.5_to_12": "enfant de 5 à 12 ans",
    "age.12_to_16": "enfant de 12 à 16 ans",
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
    "exam.attempts": "{n} enregistrements",
    "exam.attempts_one": "1 enregistrement",
    "exam.attempts_none": "aucun enregistrement",
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
    "exam.faint_contact": "Faible : appuyez ou montez le volume",
    "exam.clipping": "Trop fort",
    "exam.level_meter": "Niveau",
    "exam.waveform": "Le son du stéthoscope, en direct",
    "exam.body_map": "Où écouter : points faits, à faire et suivant",
    "exam.in_use_by": "Utilisé par {who}",
    "exam.held_by_own": "Pris par votre examen de {resident}",
    "exam.none_free": "Aucun stéthoscope libre",
    "exam.all_held": (
        "Tous les stéthoscopes sont pris par un autre examen (la liste dit lequel). Terminez ou "
        "abandonnez votre autre examen, ou attendez que votre collègue ait terminé : cette page "
        "propose le stéthoscope dès qu'il est libre."
    ),
    "exam.chosen_unusable": (
        "Le stéthoscope que vous aviez choisi n'est plus utilisable : {stethoscope}. "
        "Choisissez-en un autre dans la liste, ou attendez : cette page le propose de nouveau "
        "dès qu'il est libre."
    ),
    "level.routine": "normal",
    "level.review": "à revoir par le médecin",
    "level.urgent": "urgent",
    "level.rerecord": "à refaire",
    "disposition.no-action": "Rien à faire",
    "disposition.gp-visit-24h": "Un médecin passera dans les 24 heures",
    "disposition.urgent-visit-today": "Un médecin passera aujourd'hui (urgent)",
    "disposition.hospital-transfer": "Transfert à l'hôpital",
    "disposition.re-record": "Merci d'enregistrer à nouveau",
    "advice.too_quiet": "Trop faible : appuyez fermement le pavillon sur la peau nue.",
    "advice.slipping": "Le pavillon a bougé : tenez-le immobile et appuyé.",
    "advice.no_heartbeat": "Pas de battement net : déplacez un peu le pavillon et appuyez.",
    "advice.clipping": "Saturation : baissez le gain.",
    "advice.noise": "Paroles ou bruit : demandez au résident de se taire, faites le calme.",
    "advice.breath_unheard": "Respiration à peine audible : demandez au résident de respirer "
    "lentement et profondément, bouche ouverte, et faites le calme.",
    "advice.background_noise": "Le bruit de fond pourrait cacher des crépitants : fermez la "
    "porte, éteignez la télévision ou la radio, faites cesser les conversations, et "
    "enregistrez à nouveau.",
    "advice.disconnected": "Le stéthoscope s'est déconnecté : une partie du son manque.",
    "advice.analysis_failed": "Le son n'a pas pu être analysé : enregistrez à nouveau.",
    "advice.mains_hum": "Bourdonnement électrique capté puis retiré : la prochaine fois, "
    "tenez le stéthoscope et son câble à l'écart des chargeurs, moteurs de lit et appareils "
    "branchés, ou débranchez un chargeur qui peut attendre.",
    "advice.faint": "Son faible, analysé quand même : la prochaine fois, montez le volume "
    "(gain) du stéthoscope et appuyez fermement le pavillon sur la peau nue.",
    "advice.voice": "Une voix a été entendue, et une voix peut ressembler à un sifflement : "
    "le médecin vérifiera. La prochaine fois, demandez à chacun, résident compris, de se "
    "taire pendant l'écoute.",
    "steth.title": "Stéthoscopes",
    "steth.kind.ble": "Bluetooth",
    "steth.kind.usb": "câble USB",
    "steth.kind.file": "enregistrement lu depuis un fichier",
    "steth.kind.simulated": "simulé (pour la formation)",
    "steth.connected": "connecté",
    "steth.disconnected": "non connecté",
    "steth.given_up": "non utilisé : prévenir le référent informatique",
    "steth.battery": "Batterie",
    "colon": "\u00a0:",  # French sets a colon off by a non-breaking space
    "steth.monitoring": "surveillance programmée",
    "steth.pairing": "Pour ajouter un stéthoscope, un administrateur lance `stetho pair` "
    "sur le Pi.",
    "steth.scan": "Chercher les stéthoscopes",
    "steth.scan_hint": "Allumez le nouveau stéthoscope et tenez-le près du Pi.",
    "steth.found": "Stéthoscopes à portée",
    "steth.none_found": "Aucun stéthoscope entendu : est-il allumé, à quelques mètres ?",
    "steth.location": "Où il se range (facultatif, ex. Aile B)",
    "steth.pair": "Associer",
    "steth.already": "déjà associé",
    "steth.paired": "Associé sous le nom {device} : utilisable dès maintenant.",
    "steth.receipts": "Enregistrements en attente de l'accusé de réception de l'hôpital : {count}.",
    "steth.receipts_oldest": "Le plus ancien date de {minutes} min.",
    "steth.receipts_recent": "Le plus ancien date de moins d'une minute.",
    "pair.title": "Association d'un stéthoscope",
    "pair.who": "{who} associe {address}",
    "pair.running": "{who} associe {address} : voir où elle en est",
    "pair.connecting": "Connexion au stéthoscope… gardez-le allumé, près du Pi.",
    "pair.type_passkey": "Tapez ce nombre sur le clavier du stéthoscope, puis validez :",
    "pair.passkey_hint": "Le nombre change à chaque fois. Personne d'autre n'en a besoin.",
    "pair.passkey_other": "{who} tape un nombre sur le stéthoscope.",
    "pair.use": "L'utiliser pour un examen",
    "pair.cancel": "Annuler l'association",
    "pair.cancelled": "Association annulée. Le stéthoscope n'a pas été ajouté.",
    "pair.failed.timeout": "Trop tard : le nombre n'a pas été tapé à temps. Associez à nouveau "
    "et tapez le nouveau nombre en moins de 30 secondes.",
    "pair.failed.rejected": "Le stéthoscope a refusé : le nombre tapé était faux, ou "
    "l'association a été annulée sur l'appareil. Associez à nouveau.",
    "pair.failed.out_of_range": "Le stéthoscope n'a pas répondu : allumez-le, tenez-le près du "
    "Pi, et associez à nouveau.",
    "pair.failed.radio_off": "Le Bluetooth du Pi est éteint ou absent. Appelez le technicien.",
    "pair.failed.radio_refused": "Le Pi n'autorise pas cette association. Appelez le technicien.",
    "pair.failed.other": "L'association a échoué. Recommencez ; si cela échoue encore, appelez "
    "le technicien.",
    "requests.title": "Demandes du médecin",
    "requests.none": "Aucune demande.",
    "requests.accept": "Accepter et enregistrer",
    "requests.dismiss": "Ignorer",
    "requests.wants": "{by} demande : {site}",
    "requests.lasting": "pendant {seconds} secondes",
    "error.title": "Impossible",
    "error.back": "Retour",
    "error.not_found": "Cette page n'existe pas.",
    "error.method": "Cette page ne s'utilise pas ainsi.",
    "error.sign_in": "Votre session est terminée : reconnectez-vous, puis renvoyez le formulaire.",
    "error.expired": (
        "Le formulaire a expiré ou vient d'ailleurs : rechargez la page et renvoyez-le."
    ),
    "error.unreadable": "Le formulaire n'a pas pu être lu : rechargez la page et renvoyez-le.",
    "error.too_large": (
        "Le formulaire dépasse {mib} Mio, plus que cette page n'en accepte. Un fichier de "
        "résidents aussi grand peut être coupé en parties importées l'une après l'autre."
    ),
    "refused.too_long": (
        "Cet enregistrement n'a pas été lancé : le serveur de messages de l'hôpital (son broker "
        "MQTT) n'accepte de ce stéthoscope que des enregistrements de {seconds} secondes au "
        "plus, et celui-ci durerait {asked} secondes. Prévenez le référent informatique de "
        "l'établissement : l'hôpital doit augmenter la taille maximale des paquets de son "
        "broker, ou la durée d'examen (exam.duration_s) doit être raccourcie."
    ),
    "refused.unknown_exam": (
        "Cet examen est terminé, ou n'est pas sur ce Pi : ouvrez la page du résident pour en "
        "commencer un nouveau."
    ),
    "refused.no_site": "Choisissez au moins un site d'auscultation.",
    "refused.reason_too_long": "Le motif est limité à {max} caractères.",
    "refused.nothing_recorded": (
        "Rien n'a encore été enregistré : enregistrez un site, ou abandonnez l'examen."
    ),
    "refused.exam_moved": "Cet examen est {state} : rechargez la page.",
    "refused.exam_finished": "Cet examen est {state} : commencez-en un nouveau.",
    "refused.still_recording": (
        "Un enregistrement est en cours : attendez qu'il se termine, ou arrêtez-le d'abord."
    ),
    "refused.no_label": "Un résident a besoin d'un libellé que l'équipe reconnaît.",
    "refused.label_too_long": "Un libellé a au plus {max} caractères.",
    "refused.bad_ref": (
        "« {ref} » n'est pas une référence de résident : 1 à 63 lettres minuscules, chiffres et "
        "tirets (un code opaque comme res-0042, jamais un nom)."
    ),
    "refused.storage": (
        "Les examens ne peuvent pas être lus ou enregistrés sur ce Pi (disque plein ou "
        "défaillant) : prévenez le référent informatique de l'établissement."
    ),
    "refused.csv_too_large": "Le fichier dépasse {kib} Kio.",
    "refused.csv_header": "Ligne 1 : la première ligne doit être l'en-tête « ref,label ».",
    "refused.csv_too_many": "Plus de {max} résidents : découpez le fichier.",
    "refused.csv_fields": (
        "Ligne {line} : il faut 2 champs (ref,label), la ligne en compte {found}."
    ),
    "refused.csv_ref": (
        "Ligne {line} : la référence doit faire 1 à 63 lettres minuscules, chiffres et tirets."
    ),
    "refused.csv_repeat": "Ligne {line} : la référence figure déjà ligne {first}.",
    "refused.csv_no_label": "Ligne {line} : le libellé est vide.",
    "refused.csv_long_label": "Ligne {line} : le libellé dépasse {max} caractères.",
    "refused.csv_quote_runs_on": (
        "Ligne {line} : un guillemet s'ouvre ici sans se fermer sur la ligne : "
        "fermez-le ou retirez-le."
    ),
    "refused.csv_open_quote": (
        "Ligne {line} : un champ dépasse {kib} Kio : cherchez un guillemet resté ouvert."
    ),
    # Refusals only a form no page of ours sends can meet (a site, protocol or age band not in
    # its lists), and the pairing page's own.
    "refused.unknown_site": (
        "Ce point d'auscultation n'est pas connu : rechargez la page et choisissez dans la liste."
    ),
    "refused.site_not_in_exam": "Ce point ne fait pas partie de cet examen : rechargez la page.",
    "refused.unknown_protocol": (
        "Cet examen n'est pas proposé : rechargez la page et choisissez ce qu'il faut écouter."
    ),
    "refused.too_many_sites": "Un examen « Points au choix » a au plus {max} points.",
    "refused.repeated_site": "Un examen « Points au choix » compte chaque point une fois.",
    "refused.age_band": (
        "Cet âge n'est pas proposé : rechargez la page et choisissez dans la liste."
    ),
    "refused.bad_duration": (
        "Un enregistrement dure de {low} à {high} secondes : « {asked} » n'en est pas un nombre."
    ),
    "refused.pairing_not_here": (
        "Sur ce Pi, un administrateur associe les stéthoscopes avec `stetho pair`."
    ),
    "refused.scan_failed": (
        "La recherche de stéthoscopes a échoué : le Bluetooth du Pi est peut-être éteint. "
        "Recommencez ; si cela échoue encore, appelez le technicien."
    ),
    "refused.bad_address": "Ce n'est pas une adresse Bluetooth : lancez une nouvelle recherche.",
    "refused.pairing_unknown": (
        "Cette association n'est pas connue ici (le Pi a-t-il redémarré ?) : associez à nouveau."
    ),
    "refused.pairing_busy": (
        "{who} associe déjà {address} : attendez la fin, ou annulez-la sur sa page."
    ),
    "refused.unknown_resident": (
        "Aucun résident n'a la référence {ref} sur ce Pi : ajoutez-le dans la page Résidents, "
        "avec la référence qu'utilise l'hôpital."
    ),
    "refused.request_answered": "Une autre infirmière a déjà accepté ou ignoré cette demande.",
    "refused.device_busy": (
        "Le stéthoscope {device} est utilisé par {holder} : attendez, ou choisissez-en un autre."
    ),
    "refused.device_in_use": (
        "Le stéthoscope {device} est déjà utilisé : attendez, ou choisissez-en un autre."
    ),
    "refused.device_own_exam": (
        "Le stéthoscope {device} est pris par votre autre examen, de {resident} : terminez ou "
        "abandonnez d'abord cet examen, puis enregistrez ici."
    ),
    "refused.device_off": (
        "Le stéthoscope {device} n'est pas connecté : vérifiez qu'il est allumé et chargé, ou "
        "choisissez-en un autre."
    ),
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
        if q > 0:  # q=0 is "not acceptable" (RFC 9110, 12.4.2), not a last choice
            ranked.append((q, tag.split("-")[0].lower()))
    for _, lang in sorted(ranked, key=lambda x: -x[0]):
        if lang in LANGUAGES:
            return lang
    return "en"


def refused(words: str | None, values: Mapping[str, object], english: str, lang: str) -> str:
    """A refusal (``AgentError.words``/``values``) in `lang` where that catalogue words it
    (``refused.<words>``; both catalogues word every refusal), else its own `english` message;
    an exam state among the values is named as the page names it, a float is written as
    ``:g`` writes it with the reader's decimal mark."""
    catalogue = CATALOGUES.get(lang, _EN)
    text = catalogue.get(f"refused.{words}") if words else None
    if text is None:
        return english
    return text.format(**{k: _said_value(k, v, catalogue, lang) for k, v in values.items()})


def _said_value(key: str, value: object, catalogue: Mapping[str, str], lang: str) -> object:
    if key == "state":
        return catalogue.get(f"exam.state.{value}", value)
    return local_number(value, lang, "g") if isinstance(value, float) else value


def translator(lang: str) -> Translator:
    return Translator(CATALOGUES.get(lang, _EN))


class Translator:
    def __init__(self, words: dict[str, str]) -> None:
        self._words = words

    def __call__(self, key: str, **values: object) -> str:
        text = self._words.get(key) or _EN.get(key, key)
        return text.format(**values) if values else text
