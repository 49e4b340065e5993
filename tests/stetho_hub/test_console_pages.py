"""What the doctor reads on each console page, rendered straight from data (no HTTP, no
database): the forms that reach a care home, each page's frame, what the care homes' page says
of their devices, and every value from a care home escaped. Pins the markup whose change a
doctor or a browser would notice: names, ids, actions and limits of forms, links, the texts."""

from __future__ import annotations

from typing import Any

import pytest

from stetho_hub.console import pages
from stetho_hub.console.decisions import SITES
from stetho_hub.console.words import words
from stetho_hub.fhir.queue import QueueStatus
from stetho_hub.storage.views import EarlierRow, HomeRow, InboxRow, RecordingView

EN, FR = words("en"), words("fr")
FAST: dict[str, Any] = {
    "code": "heart_rate_high", "value": 112.5, "threshold": 100, "reason": "Too fast.",
}  # fmt: skip


def _analysed(**quality: object) -> dict[str, Any]:
    return {
        "analysis": {
            "triage": {"level": "review", "flags": [FAST]},
            "heart": {"rate_bpm": 112.4},
            "lung": {"respiratory_rate_bpm": 18.6},
            "quality": quality,
        },
        "n_samples": 60000, "sample_rate_hz": 4000, "auscultation_site": "mitral",
        "kind": "heart", "resident": "res-9", "started_at": "2026-12-01T10:11:12.345Z",
    }  # fmt: skip


# ---- every page's frame


