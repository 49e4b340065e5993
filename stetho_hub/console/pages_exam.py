"""The exam view and the live page: plain functions from data to markup, every value escaped.

One card per auscultation site, in the protocol's order: the recording that counts (player,
picture, findings with measured values and thresholds), the re-records beside it; the
resident's earlier exams and timeline in the side column. Words come from `words`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from edge_agent.wire.flag_names import flag_name
from stetho_common.decimal_mark import local_number
from stetho_hub.console import timeline
from stetho_hub.console.pages import decision_form, findings, layout, protocol_name
from stetho_hub.storage.exam_views import ExamView, ResidentExam
from stetho_hub.storage.views import RecordingView

Words = dict[str, str]


def _when(value: object) -> str:
    return escape(str(value or "")[:16].replace("T", " "))


def _counted(rec: RecordingView, w: Words, lang: str) -> str:
    rid = escape(rec.recording_id)
    m = rec.metadata
    seconds = int(m.get("n_samples", 0)) / max(1, int(m.get("sample_rate_hz", 1)))
    if rec.audio_sha256 is None:
        media = f"<p>{w['no_audio']}</p>"
    else:
        media = (
            f'<audio class="player" controls preload="metadata"'
            f' data-kind="{escape(str(m.get("kind")))}" data-seconds="{seconds:.3f}"'
            f' src="/recordings/{rid}/audio"></audio>'
        )
        if m.get("analysis") is not None:
            media += (
                f'<img class="picture" loading="lazy" alt="{escape(w["picture"])}"'
                f' src="/recordings/{rid}/picture.png?lang={escape(lang)}">'
            )
    length = local_number(seconds, lang, ".1f")
    return (
        f"<h3>{w['counted']} · {_when(m.get('started_at'))} · {length} s"
        f' · <a href="/recordings/{rid}">{w["open_recording"]}</a></h3>'
        f"{media}{findings(m, w, lang)}"
    )


def _site_card(doc: dict[str, Any], view: ExamView, w: Words, lang: str) -> str:
    name = str(doc.get("auscultation_site"))
    state = str(doc.get("state"))
    counted_id = str(doc.get("counted_recording_id") or "")
    counted = view.recordings.get(counted_id)
    if counted is not None:
        body = _counted(counted, w, lang)
    else:  # nothing taken here yet, or taken and its metadata still on its way
        body = f"<p>{w['not_arrived' if counted_id else 'not_recorded']}</p>"
    others = [str(r) for r in doc.get("recording_ids", []) if str(r) != counted_id]
    if others:
        when = {r: _when(v.metadata.get("started_at")) for r, v in view.recordings.items()}
        items = "".join(
            f'<li><a href="/recordings/{escape(r)}">{when.get(r) or escape(r[:8])}</a></li>'
            for r in others
        )
        body += f'<p>{w["rerecords"]}{w["colon"]}</p><ul class="rerecords">{items}</ul>'
    return (
        f'<section class="card site" data-site="{escape(name)}"><h2>'
        f"{escape(w.get('site.' + name, name))} <small>({escape(w.get('site.' + state, state))})"
        f"</small></h2>{body}</section>"
    )


def player_controls(w: Words, lang: str, bands: dict[str, tuple[float, float]]) -> str:
    options = "".join(
        f'<option value="{name}">{w["band." + name]}'
        f"{f' {lo:.0f}-{hi:.0f} Hz' if (lo, hi) != (0.0, 0.0) else ''}</option>"
        for name, (lo, hi) in (("off", (0.0, 0.0)), *bands.items())
    )
    data = " ".join(f'data-{name}="{lo:g},{hi:g}"' for name, (lo, hi) in bands.items())
    return (
        f'<div class="card controls" id="player-controls" {data}><strong>{w["player"]}</strong>'
        f'<label>{w["volume"]} <input type="range" id="volume" min="0" max="4" step="0.1"'
        f' value="1"></label> <output id="volume-value">{local_number(1.0, lang, ".1f")}×</output>'
        f'<label>{w["band"]} <select id="band">{options}</select></label></div>'
    )


def _earlier(exams: list[ResidentExam], current: str, w: Words, lang: str) -> str:
    others = [e for e in reversed(exams) if e.exam_id != current]
    if not others:
        return f"<p>{w['no_earlier']}</p>"
    items = []
    for e in others:
        p = timeline.point(e)
        level = p.level or "-"
        rates = " · ".join(
            f"{v:.0f}{unit}"
            for v, unit in (
                (p.heart_bpm, f" {w['unit.heart']}"),
                (p.breaths_bpm, f" {w['unit.breaths']}"),
            )
            if v is not None
        )
        items.append(
            f'<li><a href="/exams/{escape(e.exam_id)}">{_when(e.exam.get("opened_at"))}</a>'
            f' {protocol_name(e.exam, w)} · <span class="{escape(level)}">'
            f"{escape(w.get('level.' + level, level))}</span>{' · ' + rates if rates else ''}"
            f"{' · ' + escape(', '.join(flag_name(c, lang) for c in p.flags)) if p.flags else ''}"
            "</li>"
        )
    return f'<ul id="earlier-exams">{"".join(items)}</ul>'


def _live_links(view: ExamView, w: Words) -> str:
    devices = sorted({str(r.metadata.get("device")) for r in view.recordings.values()})
    return "".join(
        f'<p><a class="live" href="/live/{escape(view.site)}/{escape(d)}">'
        f"{w['live']}{w['colon']} {escape(d)}</a></p>"
        for d in devices
    )


def exam(
    view: ExamView, history: list[ResidentExam], user: str, csrf: str, lang: str, w: Words,
    bands: dict[str, tuple[float, float]], sent_now: str | None = None,
) -> str:  # fmt: skip
    e = view.exam
    state = str(e.get("state"))
    head = (
        f'<div class="card"><h1>{w["exam"]} · {protocol_name(e, w)}'
        f" <small>({escape(w.get('exam.state.' + state, state))})</small></h1><p>{w['care_home']} "
        f"{escape(view.site)}, {w['resident']} {escape(view.resident)}, {w['opened']} "
        f"{_when(e.get('opened_at'))} UTC</p>"
        f"<p>{w['reason']}{w['colon']} {escape(str(e.get('reason')))}</p>"
        f"{_live_links(view, w)}<p><em>{w['support']}</em></p></div>"
    )
    sites = "".join(_site_card(s, view, w, lang) for s in e.get("sites", []))
    plot = timeline.svg(history, view.exam_id, lang, {
        "heart": w["timeline.heart"], "breaths": w["timeline.breaths"],
        "flags": w["timeline.flags"], "title": w["timeline"],
    })  # fmt: skip
    side = (
        f'<aside><div class="card"><h2>{w["timeline"]}</h2>{plot}</div>'
        f'<div class="card"><h2>{w["earlier"]}</h2>{_earlier(history, view.exam_id, w, lang)}</div>'
        "</aside>"
    )
    first = next((str(s.get("auscultation_site")) for s in e.get("sites", [])), "")
    decision = decision_form(f"/exams/{view.exam_id}", first, csrf, sent_now, w)
    body = (
        f"{head}{player_controls(w, lang, bands)}"
        f'<div class="exam"><div id="sites">{sites}{decision}</div>{side}</div>'
    )
    return layout(w["exam"], body, user, csrf, lang, w, ("player.js",))


def live(
    site: str, device: str, user: str, csrf: str, lang: str, w: Words,
    bands: dict[str, tuple[float, float]],
) -> str:  # fmt: skip
    socket = f"/live/{escape(site)}/{escape(device)}/socket"
    body = (
        f'<div class="card" id="live" data-socket="{socket}"'
        f' data-heard="{escape(w["live.heard"])}"'
        f' data-unreachable="{escape(w["live.unreachable"])}">'
        f"<h1>{w['live.title']} · "
        f"{escape(site)} · {escape(device)}</h1><p>{w['live.hint']}</p>"
        f'<p><button type="button" id="live-start">{w["live.start"]}</button> '
        f'<button type="button" id="live-stop" disabled>{w["live.stop"]}</button></p>'
        f'<p id="live-status" aria-live="polite">{w["live.idle"]}</p></div>'
        f"{player_controls(w, lang, bands)}"
    )
    return layout(w["live.title"], body, user, csrf, lang, w, ("player.js", "live.js"))
