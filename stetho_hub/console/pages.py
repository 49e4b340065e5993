"""The console's HTML: plain functions from data to markup; every value is escaped here."""

from __future__ import annotations

from html import escape
from typing import Any

from stetho_hub.console.decisions import LABELS, SITES
from stetho_hub.fhir.queue import QueueStatus
from stetho_hub.storage.views import EarlierRow, HomeRow, InboxRow, RecordingView

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#12355b;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header form{margin-left:auto} main{padding:1rem;max-width:70rem}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{padding:.4rem .6rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}
.urgent{color:#b00020;font-weight:700} .review{color:#8a5a00;font-weight:700}
.card{background:#fff;padding:1rem;margin-bottom:1rem;border:1px solid #dde}
.error{color:#b00020} button{padding:.4rem .9rem}
header a{color:#fff} .picture{max-width:100%;height:auto} audio{width:100%}
.exam{display:grid;grid-template-columns:minmax(0,2fr) minmax(16rem,1fr);gap:1rem}
@media (max-width:900px){.exam{grid-template-columns:minmax(0,1fr)}}
.controls{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
svg .axis{font-size:11px;fill:#555} svg .grid{stroke:#ccc} svg .flag{font-size:12px}
svg .flag.urgent{fill:#b00020;font-weight:700} svg .flag.review{fill:#8a5a00}
"""


# The header's words; the exam view and live page come in French too (see words.py).
NAV = {
    "en": ("Inbox", "Care homes", "Sign out"),
    "fr": ("Alertes", "Établissements", "Se déconnecter"),
}


def layout(
    title: str,
    body: str,
    user: str | None = None,
    csrf: str = "",
    lang: str = "en",
    scripts: tuple[str, ...] = (),
) -> str:
    nav = NAV.get(lang, NAV["en"])
    signout = ""
    if user:
        signout = (
            f'<span>{escape(user)}</span><form method="post" action="/signout">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<button type="submit">{nav[2]}</button></form>'
        )
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · stetho hub</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<link rel="stylesheet" href="/static/console.css"></head><body>'
        f'<header><strong>stetho hub</strong><a href="/">{nav[0]}</a>'
        f'<a href="/homes">{nav[1]}</a>'
        f"{signout}</header><main>{body}</main>"
        '<script src="/static/console.js"></script>'
        + "".join(f'<script src="/static/{escape(s)}"></script>' for s in scripts)
        + "</body></html>"
    )


def signin(csrf: str, error: str = "") -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return layout(
        "Sign in",
        f'<div class="card"><h1>Sign in</h1>{message}<form method="post" action="/signin">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<p><label>User <input name="username" id="username" autocomplete="username" required>'
        '</label></p><p><label>Password <input type="password" name="password" id="password"'
        ' autocomplete="current-password" required></label></p>'
        '<button type="submit" id="signin">Sign in</button></form></div>',
    )


def _exam_link(exam_id: object) -> str:
    if not exam_id:
        return ""
    return f' · <a class="exam-link" href="/exams/{escape(str(exam_id))}">exam</a>'


def inbox(rows: list[InboxRow], user: str, csrf: str) -> str:
    lines = "".join(
        f'<tr><td class="{escape(r.level)}">{escape(r.level)}</td><td>{escape(r.site)}</td>'
        f"<td>{escape(r.recorded_at[:19].replace('T', ' '))} UTC</td>"
        f"<td>{escape(r.resident)}</td><td>{escape(r.auscultation_site)}</td>"
        f"<td>{'<br>'.join(escape(x) for x in r.reasons)}</td>"
        f'<td><a class="open" href="/recordings/{escape(r.recording_id)}">open</a>'
        f"{'' if r.archived else ' (audio pending)'}"
        f"{_exam_link(r.exam_id)}</td></tr>"
        for r in rows
    )
    empty = "" if rows else '<p id="empty">No alerts for your care homes.</p>'
    return layout(
        "Inbox",
        "<h1>Alerts</h1><p>Most urgent first, then newest; updated live.</p>"
        '<table id="inbox" data-live="1"><thead><tr><th>Level</th><th>Care home</th>'
        "<th>Recorded</th><th>Resident</th><th>Site</th><th>Why</th><th></th></tr></thead>"
        f"<tbody>{lines}</tbody></table>{empty}",
        user,
        csrf,
    )


def _measured(flag: dict[str, Any]) -> str:
    """ "(value 131, threshold 130)", or nothing for a flag that measured nothing."""
    parts = [
        f"{name} {escape(str(flag[name]))}"
        for name in ("value", "threshold")
        if flag.get(name) is not None
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _findings(analysis: dict[str, Any] | None, error: str | None) -> str:
    if analysis is None:
        return f"<p>No analysis: {escape(error or 'not available')}</p>"
    triage = analysis.get("triage", {})
    flags = "".join(
        f"<li><strong>{escape(str(f.get('code')))}</strong>: {escape(str(f.get('reason')))}"
        f"{_measured(f)}</li>"
        for f in triage.get("flags", [])
    )
    heart = analysis.get("heart") or {}
    lung = analysis.get("lung") or {}
    rates = []
    if heart.get("rate_bpm") is not None:
        rates.append(f"heart rate {heart['rate_bpm']:.0f}/min")
    if lung.get("respiratory_rate_bpm") is not None:
        rates.append(f"breathing rate {lung['respiratory_rate_bpm']:.0f}/min")
    return (
        f'<p>Triage: <strong id="level">{escape(str(triage.get("level")))}</strong>'
        f"{'; ' + escape(', '.join(rates)) if rates else ''}</p><ul>{flags}</ul>"
    )


def _earlier(rows: list[EarlierRow]) -> str:
    if not rows:
        return "<p>No other recording of this resident.</p>"
    items = "".join(
        f'<li><a href="/recordings/{escape(r.recording_id)}">'
        f"{escape(r.started_at[:19].replace('T', ' '))}</a> {escape(r.auscultation_site)}"
        f" · {escape(r.triage_level or 'not analysed')}</li>"
        for r in rows
    )
    return f'<ul id="earlier">{items}</ul>'


def decision_form(action: str, here: str, csrf: str, sent_now: str | None) -> str:
    """The decision and the recording request, posted under `action` (a recording or an exam);
    `here` is the auscultation site the request proposes."""
    options = "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>'
        for value, label in LABELS.items()
    )
    sent = {
        "decided": '<p id="decided" class="ok">Decision sent to the care home.</p>',
        "requested": '<p id="requested" class="ok">Recording requested from the care home.</p>',
    }.get(sent_now or "", "")
    sites = "".join(
        f'<option value="{escape(s)}"{" selected" if s == here else ""}>{escape(s)}</option>'
        for s in SITES
    )
    return (
        f'<div class="card"><h2>Decision</h2>{sent}'
        f'<form method="post" action="{escape(action)}/decision">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<p><label>Decision <select name="disposition" id="disposition" required>'
        f'<option value="">choose</option>{options}</select></label></p>'
        '<p><label>Note for the nurse (no names) <textarea name="note" id="note" maxlength="1000"'
        ' rows="3"></textarea></label></p>'
        '<button type="submit" id="send-decision">Send to the care home</button></form>'
        f'<form method="post" action="{escape(action)}/request">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<p><label>Ask for a new recording at <select name="auscultation_site" id="request-site">'
        f'{sites}</select></label> <label>lasting (s) <input name="duration" id="request-duration"'
        ' inputmode="numeric" size="4" placeholder="20"></label> '
        '<button type="submit" id="request-recording">Request</button></p></form></div>'
    )


def recording(
    view: RecordingView,
    earlier: list[EarlierRow],
    user: str,
    csrf: str,
    sent_now: str | None = None,
) -> str:
    m = view.metadata
    seconds = int(m.get("n_samples", 0)) / max(1, int(m.get("sample_rate_hz", 1)))
    audio = (
        f'<audio id="player" controls preload="metadata" src="/recordings/'
        f'{escape(view.recording_id)}/audio"></audio>'
        if view.audio_sha256
        else "<p>The audio has not arrived yet.</p>"
    )
    head = (
        f"<h1>{escape(str(m.get('auscultation_site')))} · {escape(str(m.get('kind')))}</h1>"
        f"<p>Care home {escape(view.site)}, resident {escape(str(m.get('resident')))}, "
        f"recorded {escape(str(m.get('started_at')))}{', partial' if m.get('partial') else ''}"
        f"{_exam_link(m.get('exam_id'))}</p>"
    )
    findings = _findings(m.get("analysis"), m.get("analysis_error"))
    if view.audio_sha256 and m.get("analysis") is not None:
        findings += (
            f'<img id="picture" alt="waveform with the sounds found, spectrogram, reasons"'
            f' class="picture" src="/recordings/{escape(view.recording_id)}/picture.png">'
        )
    return layout(
        "Recording",
        f'<div class="card">{head}{audio}<p id="duration" data-seconds="{seconds:.3f}">'
        f"Length {seconds:.1f} s</p></div>"
        f'<div class="card"><h2>Findings</h2>{findings}'
        "<p><em>Decision support, not a diagnosis.</em></p></div>"
        + decision_form(
            f"/recordings/{view.recording_id}", str(m.get("auscultation_site")), csrf, sent_now
        )
        + f'<div class="card"><h2>Same resident, other recordings</h2>{_earlier(earlier)}</div>',
        user,
        csrf,
    )


def _source(source: str, state: str, at: str | None, detail: dict[str, Any]) -> str:
    extra = []
    for key in ("battery_pct", "battery", "outbox_backlog", "backlog", "alarm"):
        if key in detail:
            extra.append(f"{key.replace('_', ' ')} {detail[key]}")
    receipts = detail.get("receipts")
    if isinstance(receipts, dict) and "awaiting" in receipts:
        extra.append(f"waiting for a receipt {receipts['awaiting']}")
    when = f" since {escape(at[:19].replace('T', ' '))}" if at else ""
    details = f" ({escape(', '.join(str(x) for x in extra))})" if extra else ""
    label = f'<span class="{escape(state)}">{escape(source)}: {escape(state)}</span>'
    return f"<li>{label}{when}{details}</li>"


def _fhir(status: QueueStatus | None) -> str:
    if status is None:
        return ""
    error = (
        f'<p class="alarm">Last error: {escape(status.last_error)}</p>' if status.last_error else ""
    )
    return (
        '<div class="card" id="fhir"><h2>Hospital record (FHIR)</h2>'
        f"<p>{status.sent} exams sent; {status.queued} waiting; {status.failing} failing; "
        f"{status.rejected} refused by the server.</p>{error}</div>"
    )


def homes(rows: list[HomeRow], user: str, csrf: str, fhir: QueueStatus | None = None) -> str:
    cards = "".join(
        f'<div class="card home"><h2>{escape(h.site)}</h2><ul>'
        + "".join(_source(*s) for s in h.sources)
        + f"</ul><p>{h.archived} recordings archived; {h.waiting_for_audio} waiting for their"
        f" audio; newest {escape((h.newest_recording or 'none')[:19].replace('T', ' '))}</p></div>"
        for h in rows
    )
    body = f"<h1>Care homes</h1>{_fhir(fhir)}{cards or '<p>None yet.</p>'}"
    return layout("Care homes", body, user, csrf)


def not_found(user: str | None, csrf: str) -> str:
    return layout("Not found", "<h1>Not found</h1><p>No such page, or not yours to see.</p>",
                 user, csrf)  # fmt: skip


SCRIPT = """
(function () {
  var table = document.getElementById("inbox");
  if (!table || !window.EventSource) return;
  var events = new EventSource("/events");
  events.addEventListener("alert", function () { window.location.reload(); });
})();
"""
