"""The exam screens: start, record site by site, verdicts, summary, doctor's answer; the
stethoscopes and the doctor's requests. Handlers parse, call ExamService, render."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from aiohttp import web

from edge_agent.exam.errors import RequestAnsweredError, UnknownExamError, UnknownResidentError
from edge_agent.exam.model import AGE_BANDS, Exam, check_age_band, recording_length
from edge_agent.exam.protocols import BUILT_IN, CUSTOM
from edge_agent.exam.verdict import NURSE_ADVICE
from edge_agent.web import render as _app
from edge_agent.web.body import POSITIONS
from edge_agent.web.context import Stethoscope, ctx_of, staff_of
from edge_agent.web.names import held_by_her_exams, named_rows
from stetho_common.waits import within

PANEL_AUDIT_S = 600.0  # one audit row per reader and exam for the panel's polls in this time


def _uuid(request: web.Request, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[key])
    except ValueError as exc:
        if key == "request_id":  # said as for a request no longer waiting
            raise RequestAnsweredError(f"{request.match_info[key]!r} is not a request id") from exc
        raise UnknownExamError(f"{request.match_info[key]!r} is not an exam id") from exc


async def _audit(request: web.Request, action: str, subject: str) -> None:
    ctx = ctx_of(request)
    await asyncio.to_thread(ctx.accounts.audit, staff_of(request), action, subject)


async def _audit_panel(request: web.Request, exam_id: str) -> None:
    """The panel shows the exam's findings, verdicts and the doctor's answer, so its reads are
    audited too; but the page polls it every few seconds, so a reader's polls of one exam make
    a row once in PANEL_AUDIT_S, not a row each (the page itself writes `view-exam` each time)."""
    ctx, staff = ctx_of(request), staff_of(request)
    now = ctx.clock()
    reads = ctx.panel_reads
    for key in [k for k, at in reads.items() if now - at >= PANEL_AUDIT_S]:
        del reads[key]
    if (staff, exam_id) not in reads:
        reads[staff, exam_id] = now
        await _audit(request, "view-exam-panel", exam_id)


async def resident(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    found = await ctx.exams.resident(request.match_info["ref"])
    exams = await asyncio.to_thread(ctx.exams.store.exams)
    mine = [e for e in exams if e.resident == found.ref][:10]
    await _audit(request, "view-resident", found.ref)
    protocols = {**{name: len(sites) for name, sites in BUILT_IN.items()}, CUSTOM: 0}
    return _app.render(request, "resident.html", resident=found, exams=mine,
                       protocols=protocols, sites=list(POSITIONS),
                       age_bands=AGE_BANDS)  # fmt: skip


async def open_exam(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    form = await request.post()
    protocol = str(form.get("protocol", "heart-4"))
    custom = tuple(str(v) for v in form.getall("site", [])) if protocol == CUSTOM else ()
    reason = str(form.get("reason", ""))[:200]
    band = check_age_band(str(form.get("age_band", "adult")))
    exam = await ctx.exams.open_exam(
        str(form.get("resident", "")), staff_of(request), reason, protocol, custom, band
    )
    await _audit(request, "open-exam", str(exam.exam_id))
    raise web.HTTPSeeOther(f"/exams/{exam.exam_id}")


async def _exam_values(request: web.Request, exam: Exam) -> dict[str, Any]:
    ctx = ctx_of(request)
    label = (await ctx.exams.resident(exam.resident)).label
    steths = [s for s in await named_rows(ctx) if not s.monitoring]
    latest = exam.recordings[-1] if exam.recordings else None
    return {
        "exam": exam, "label": label, "statuses": exam.statuses(), "next_site": exam.next_site(),
        "positions": POSITIONS, "stethoscopes": steths, "latest": latest,
        "advice": [NURSE_ADVICE.get(c, "advice.noise") for c in latest.problems] if latest else [],
        "answers": await ctx.exams.answers(exam.exam_id), "version": ctx.exams.changes.version,
        "progress": _progress(ctx, exam), **await _picker_values(request, steths, exam.exam_id),
    }  # fmt: skip


async def _picker_values(
    request: web.Request, steths: list[Stethoscope], exam_id: uuid.UUID
) -> dict[str, Any]:
    """What the stethoscope picker shows. The panel carries it too, for the page's script to
    keep the open page's picker current (a stethoscope taken or freed meanwhile); the labels
    of her other exams' residents are read only while such an exam holds a stethoscope."""
    choosable = _choosable(steths, exam_id)
    held_own = await held_by_her_exams(ctx_of(request), staff_of(request), steths, but=exam_id)
    all_held = not choosable and any(_held_elsewhere(s, exam_id) for s in steths)
    return {"choosable": choosable, "held_own": held_own, "all_held": all_held}


def _progress(ctx: Any, exam: Exam) -> dict[str, Any] | None:
    running = next((p for p in ctx.exams.running() if p.exam_id == exam.exam_id), None)
    if running is None:
        return None
    done, wanted = running.done_s, running.wanted_s
    return {"device": running.device, "done": done, "wanted": wanted,
            "percent": round(100 * done / wanted)}  # fmt: skip


