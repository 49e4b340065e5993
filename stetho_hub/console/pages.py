"""The console's HTML: plain functions from data to markup; every value is escaped here."""

from __future__ import annotations

from html import escape
from typing import Any

from edge_agent.wire.alarm_words import alarm_text
from edge_agent.wire.flag_names import flag_name
from edge_agent.wire.flag_words import flag_text_of
from stetho_common.decimal_mark import local_number
from stetho_hub.console.decisions import LABELS, SITES
from stetho_hub.fhir.queue import QueueStatus
from stetho_hub.storage.views import EarlierRow, HomeRow, InboxRow, LatestExam, RecordingView
from stetho_signal.quality import FAINT_BELOW_DBFS

# Controls are at least 44 px tall: the console is read on ward tablets too (Apple's HIG, WCAG
# 2.5.5), and a doctor's finger must not open the wrong recording.
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#12355b;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header form{margin-left:auto} main{padding:1rem;max-width:70rem}
table{border-collapse:collapse;width:100%;background:#fff}
.unseen{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
td,th{padding:.4rem .6rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}
.urgent{color:#b00020;font-weight:700} .review{color:#8a5a00;font-weight:700}
.card{background:#fff;padding:1rem;margin-bottom:1rem;border:1px solid #dde}
.error{color:#b00020} button{padding:.4rem .9rem} .lang a{margin-right:.4rem}
.mains-hum,.faint{background:#fff6e0;border-left:4px solid #8a5a00;padding:.4rem .6rem}
.lang a[aria-current]{font-weight:700;text-decoration:none}
header a{color:#fff} .picture{max-width:100%;height:auto} audio{width:100%}
.exam{display:grid;grid-template-columns:minmax(0,2fr) minmax(16rem,1fr);gap:1rem}
@media (max-width:900px){.exam{grid-template-columns:minmax(0,1fr)}}
.controls{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
svg .axis{font-size:11px;fill:#555} svg .grid{stroke:#ccc} svg .flag{font-size:12px}
svg .flag.urgent{fill:#b00020;font-weight:700} svg .flag.review{fill:#8a5a00}
button,select,input,textarea{min-height:44px;box-sizing:border-box;font-size:1rem}
header a,main a{display:inline-block;min-height:44px;min-width:44px;padding:.7rem 0;
box-sizing:border-box}
.controls label{display:inline-flex;align-items:center;gap:.4rem}
"""


Words = dict[str, str]
# The switch names each language in itself, so a reader finds theirs whatever the page speaks.
SWITCH = (("en", "English"), ("fr", "Français"))


def layout(
    title: str,
    body: str,
    user: str | None,
    csrf: str,
    lang: str,
    w: Words,
    scripts: tuple[str, ...] = (),
) -> str:
    signout = ""
    if user:
        signout = (
            f'<span>{escape(user)}</span><form method="post" action="/signout">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<button type="submit">{w["nav.signout"]}</button></form>'
        )
    current = ' aria-current="true"'
    switch = " ".join(
        f'<a href="?lang={code}" hreflang="{code}" lang="{code}"'
        f"{current if code == lang else ''}>{name}</a>"
        for code, name in SWITCH
    )
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · stetho hub</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="stylesheet" href="/static/console.css">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head><body>'
        f'<header><strong>stetho hub</strong><a href="/">{w["nav.inbox"]}</a>'
        f'<a href="/homes">{w["nav.homes"]}</a><nav class="lang" id="lang">{switch}</nav>'
        f"{signout}</header><main>{body}</main>"
        '<script src="/static/console.js"></script>'
        + "".join(f'<script src="/static/{escape(s)}"></script>' for s in scripts)
        + "</body></html>"
    )


def refusal(title: str, text: str, w: Words) -> str:
    return (
        f'<div class="card" id="refused"><h1>{escape(title)}</h1>'
        f'<p class="error" role="alert">{escape(text)}</p><p><a href="/">{w["back"]}</a></p></div>'
    )


def signin(csrf: str, lang: str, w: Words, error: str = "") -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return layout(
        w["signin.title"],
        f'<div class="card"><h1>{w["signin.title"]}</h1>{message}'
        f'<form method="post" action="/signin"><input type="hidden" name="csrf"'
        f' value="{escape(csrf)}"><p><label>{w["signin.user"]} <input name="username"'
        ' id="username" autocomplete="username" required></label></p>'
        f'<p><label>{w["signin.password"]} <input type="password" name="password" id="password"'
        ' autocomplete="current-password" required></label></p>'
        f'<button type="submit" id="signin">{w["signin.title"]}</button></form></div>',
        None,
        "",
        lang,
        w,
    )


def _when(value: str) -> str:
    return escape(value[:19].replace("T", " "))


def _exam_link(exam_id: object, w: Words) -> str:
    if not exam_id:
        return ""
    return f' · <a class="exam-link" href="/exams/{escape(str(exam_id))}">{w["inbox.exam"]}</a>'


def _inbox_row(r: InboxRow, w: Words, lang: str) -> str:
    pending = "" if r.archived else f" ({w['inbox.pending']})"
    reasons = (flag_text_of(f, lang, r.age_band) for f in r.flags)
    return (
        f'<tr><td class="{escape(r.level)}">{escape(w.get("level." + r.level, r.level))}</td>'
        f"<td>{escape(r.site)}</td><td>{_when(r.recorded_at)} UTC</td>"
        f"<td>{escape(r.resident)}</td>"
        f"<td>{escape(w.get('site.' + r.auscultation_site, r.auscultation_site))}</td>"
        f"<td>{'<br>'.join(escape(x) for x in reasons)}</td>"
        f'<td><a class="open" href="/recordings/{escape(r.recording_id)}">{w["inbox.open"]}</a>'
        f"{pending}{_exam_link(r.exam_id, w)}</td></tr>"
    )


def inbox(
    rows: list[InboxRow], user: str, csrf: str, lang: str, w: Words, since: str | None = None
) -> str:
    """The inbox; `since`: the newest alert when it was read, from which the page's alerts
    stream reloads it (an alert arriving before the stream connects is not missed)."""
    lines = "".join(_inbox_row(r, w, lang) for r in rows)
    empty = "" if rows else f'<p id="empty">{w["inbox.empty"]}</p>'
    # Empty, the table is hidden, not left out: a screen reader would announce seven headed
    # columns over no row (axe leaves it for review), while the script still finds the table
    # to reload the page when an alert arrives.
    hidden = "" if rows else " hidden"
    heads = "".join(
        f"<th>{w[k]}</th>"
        for k in ("inbox.level", "care_home", "inbox.recorded", "inbox.resident", "inbox.site")
    )
    return layout(
        w["inbox.title"],
        f"<h1>{w['inbox.title']}</h1><p>{w['inbox.lead']}</p>"
        f'<table id="inbox" data-live="1" data-since="{escape(since or "")}"{hidden}>'
        f"<thead><tr>{heads}<th>{w['inbox.why']}</th>"
        f'<th><span class="unseen">{w["inbox.links"]}</span></th>'
        f"</tr></thead><tbody>{lines}</tbody></table>{empty}",
        user,
        csrf,
        lang,
        w,
    )


# The unit of a flag's value and threshold by code (stetho_signal._rules): a rate per minute,
# the longest wheeze and a short clip's length in seconds, the murmur's and the half rate's
# ratios as times, the snap's share of beats in percent. A quality score, a crackle count or
# the RMSSD has none.
_TIMES = frozenset({"heart_murmur", "heart_possible_half_rate"})
_SECONDS = frozenset({"lung_wheeze", "heart_short_clip"})


def _measure(code: str, x: object, lang: str) -> str:
    """A flag's value or threshold with its unit, in the reader's numbers ("0,16 s")."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)  # what the wire sent, as it came
    if code == "heart_opening_snap":
        return f"{local_number(100 * x, lang, '.0f')}\u00a0%"
    said = local_number(x, lang)
    if code.startswith(("heart_rate_", "respiratory_rate_")):
        return f"{said}/min"
    if code in _SECONDS:
        return f"{said}\u00a0s"
    return f"{said}×" if code in _TIMES else said


def _flag(flag: dict[str, Any], w: Words, lang: str, age_band: object) -> str:
    code = str(flag.get("code"))
    parts = [
        f"{w[key]} {escape(_measure(code, flag[name], lang))}"
        for name, key in (("value", "measured"), ("threshold", "threshold"))
        if flag.get(name) is not None
    ]
    measured = f' <span class="measured">({", ".join(parts)})</span>' if parts else ""
    return (
        f'<li class="flag" data-code="{escape(code)}"><strong>'
        f"{escape(flag_name(code, lang))}</strong>{w['colon']} "
        f"{escape(flag_text_of(flag, lang, age_band))}"
        f"{measured}</li>"
    )


def mains_hum(analysis: dict[str, Any], w: Words) -> str:
    """The mains hum the analysis took out (`quality.mains_hum_hz`), or nothing: the doctor
    hears it in the audio, which is archived as recorded. Older agents never send the key."""
    found = (analysis.get("quality") or {}).get("mains_hum_hz") or []
    hz = [float(f) for f in found if isinstance(f, int | float) and not isinstance(f, bool)]
    if not hz:
        return ""
    said = w["hum.and"].join(f"{f:.0f} Hz" for f in hz)  # 49.98 as measured: "50 Hz"
    data = escape(" ".join(f"{f:g}" for f in hz))
    return f'<p class="mains-hum" data-hz="{data}">{escape(w["hum"].format(hz=said))}</p>'


def faint(analysis: dict[str, Any], w: Words) -> str:
    """The band's level of a faint recording the analysis judged clear
    (`quality.faint_level_dbfs`), or nothing: the doctor turns the volume up to listen. Older
    agents never send the key."""
    level = (analysis.get("quality") or {}).get("faint_level_dbfs")
    if not isinstance(level, int | float) or isinstance(level, bool):
        return ""
    said = w["faint"].format(db=f"{float(level):.0f}", usual=f"{FAINT_BELOW_DBFS:.0f}")
    return f'<p class="faint" data-dbfs="{float(level):g}">{escape(said)}</p>'


def findings(meta: dict[str, Any], w: Words, lang: str, level_id: str = "") -> str:
    """A recording's triage, rates and flags (in the reader's language) with their measured
    values and thresholds, and a faint level or the mains hum taken out, if any."""
    analysis = meta.get("analysis")
    if analysis is None:
        error = escape(str(meta.get("analysis_error") or "-"))
        return f"<p>{w['no_analysis']}{w['colon']} {error}</p>"
    triage = analysis.get("triage") or {}
    level = str(triage.get("level"))
    rates = []
    if (rate := (analysis.get("heart") or {}).get("rate_bpm")) is not None:
        rates.append(f"{w['heart_rate']} {float(rate):.0f}/min")
    if (rate := (analysis.get("lung") or {}).get("respiratory_rate_bpm")) is not None:
        rates.append(f"{w['breathing_rate']} {float(rate):.0f}/min")
    band = meta.get("age_band")
    flags = "".join(_flag(f, w, lang, band) for f in triage.get("flags", []))
    ident = f' id="{level_id}"' if level_id else ""
    return (
        f'<p>{w["triage"]}{w["colon"]} <strong{ident} class="level {escape(level)}">'
        f"{escape(w.get('level.' + level, level))}</strong>"
        f"{w['semicolon'] + ' ' + escape(', '.join(rates)) if rates else ''}</p>"
        f"{faint(analysis, w)}"
        f"{mains_hum(analysis, w)}"
        f'<ul class="findings">{flags or "<li>" + w["no_finding"] + "</li>"}</ul>'
    )


def _level(level: str | None, w: Words) -> str:
    return w.get(f"level.{level}", level) if level else w["rec.not_analysed"]


def _earlier(rows: list[EarlierRow], w: Words) -> str:
    if not rows:
        return f"<p>{w['rec.no_other']}</p>"
    items = "".join(
        f'<li><a href="/recordings/{escape(r.recording_id)}">{_when(r.started_at)}</a> '
        f"{escape(w.get('site.' + r.auscultation_site, r.auscultation_site))}"
        f" · {escape(_level(r.triage_level, w))}</li>"
        for r in rows
    )
    return f'<ul id="earlier">{items}</ul>'


def decision_form(action: str, here: str, csrf: str, sent_now: str | None, w: Words) -> str:
    """The decision and the recording request, posted under `action` (a recording or an exam);
    `here` is the auscultation site the request proposes."""
    options = "".join(
        f'<option value="{escape(value)}">{escape(w["disposition." + value])}</option>'
        for value in LABELS
    )
    sent = {
        "decided": f'<p id="decided" class="ok">{w["decision.sent"]}</p>',
        "requested": f'<p id="requested" class="ok">{w["request.sent"]}</p>',
    }.get(sent_now or "", "")
    sites = "".join(
        f'<option value="{escape(s)}"{" selected" if s == here else ""}>'
        f"{escape(w.get('site.' + s, s))}</option>"
        for s in SITES
    )
    hidden = f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    return (
        f'<div class="card"><h2>{w["decision.title"]}</h2>{sent}'
        f'<form method="post" action="{escape(action)}/decision">{hidden}'
        f'<p><label>{w["decision.title"]} <select name="disposition" id="disposition" required>'
        f'<option value="">{w["decision.choose"]}</option>{options}</select></label></p>'
        f'<p><label>{w["decision.note"]} <textarea name="note" id="note" maxlength="1000"'
        ' rows="3"></textarea></label></p>'
        f'<button type="submit" id="send-decision">{w["decision.send"]}</button></form>'
        f'<form method="post" action="{escape(action)}/request">{hidden}'
        f'<p><label>{w["request.at"]} <select name="auscultation_site" id="request-site">'
        f'{sites}</select></label> <label>{w["request.lasting"]} <input name="duration"'
        ' id="request-duration" inputmode="decimal" size="4" placeholder="20"></label> '
        f'<button type="submit" id="request-recording">{w["request.send"]}</button></p></form>'
        "</div>"
    )


def recording(
    view: RecordingView, earlier: list[EarlierRow], user: str, csrf: str, lang: str, w: Words,
    sent_now: str | None = None,
) -> str:  # fmt: skip
    m = view.metadata
    seconds = int(m.get("n_samples", 0)) / max(1, int(m.get("sample_rate_hz", 1)))
    rid = escape(view.recording_id)
    audio = (
        f'<audio id="player" controls preload="metadata" src="/recordings/{rid}/audio"></audio>'
        if view.audio_sha256
        else f"<p>{w['no_audio']}</p>"
    )
    where, kind = str(m.get("auscultation_site")), str(m.get("kind"))
    head = (
        f"<h1>{escape(w.get('site.' + where, where))} · {escape(w.get('kind.' + kind, kind))}"
        f"</h1><p>{w['care_home']} {escape(view.site)}, {w['resident']} "
        f"{escape(str(m.get('resident')))}, {w['rec.recorded']} "
        f"{_when(str(m.get('started_at')))} UTC"
        f"{', ' + w['rec.partial'] if m.get('partial') else ''}"
        f"{_exam_link(m.get('exam_id'), w)}</p>"
    )
    found = findings(m, w, lang, "level")
    if view.audio_sha256 and m.get("analysis") is not None:
        found += (
            f'<img id="picture" alt="{escape(w["picture"])}" class="picture"'
            f' src="/recordings/{rid}/picture.png?lang={escape(lang)}">'
        )
    return layout(
        w["rec.title"],
        f'<div class="card">{head}{audio}<p id="duration" data-seconds="{seconds:.3f}">'
        f"{w['rec.length']} {local_number(seconds, lang, '.1f')} s</p></div>"
        f'<div class="card"><h2>{w["rec.findings"]}</h2>{found}'
        f"<p><em>{w['support']}</em></p></div>"
        + decision_form(f"/recordings/{view.recording_id}", where, csrf, sent_now, w)
        + f'<div class="card"><h2>{w["rec.same_resident"]}</h2>{_earlier(earlier, w)}</div>',
        user,
        csrf,
        lang,
        w,
    )


def _source(
    source: str, state: str, at: str | None, detail: dict[str, Any], w: Words, lang: str
) -> str:
    shown = dict(detail)
    if "alarm" in shown:  # the agent's English sentence, in the reader's language if we can
        shown["alarm"] = alarm_text(str(shown["alarm"]), lang)
    extra = [  # each word table's entry places the value ("batterie 80 %", "battery 80%")
        w["detail." + key].format(value=shown[key])
        for key in ("battery_pct", "battery", "outbox_backlog", "backlog", "alarm")
        if key in shown
    ]
    receipts = detail.get("receipts")
    if isinstance(receipts, dict) and "awaiting" in receipts:
        extra.append(w["detail.receipts"].format(value=receipts["awaiting"]))
    when = f" {w['homes.since']} {_when(at)} UTC" if at else ""
    details = f" ({escape(', '.join(str(x) for x in extra))})" if extra else ""
    label = (
        f'<span class="{escape(state)}">{escape(source)}{w["colon"]} '
        f"{escape(w.get('state.' + state, state))}</span>"
    )
    return f"<li>{label}{when}{details}</li>"


def _fhir(status: QueueStatus | None, w: Words) -> str:
    if status is None:
        return ""
    error = (
        f'<p class="alarm">{w["fhir.last_error"]}{w["colon"]} {escape(status.last_error)}</p>'
        if status.last_error
        else ""
    )
    counts = w["fhir.status"].format(
        sent=status.sent, queued=status.queued, failing=status.failing, rejected=status.rejected
    )
    return f'<div class="card" id="fhir"><h2>{w["fhir.title"]}</h2><p>{counts}</p>{error}</div>'


def _home(h: HomeRow, w: Words, lang: str) -> str:
    counts = w["homes.counts"].format(
        archived=h.archived,
        waiting=h.waiting_for_audio,
        newest=f"{_when(h.newest_recording)} UTC"
        if h.newest_recording
        else w["homes.no_recording"],
    )
    sources = "".join(_source(*s, w, lang) for s in h.sources)
    head = f'<div class="card home"><h2>{escape(h.site)}</h2>'
    return f"{head}<ul>{sources}</ul><p>{counts}</p></div>"


def protocol_name(exam: dict[str, Any], w: Words) -> str:
    """The protocol as the nurse's page names it, with its number of points, escaped; one it
    does not name (a newer agent's) as it came, never formatted: the wire's protocol is any
    string."""
    name = str(exam.get("protocol"))
    text = w.get("protocol." + name)
    return escape(name if text is None else text.format(n=len(exam.get("sites") or ())))


def _latest(exams: list[LatestExam], w: Words) -> str:
    """The latest exams, each linked: a routine exam raises no alert, and before this list no
    page led a doctor to it (the nurse waited for an answer that could not come)."""
    items = []
    for e in exams:
        doc = e.exam
        state = str(doc.get("state"))
        answer = w["homes.answered"] if e.answered else w["homes.unanswered"]
        items.append(
            f'<li><a href="/exams/{escape(e.exam_id)}">{_when(str(doc.get("opened_at") or ""))}'
            f" UTC</a> · {escape(e.site)} · {escape(str(doc.get('resident', '')))} · "
            f"{protocol_name(doc, w)} · {escape(w.get('exam.state.' + state, state))} · "
            f'<span class="{"ok" if e.answered else "review"}">{answer}</span></li>'
        )
    listed = f"<ul>{''.join(items)}</ul>" if items else f"<p>{w['homes.no_exam']}</p>"
    return f'<div class="card" id="latest-exams"><h2>{w["homes.exams"]}</h2>{listed}</div>'


def homes(
    rows: list[HomeRow], user: str, csrf: str, lang: str, w: Words,
    fhir: QueueStatus | None = None, audit: bool = False,
    exams: list[LatestExam] | None = None,
) -> str:  # fmt: skip
    """The care homes' cards and their latest exams; `audit`: an administrator's, with the
    audit log's download (no page linked to it: she had to know /audit.csv)."""
    cards = "".join(_home(h, w, lang) for h in rows)
    link = f'<p><a id="audit" href="/audit.csv" download>{w["homes.audit"]}</a></p>'
    body = (
        f"<h1>{w['homes.title']}</h1>{link if audit else ''}{_fhir(fhir, w)}"
        f"{_latest(exams, w) if exams is not None else ''}"
        f"{cards or '<p>' + w['homes.none'] + '</p>'}"
    )
    return layout(w["homes.title"], body, user, csrf, lang, w)


SCRIPT = """
(function () {
  var table = document.getElementById("inbox");
  if (!table || !window.EventSource) return;
  var since = table.getAttribute("data-since") || "";
  var events = new EventSource("/events?since=" + encodeURIComponent(since));
  events.addEventListener("alert", function () { window.location.reload(); });
})();
"""
