"""The agent's local exam API, for `stetho exam` on the Pi itself: JSON over a unix socket.

Only processes that can open the socket (mode 0600, the agent's own user, and root) reach
it, so it needs no sign-in; it calls the same ExamService the page calls.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from edge_agent.errors import AgentError
from edge_agent.exam.errors import UnknownExamError, UnknownSiteError
from edge_agent.exam.model import Exam, SiteRecording, check_age_band
from edge_agent.exam.service import ExamService

SERVICE: web.AppKey[ExamService] = web.AppKey("exams", ExamService)


def exam_json(exam: Exam) -> dict[str, Any]:
    return {
        "exam_id": str(exam.exam_id), "resident": exam.resident, "staff": exam.staff,
        "protocol": exam.protocol, "age_band": exam.age_band, "state": exam.state.value,
        "next_site": exam.next_site(),
        "sites": [{"site": s.site, "state": s.state, "attempts": s.attempts,
                   "level": s.counted.level if s.counted else None} for s in exam.statuses()],
    }  # fmt: skip


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except AgentError as exc:
        return web.json_response({"error": str(exc)}, status=409)
    except (ValueError, KeyError, TypeError) as exc:
        return web.json_response({"error": f"bad request: {exc}"}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    """The posted JSON object; anything else (a list, a string, bad JSON) is a bad request."""
    body = await request.json()  # bad JSON: a ValueError, a 400 by _errors
    if not isinstance(body, dict):
        raise TypeError(
            f"the body must be a JSON object, not {_JSON_KINDS.get(type(body), 'that')}"
        )
    return body


_JSON_KINDS = {list: "an array", str: "a string", bool: "true or false", int: "a number",
               float: "a number", type(None): "null"}  # fmt: skip


def _exam_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["exam_id"])
    except ValueError as exc:
        raise UnknownExamError("not an exam id") from exc


async def _open(request: web.Request) -> web.Response:
    body = await _body(request)
    exam = await request.app[SERVICE].open_exam(
        str(body["resident"]), str(body["staff"]), str(body.get("reason", "")),
        str(body.get("protocol", "heart-4")), tuple(body.get("sites", ())),
        check_age_band(str(body.get("age_band", "adult"))),
    )  # fmt: skip
    return web.json_response(exam_json(exam))


async def _record(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    body = await _body(request)
    exam = service.active(_exam_id(request))
    site = body.get("site") or exam.next_site()
    if site is None:
        raise UnknownSiteError("every site of this exam is recorded: give --site to re-record")
    device = body.get("device") or next(
        (
            d
            for d, s in service.slots.items()
            if s.connected and s.claimed_by in (None, exam.exam_id)
        ),
        "",
    )
    rid = await service.record(exam.exam_id, str(site), str(device), str(body["staff"]),
                               body.get("duration_s"))  # fmt: skip
    length_s = service.length_for(exam.exam_id, body.get("duration_s"))  # the CLI waits this
    return web.json_response(
        {"recording_id": str(rid), "site": site, "device": device, "duration_s": length_s}
    )


async def _recording(request: web.Request) -> web.Response:
    """One recording of the exam: `running`, with the seconds of sound so far, until it is
    analysed and kept; then its verdict (the page's: acceptable or not, with the problem
    codes) and its flags' codes."""
    try:
        rid = uuid.UUID(request.match_info["recording_id"])
    except ValueError as exc:
        raise UnknownExamError("not a recording id") from exc
    service = request.app[SERVICE]
    kept = await service.recording(_exam_id(request), rid)
    if kept is None:
        return web.json_response({
            "recording_id": str(rid), "state": "running", "recorded_s": service.recorded_s(rid),
        })  # fmt: skip
    return web.json_response({
        "recording_id": str(rid), "state": "recorded", "site": kept.site,
        "duration_s": kept.duration_s, "acceptable": kept.acceptable,
        "problems": list(kept.problems), "level": kept.level, "flags": _flag_codes(kept),
    })  # fmt: skip


def _flag_codes(kept: SiteRecording) -> list[str]:
    """The flags' codes (findings saved before flags kept their numbers held the codes alone)."""
    flags = kept.findings.get("flags")
    if not isinstance(flags, list):
        return []
    return [str(f.get("code") if isinstance(f, dict) else f) for f in flags]


async def _close(request: web.Request) -> web.Response:
    body = await _body(request)
    exam = await request.app[SERVICE].close(
        _exam_id(request), str(body["staff"]), abandon=bool(body.get("abandon"))
    )
    return web.json_response(exam_json(exam))


async def _show(request: web.Request) -> web.Response:
    return web.json_response(exam_json(await request.app[SERVICE].exam(_exam_id(request))))


async def _list(request: web.Request) -> web.Response:
    return web.json_response([exam_json(e) for e in request.app[SERVICE].exams.values()])


def build_api(service: ExamService) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=64 * 1024)
    app[SERVICE] = service
    app.router.add_get("/api/exams", _list)
    app.router.add_post("/api/exams", _open)
    app.router.add_get("/api/exams/{exam_id}", _show)
    app.router.add_post("/api/exams/{exam_id}/record", _record)
    app.router.add_get("/api/exams/{exam_id}/recordings/{recording_id}", _recording)
    app.router.add_post("/api/exams/{exam_id}/close", _close)
    return app