async def exam_page(request: web.Request) -> web.Response:
    exam = await ctx_of(request).exams.exam(_uuid(request, "exam_id"))
    await _audit(request, "view-exam", str(exam.exam_id))
    return _app.render(request, "exam.html", **await _exam_values(request, exam))


def _held_elsewhere(row: Stethoscope, exam_id: uuid.UUID) -> bool:
    """Held by another exam (hers or a colleague's) or another recording (the button, the API):
    recording into this exam with it is refused (`DeviceBusyError`, `DeviceHeldByOwnExamError`)."""
    return bool(row.holder) and row.held_for != exam_id


def _choosable(rows: list[Stethoscope], exam_id: uuid.UUID) -> frozenset[str]:
    """The stethoscopes the picker offers: connected, and free or already this exam's. The
    others stay listed, disabled, with why (the refusal stays for a page opened before)."""
    return frozenset(r.device for r in rows if r.connected and not _held_elsewhere(r, exam_id))


async def exam_panel(request: web.Request) -> web.Response:
    """The part of the exam screen that changes, for the page's script to swap in."""
    ctx = ctx_of(request)
    exam_id = _uuid(request, "exam_id")
    since = _version(request.query.get("since", ""))
    if since == ctx.exams.changes.version and not _progress(ctx, await ctx.exams.exam(exam_id)):
        # Long poll: answer as soon as something changes, or after a while to keep alive.
        await within(15, ctx.exams.changes.event.wait())
    exam = await ctx.exams.exam(exam_id)
    await _audit_panel(request, str(exam.exam_id))
    response = _app.render(request, "exam_panel.html", **await _exam_values(request, exam))
    response.headers["X-Version"] = str(ctx.exams.changes.version)
    return response


def _version(text: str) -> int:
    """The panel version the page has; -1 (none: answer at once) for what is not a number."""
    try:
        return int(text)
    except ValueError:
        return -1


async def record(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    exam_id = _uuid(request, "exam_id")
    form = await request.post()
    await ctx.exams.record(
        exam_id, str(form.get("site", "")), str(form.get("device", "")), staff_of(request),
        recording_length(str(form.get("duration_s", ""))),
    )  # fmt: skip
    await _audit(request, "record", str(exam_id))
    return _done(request, f"/exams/{exam_id}")


async def stop(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    exam_id = str(_uuid(request, "exam_id"))
    form = await request.post()
    ctx.exams.stop(str(form.get("device", "")))
    await _audit(request, "stop-recording", exam_id)
    return _done(request, f"/exams/{exam_id}")


async def close(request: web.Request, abandon: bool = False) -> web.StreamResponse:
    ctx = ctx_of(request)
    exam_id = _uuid(request, "exam_id")
    await ctx.exams.close(exam_id, staff_of(request), abandon=abandon)
    await _audit(request, "abandon-exam" if abandon else "close-exam", str(exam_id))
    return _done(request, f"/exams/{exam_id}")


async def abandon(request: web.Request) -> web.StreamResponse:
    return await close(request, abandon=True)


def _done(request: web.Request, where: str) -> web.StreamResponse:
    if request.headers.get("X-CSRF-Token"):  # the page's script: it refreshes the panel
        return web.json_response({"ok": True})
    raise web.HTTPSeeOther(where)


async def requests(request: web.Request) -> web.Response:
    """The doctor's requests, each with the resident's label: the nurse knows the room, not the
    opaque code the hospital sent (a code not, or no longer, on this Pi shows bare)."""
    ctx = ctx_of(request)
    wanted = list(ctx.exams.requests.values())
    labels: dict[str, str] = {}
    for ref in {r.resident for r in wanted}:  # a few at most: the doctor asks one at a time
        with contextlib.suppress(UnknownResidentError):
            labels[ref] = (await ctx.exams.resident(ref)).label
    await _audit(request, "list-requests", "-")  # who a doctor asked to hear, by label
    return _app.render(request, "requests.html", requests=wanted, labels=labels,
                       age_bands=AGE_BANDS)  # fmt: skip


async def accept_request(request: web.Request) -> web.StreamResponse:
    """Open an exam of the one requested site for the resident; the nurse records it there."""
    ctx = ctx_of(request)
    request_id = _uuid(request, "request_id")
    form = await request.post()  # a form without the band (an older page): adult, as before
    band = check_age_band(str(form.get("age_band", "adult")))
    exam = await ctx.exams.accept(request_id, staff_of(request), band)
    await _audit(request, "accept-request", str(exam.exam_id))
    raise web.HTTPSeeOther(f"/exams/{exam.exam_id}")


async def dismiss_request(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    request_id = _uuid(request, "request_id")
    ctx.exams.dismiss(request_id)
    await _audit(request, "dismiss-request", str(request_id))
    raise web.HTTPSeeOther("/requests")