def test_the_frame_names_the_page_its_language_and_the_signed_in_doctor() -> None:
    page = pages.layout("T<1>", "<b>body</b>", "dr<a>", 'tok"1', "en", EN, ("x<.js", "y.js"))
    assert page.startswith(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>T&lt;1&gt; · stetho hub</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="stylesheet" href="/static/console.css">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head><body>'
    )
    assert (
        '<header><strong>stetho hub</strong><a href="/">Inbox</a>'
        '<a href="/homes">Care homes</a><nav class="lang" id="lang">'
    ) in page
    # The sign-out is a POST carrying the session's CSRF token, the name escaped.
    assert (
        '<span>dr&lt;a&gt;</span><form method="post" action="/signout">'
        '<input type="hidden" name="csrf" value="tok&quot;1">'
        '<button type="submit">Sign out</button></form></header>'
    ) in page
    assert "<main><b>body</b></main>" in page
    assert page.endswith(
        '<script src="/static/console.js"></script><script src="/static/x&lt;.js"></script>'
        '<script src="/static/y.js"></script></body></html>'
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_language_switch_names_each_language_in_itself_and_marks_the_current(
    lang: str,
) -> None:
    page = pages.layout("t", "b", "dr", "tk", lang, words(lang))
    english = '<a href="?lang=en" hreflang="en" lang="en"{}>English</a>'
    french = '<a href="?lang=fr" hreflang="fr" lang="fr"{}>Français</a>'
    marked = ' aria-current="true"'
    switch = (
        english.format(marked if lang == "en" else "")
        + " "
        + french.format(marked if lang == "fr" else "")
    )
    assert f'<nav class="lang" id="lang">{switch}</nav>' in page
    assert page.count("aria-current") == 1


def test_no_one_signed_in_no_sign_out_and_no_extra_script() -> None:
    page = pages.layout("t", "b", None, "tk", "fr", FR)
    assert "</nav></header><main>b</main>" in page
    assert "signout" not in page and "csrf" not in page
    assert page.endswith('<script src="/static/console.js"></script></body></html>')
    assert '<a href="/">Alertes</a><a href="/homes">Établissements</a>' in page


def test_a_refusal_says_why_as_an_alert_and_leads_back_to_the_inbox() -> None:
    assert pages.refusal("No <x>", "Gone & away", EN) == (
        '<div class="card" id="refused"><h1>No &lt;x&gt;</h1>'
        '<p class="error" role="alert">Gone &amp; away</p>'
        '<p><a href="/">Back to the inbox</a></p></div>'
    )


def test_the_sign_in_form_posts_name_password_and_token() -> None:
    page = pages.signin('c"s', "fr", FR, "bad <pw>")
    assert "<title>Connexion · stetho hub</title>" in page
    assert (
        '<main><div class="card"><h1>Connexion</h1><p class="error" role="alert">bad &lt;pw&gt;'
        '</p><form method="post" action="/signin"><input type="hidden" name="csrf"'
        ' value="c&quot;s"><p><label>Identifiant <input name="username" id="username"'
        ' autocomplete="username" required></label></p><p><label>Mot de passe <input'
        ' type="password" name="password" id="password" autocomplete="current-password"'
        ' required></label></p><button type="submit" id="signin">Connexion</button></form>'
        "</div></main>"
    ) in page
    assert "/signout" not in page  # no one is signed in yet
    no_error = pages.signin("tk", "en", EN)
    assert '<main><div class="card"><h1>Sign in</h1><form method="post"' in no_error


# ---- the inbox


def test_the_inbox_row_says_level_home_time_resident_site_why_and_links() -> None:
    waiting = InboxRow(
        "a1", "r<1>", "home<a>", "urgent", "2026-12-01T10:11:12.5Z", "res<1>", "mitral",
        (FAST, {"code": "x", "reason": "B & C"}), False, "e<2>",
    )  # fmt: skip
    page = pages.inbox([waiting], "dr", "tk", "en", EN, since='2026-12-01T10:11:12.5Z"<')
    assert (
        '<tr><td class="urgent">urgent</td><td>home&lt;a&gt;</td>'
        "<td>2026-12-01 10:11:12 UTC</td><td>res&lt;1&gt;</td><td>mitral</td>"
        "<td>Too fast.<br>B &amp; C</td>"
        '<td><a class="open" href="/recordings/r&lt;1&gt;">open</a> (audio pending)'
        ' · <a class="exam-link" href="/exams/e&lt;2&gt;">exam</a></td></tr>'
    ) in page
    assert 'id="empty"' not in page
    # The newest alert when drawn, from which the alerts stream reloads it: escaped.
    assert (
        '<table id="inbox" data-live="1" data-since="2026-12-01T10:11:12.5Z&quot;&lt;"><thead>'
        in page
    )


def test_an_archived_row_without_exam_has_no_pending_and_no_exam_link() -> None:
    row = InboxRow(
        "a2", "r2", "home-b", "weird", "2026-12-01T09:00:00Z", "res-2", "lung-left-upper", (),
        True,
    )  # fmt: skip
    page = pages.inbox([row], "dr", "tk", "fr", FR)
    assert (
        '<tr><td class="weird">weird</td><td>home-b</td><td>2026-12-01 09:00:00 UTC</td>'
        "<td>res-2</td><td>poumon gauche, haut</td><td></td>"
        '<td><a class="open" href="/recordings/r2">ouvrir</a></td></tr>'
    ) in page


def test_the_inbox_names_the_level_and_the_site_in_the_reader_s_language() -> None:
    at = "2026-12-01T09:00:00Z"
    rows = [
        InboxRow("a3", "r3", "home-a", "review", at, "res-3", "aortic", (), True),
        InboxRow("a4", "r4", "home-a", "routine", at, "res-4", "nowhere", (), True),
    ]
    page = pages.inbox(rows, "dr", "tk", "fr", FR)
    assert '<tr><td class="review">à revoir</td><td>home-a</td>' in page
    assert "<td>res-3</td><td>aortique</td>" in page
    assert "<td>res-4</td><td>nowhere</td>" in page  # a site the catalogue lacks: as sent
    assert '</td></tr><tr><td class="routine">routine</td>' in page  # one row after another
    assert "</tbody></table></main>" in page  # no "empty" line under rows


def test_the_inbox_heads_its_columns_and_says_when_it_is_empty() -> None:
    page = pages.inbox([], "dr", "tk", "en", EN)
    assert "<title>Alerts · stetho hub</title>" in page
    assert (  # empty, the table is hidden from every reader (the page still reloads live)
        "<main><h1>Alerts</h1><p>Most urgent first, then newest; updated live.</p>"
        '<table id="inbox" data-live="1" data-since="" hidden><thead><tr><th>Level</th>'
        "<th>Care home</th>"
        "<th>Recorded</th><th>Resident</th><th>Site</th><th>Why</th>"
        '<th><span class="unseen">Links</span></th></tr></thead>'  # said, not shown
        '<tbody></tbody></table><p id="empty">No alerts for your care homes.</p></main>'
    ) in page
    assert '<span>dr</span><form method="post" action="/signout">' in page
    assert '<input type="hidden" name="csrf" value="tk">' in page


# ---- a recording's findings


def test_findings_give_level_rates_levels_and_each_flag_with_its_numbers() -> None:
    html = pages.findings(_analysed(), EN, "en", "level")
    assert html == (
        '<p>Triage: <strong id="level" class="level review">review</strong>; '
        "heart rate 112/min, breathing rate 19/min</p>"
        '<ul class="findings"><li class="flag" data-code="heart_rate_high"><strong>'
        "heart rate high</strong>: Too fast. "
        '<span class="measured">(measured 112.5/min, threshold 100/min)</span></li></ul>'
    )


def test_findings_without_rates_flags_or_numbers() -> None:
    meta = {"analysis": {"triage": {"level": "routine", "flags": [{"code": "c", "reason": "r"}]}}}
    assert pages.findings(meta, EN, "en") == (
        '<p>Triage: <strong class="level routine">routine</strong></p>'
        '<ul class="findings"><li class="flag" data-code="c"><strong>c</strong>: r</li></ul>'
    )
    only_value = {"code": "c", "reason": "r", "value": 0.5, "threshold": None}
    meta = {"analysis": {"triage": {"level": "routine", "flags": [only_value]}}}
    assert '<span class="measured">(measured 0.5)</span>' in pages.findings(meta, EN, "en")
    bare = {"analysis": {"triage": {"level": "routine"}, "heart": {}, "lung": None}}
    assert pages.findings(bare, FR, "fr") == (
        '<p>Tri\u00a0: <strong class="level routine">routine</strong></p>'
        '<ul class="findings"><li>Aucune anomalie relevée.</li></ul>'
    )


def test_findings_name_the_level_in_the_reader_s_language_and_list_every_flag() -> None:
    two = [{"code": "a", "reason": "first"}, {"code": "b", "reason": "second"}]
    meta = {"analysis": {"triage": {"level": "review", "flags": two}}}
    assert pages.findings(meta, FR, "fr") == (
        '<p>Tri\u00a0: <strong class="level review">à revoir</strong></p><ul class="findings">'
        '<li class="flag" data-code="a"><strong>a</strong>\u00a0: first</li>'
        '<li class="flag" data-code="b"><strong>b</strong>\u00a0: second</li></ul>'
    )
    odd = {"analysis": {"triage": {"level": "odd<"}}}
    assert '<strong class="level odd&lt;">odd&lt;</strong>' in pages.findings(odd, EN, "en")


def test_a_lone_rate_is_said_without_a_separator() -> None:
    heart = {"analysis": {"triage": {"level": "routine"}, "heart": {"rate_bpm": 60.4}}}
    assert "</strong>; heart rate 60/min</p>" in pages.findings(heart, EN, "en")
    lung = {"analysis": {"triage": {"level": "routine"}, "lung": {"respiratory_rate_bpm": 0}}}
    assert "</strong>\u00a0; fréquence respiratoire 0/min</p>" in pages.findings(lung, FR, "fr")


def test_no_analysis_says_why_or_a_dash() -> None:
    assert pages.findings({"analysis_error": "decoder <x>"}, EN, "en") == (
        "<p>No analysis: decoder &lt;x&gt;</p>"
    )
    assert pages.findings({"analysis_error": ""}, FR, "fr") == "<p>Pas d'analyse\u00a0: -</p>"


def test_the_flag_s_age_band_chooses_its_sentence() -> None:
    fast = {"code": "heart_rate_very_high", "value": 150.0, "threshold": 140.0, "reason": "x"}
    meta = {"analysis": {"triage": {"level": "urgent", "flags": [fast]}}, "age_band": "2_to_5"}
    assert "hors des valeurs pédiatriques de 2 à 5 ans" in pages.findings(meta, FR, "fr")


# ---- faint and hum lines


def test_the_faint_line_gives_the_band_s_level_and_the_usual_one() -> None:
    line = pages.faint({"quality": {"faint_level_dbfs": -47.6}}, EN)
    assert line == (
        '<p class="faint" data-dbfs="-47.6">Faint recording (band at -48 dBFS, under the usual'
        " -65 dBFS; a stethoscope at low gain), clear enough for the analysis; turn the volume"
        " up to listen.</p>"
    )
    assert 'data-dbfs="-50"' in pages.faint({"quality": {"faint_level_dbfs": -50}}, EN)
    for quality in (None, {}, {"faint_level_dbfs": True}, {"faint_level_dbfs": "-50"}):
        assert pages.faint({"quality": quality}, EN) == ""
    assert pages.faint({}, EN) == ""


def test_the_hum_line_names_each_frequency_and_skips_what_is_no_number() -> None:
    line = pages.mains_hum({"quality": {"mains_hum_hz": [49.98, True, "60", 60]}}, FR)
    assert line.startswith('<p class="mains-hum" data-hz="49.98 60">Bourdonnement du secteur à')
    assert "à 50 Hz et 60 Hz (chargeur" in line and line.endswith("compris.</p>")
    assert pages.mains_hum({"quality": {"mains_hum_hz": [True, "50"]}}, EN) == ""
    assert pages.mains_hum({"quality": {"mains_hum_hz": None}}, EN) == ""
    assert pages.mains_hum({"quality": None}, EN) == pages.mains_hum({}, EN) == ""


# ---- a recording's page


def _recording(meta: dict[str, Any], sha: str | None = "abc", lang: str = "fr") -> str:
    earlier = [
        EarlierRow("r0", "2026-11-30T09:08:07Z", "aortic", "urgent"),
        EarlierRow("r<9>", "2026-11-29T09:08:07Z", "nowhere", None),
    ]
    view = RecordingView("r<1>", "home<a>", meta, sha)
    return pages.recording(view, earlier, "dr-a", "tk", lang, words(lang), "requested")


def test_the_recording_page_heads_plays_and_times_the_recording() -> None:
    page = _recording({**_analysed(), "partial": True, "exam_id": "e1"})
    assert "<title>Enregistrement · stetho hub</title>" in page
    assert (
        '<main><div class="card"><h1>mitral · cœur</h1><p>Établissement home&lt;a&gt;, '
        "résident res-9, enregistré le 2026-12-01 10:11:12 UTC, partiel · "
        '<a class="exam-link" href="/exams/e1">examen</a></p>'
        '<audio id="player" controls preload="metadata" src="/recordings/r&lt;1&gt;/audio">'
        '</audio><p id="duration" data-seconds="15.000">Durée 15,0 s</p></div>'
    ) in page
    assert (
        '<img id="picture" alt="onde avec B1/B2, sibilants et crépitants marqués ;'
        ' spectrogramme ; raisons" class="picture" src="/recordings/r&lt;1&gt;/picture.png'
        '?lang=fr"><p><em>Aide à la décision, pas un diagnostic.</em></p></div>'
    ) in page
    assert '<div class="card"><h2>Résultats</h2><p>Tri\u00a0: <strong id="level"' in page
    assert 'action="/recordings/r<1>/decision"' not in page  # escaped in the form's action
    assert '<p id="requested" class="ok">' in page
    assert '<span>dr-a</span><form method="post" action="/signout">' in page
    assert "(mesuré 112,5/min, seuil 100/min)" in page  # the findings in the reader's numbers
    # The request proposes the site this recording was taken at.
    assert page.count(" selected") == 1 and '<option value="mitral" selected>mitral' in page


def test_the_recording_s_heading_names_site_and_kind_in_the_reader_s_language() -> None:
    assert "<h1>aortique · poumon</h1>" in _recording(
        {**_analysed(), "auscultation_site": "aortic", "kind": "lung"}
    )
    odd = _recording({**_analysed(), "auscultation_site": "apex<", "kind": "odd"})
    assert "<h1>apex&lt; · odd</h1>" in odd  # words the catalogue lacks: as sent, escaped


def test_a_recording_without_audio_or_analysis_says_so_and_draws_nothing() -> None:
    meta = {"auscultation_site": "trachea", "kind": "lung", "resident": "r", "started_at": "x"}
    page = _recording(meta, sha=None, lang="en")
    assert "<h1>trachea · lung</h1><p>Care home home&lt;a&gt;, resident r, recorded x UTC</p>" in (
        page
    )
    assert "<p>The audio has not arrived yet.</p>" in page and "<audio" not in page
    assert '<p id="duration" data-seconds="0.000">Length 0.0 s</p>' in page
    assert "picture" not in page.split("<h2>Findings</h2>")[1].split("</div>")[0]
    # audio but no analysis: no picture either (there is nothing to draw)
    assert 'id="picture"' not in _recording(meta, sha="abc", lang="en")
    assert 'id="picture"' not in _recording(_analysed(), sha=None, lang="en")


def test_the_length_divides_samples_by_the_rate() -> None:
    meta = {**_analysed(), "n_samples": 10, "sample_rate_hz": 4}
    assert 'data-seconds="2.500">Length 2.5 s</p>' in _recording(meta, lang="en")
    third = {**_analysed(), "n_samples": 10, "sample_rate_hz": 3}
    assert 'data-seconds="3.333">Durée 3,3 s</p>' in _recording(third, lang="fr")
    no_rate = {**_analysed(), "n_samples": 10, "sample_rate_hz": 0}
    assert 'data-seconds="10.000"' in _recording(no_rate, lang="en")  # never a division by 0
    assert 'data-seconds="0.000"' in _recording(
        {k: v for k, v in _analysed().items() if k != "n_samples"}, lang="en"
    )


def test_the_same_resident_s_other_recordings_link_with_site_and_level() -> None:
    page = _recording(_analysed(), lang="fr")
    assert (
        '<div class="card"><h2>Même résident, autres enregistrements</h2><ul id="earlier">'
        '<li><a href="/recordings/r0">2026-11-30 09:08:07</a> aortique · urgent</li>'
        '<li><a href="/recordings/r&lt;9&gt;">2026-11-29 09:08:07</a> nowhere · non analysé'
        "</li></ul></div></main>"
    ) in page
    later = [
        EarlierRow("r5", "2026-11-28T09:08:07Z", "apex", "review"),
        EarlierRow("r6", "2026-11-27T09:08:07Z", "apex", "odd"),
    ]
    view = RecordingView("r1", "home-a", _analysed(), None)
    levels = pages.recording(view, later, "dr", "tk", "fr", FR)
    assert "09:08:07</a> apex · à revoir</li><li>" in levels
    assert "09:08:07</a> apex · odd</li></ul>" in levels  # a level the catalogue lacks
    alone = pages.recording(view, [], "dr", "tk", "en", EN)
    assert "<h2>Same resident, other recordings</h2><p>No other recording of this resident." in (
        alone
    )


# ---- the decision and the request: what reaches the care home


def test_the_decision_form_offers_each_disposition_and_posts_under_its_action() -> None:
    form = pages.decision_form("/exams/e<1>", "mitral", 'tk"', "decided", EN)
    hidden = '<input type="hidden" name="csrf" value="tk&quot;">'
    assert form.startswith(
        '<div class="card"><h2>Decision</h2><p id="decided" class="ok">Decision sent to the'
        f' care home.</p><form method="post" action="/exams/e&lt;1&gt;/decision">{hidden}'
        '<p><label>Decision <select name="disposition" id="disposition" required>'
        '<option value="">choose</option><option value="no-action">No action</option>'
        '<option value="gp-visit-24h">GP visit within 24 h</option>'
        '<option value="urgent-visit-today">Urgent visit today</option>'
        '<option value="hospital-transfer">Hospital transfer</option>'
        '<option value="re-record">Re-record requested</option></select></label></p>'
        "<p><label>Note for the nurse (no names) <textarea"
        ' name="note" id="note" maxlength="1000" rows="3"></textarea></label></p>'
        '<button type="submit" id="send-decision">Send to the care home</button></form>'
        f'<form method="post" action="/exams/e&lt;1&gt;/request">{hidden}'
        '<p><label>Ask for a new recording at <select name="auscultation_site"'
        ' id="request-site"><option value="aortic">aortic</option>'
    )
    assert form.endswith(
        '<option value="lung-right-lateral">right lung, side</option></select></label> '
        '<label>lasting (s) <input name="duration" id="request-duration" inputmode="decimal"'
        ' size="4" placeholder="20"></label> <button type="submit" id="request-recording">'
        "Request</button></p></form></div>"
    )
    assert form.count(" selected") == 1 and '<option value="mitral" selected>mitral' in form
    sites = form.split('id="request-site">')[1].split("</select>")[0]
    assert sites.count("</option><option ") == 12  # the 13 sites, one after another


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_site_the_request_offers_is_named_in_the_reader_s_language(lang: str) -> None:
    # So the form never falls back to a site's code (the nurse reads her own names for them).
    assert [s for s in SITES if f"site.{s}" not in words(lang)] == []


def test_the_form_says_what_was_just_sent_and_nothing_otherwise() -> None:
    requested = pages.decision_form("/recordings/r1", "apex", "tk", "requested", FR)
    assert (
        '<h2>Décision</h2><p id="requested" class="ok">Enregistrement demandé à'
        " l'établissement.</p><form"
    ) in requested
    assert " selected" not in requested  # a site the form does not offer: none chosen
    for nothing in (None, "", "other"):
        form = pages.decision_form("/recordings/r1", "aortic", "tk", nothing, EN)
        assert "<h2>Decision</h2><form" in form and 'class="ok"' not in form
        assert '<option value="aortic" selected>aortic</option>' in form


# ---- the care homes' page


def test_each_home_lists_its_devices_state_details_and_counts() -> None:
    detail = {
        "battery_pct": 80, "outbox_backlog": 3, "alarm": "outbox at 93% of its quota",
        "receipts": {"awaiting": 2},
    }  # fmt: skip
    other = {"battery": "low", "backlog": 1, "receipts": {"sent": 1}}
    home = HomeRow(
        "home<a>",
        (("pi<a>", "online", "2026-12-01T10:00:00.1Z", detail), ("st-1", "offline", None, other)),
        5, 1, "2026-12-01T11:00:00Z",
    )  # fmt: skip
    page = pages.homes([home, HomeRow("home-b", (), 0, 0, None)], "dr<b>", "tk", "en", EN)
    assert '<span>dr&lt;b&gt;</span><form method="post" action="/signout">' in page
    assert (
        '<main><h1>Care homes</h1><div class="card home"><h2>home&lt;a&gt;</h2><ul>'
        '<li><span class="online">pi&lt;a&gt;: online</span> since 2026-12-01 10:00:00 UTC'
        " (battery 80%, outbox backlog 3, alarm outbox at 93% of its quota, waiting for a"
        ' receipt 2)</li><li><span class="offline">st-1: offline</span> (battery low, backlog'
        " 1)</li></ul><p>recordings archived: 5; waiting for their audio: 1; newest:"
        ' 2026-12-01 11:00:00 UTC</p></div><div class="card home"><h2>home-b</h2><ul></ul>'
        "<p>recordings archived: 0; waiting for their audio: 0; newest: none</p></div></main>"
    ) in page
    assert "<title>Care homes · stetho hub</title>" in page


def test_a_home_with_nothing_yet_and_a_device_with_no_detail() -> None:
    quiet = HomeRow("home-b", (("pi-b", "asleep", None, {"receipts": [1]}),), 0, 0, None)
    page = pages.homes([quiet], "dr", "tk", "fr", FR)
    assert (
        '<div class="card home"><h2>home-b</h2><ul><li><span class="asleep">pi-b\u00a0: asleep'
        "</span></li></ul><p>enregistrements archivés\u00a0: 0\u00a0; en attente de leur son"
        "\u00a0: 0\u00a0; le plus récent\u00a0: aucun</p></div>"
    ) in page
    assert "<h1>Établissements</h1><p>Aucun pour l'instant.</p></main>" in pages.homes(
        [], "dr", "tk", "fr", FR
    )


def test_the_fhir_card_counts_exports_and_shows_the_last_error() -> None:
    failing = pages.homes([], "dr", "tk", "en", EN, QueueStatus(1, 2, 3, 4, "HTTP <500>", None))
    assert (
        '<h1>Care homes</h1><div class="card" id="fhir"><h2>Hospital record (FHIR)</h2>'
        "<p>exams sent: 2; waiting: 1; failing: 3; refused by the server: 4.</p>"
        '<p class="alarm">Last error: HTTP &lt;500&gt;</p></div><p>None yet.</p>'
    ) in failing
    clean = pages.homes([], "dr", "tk", "en", EN, QueueStatus(0, 1, 0, 0, None, None))
    assert "refused by the server: 0.</p></div><p>" in clean and "alarm" not in clean
    one = pages.homes([], "dr", "tk", "fr", FR, QueueStatus(0, 1, 0, 0, None, None))
    said = "examens envoyés\u00a0: 1\u00a0; en attente\u00a0: 0\u00a0; en échec\u00a0: 0\u00a0; "
    assert said + "refusés par le serveur\u00a0: 0." in one  # after a colon: no "1 examens"
    assert 'id="fhir"' not in pages.homes([], "dr", "tk", "en", EN)


def test_the_latest_exams_say_which_are_answered_in_the_reader_s_words() -> None:
    from stetho_hub.storage.views import LatestExam

    doc = {"protocol": "heart-4", "sites": [{}] * 4, "state": "done", "resident": "res-<1>",
           "opened_at": "2026-12-01T08:00:00+00:00"}  # fmt: skip
    exams = [LatestExam("e<1>", "home-a", doc, True), LatestExam("e2", "home-a", doc, False)]
    page = pages.homes([], "dr", "tk", "fr", words("fr"), exams=exams)
    assert (
        '<li><a href="/exams/e&lt;1&gt;">2026-12-01 08:00:00 UTC</a> · home-a · res-&lt;1&gt; · '
        'Cœur (4 points) · terminé · <span class="ok">répondu</span></li>'
    ) in page
    assert '<span class="review">sans réponse</span>' in page
    assert "Aucun examen pour l'instant." in pages.homes([], "dr", "tk", "fr", FR, exams=[])
