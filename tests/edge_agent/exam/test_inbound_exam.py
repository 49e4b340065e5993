"""A doctor's record_request and exam answer, as the agent's inbound handler receives them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from edge_agent.pipeline.live import LiveStreamer
from edge_agent.runtime.commands import InboundHandler
from edge_agent.transport.mqtt import ReceivedMessage
from edge_agent.wire import messages, topics

SITE = "home"


def _handler(requests: list[messages.CommandMessage],
             answers: list[messages.ExamAnswerMessage]) -> InboundHandler:  # fmt: skip
    live = LiveStreamer(SITE, lambda m: True)
    return InboundHandler(
        SITE, "pi", frozenset({"steth-1"}), live, lambda: None,
        on_exam_answer=answers.append, on_record_request=requests.append,
    )  # fmt: skip


def _message(topic: str, body: dict[str, object]) -> ReceivedMessage:
    return ReceivedMessage(topic, json.dumps(body).encode(), False, "application/json", ())


def _request(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "schema": "stetho.command", "schema_version": 1, "command_id": str(uuid.uuid4()),
        "action": "record_request", "by": "dr-b", "at": datetime.now(tz=UTC).isoformat(),
        "resident": "res-1", "auscultation_site": "mitral", "duration_s": 20,
    }  # fmt: skip
    body.update(changes)
    return body


def test_a_record_request_needs_no_device_and_reaches_the_exams() -> None:
    requests: list[messages.CommandMessage] = []
    handler = _handler(requests, [])
    assert topics.exam_answers(SITE) in handler.subscriptions()
    handler.handle(_message(topics.command(SITE, "pi"), _request()))
    assert [(r.resident, r.auscultation_site, r.duration_s) for r in requests] == [
        ("res-1", "mitral", 20.0)
    ]
    handler.handle(_message(topics.command(SITE, "pi"), _request(resident=None)))
    handler.handle(_message(topics.command(SITE, "pi"), _request(resident="Mrs Smith")))
    handler.handle(_message(topics.command(SITE, "pi"), _request(duration_s=900)))
    assert len(requests) == 1 and handler.stats.rejected == 3


def test_an_exam_answer_is_parsed_strictly() -> None:
    answers: list[messages.ExamAnswerMessage] = []
    handler = _handler([], answers)
    good = {"schema": "stetho.exam-answer", "schema_version": 1, "exam_id": str(uuid.uuid4()),
            "by": "dr-b", "disposition": "hospital-transfer", "note": None,
            "at": datetime.now(tz=UTC).isoformat()}  # fmt: skip
    handler.handle(_message(topics.exam_answers(SITE), good))
    handler.handle(_message(topics.exam_answers(SITE), {**good, "disposition": "maybe"}))
    assert [a.disposition for a in answers] == ["hospital-transfer"] and handler.stats.rejected == 1


def test_commands_without_the_new_keys_stay_version_1_bytes() -> None:
    ping = messages.CommandMessage(command_id=uuid.uuid4(), action="ping", by="dr-b",
                                   at=datetime.now(tz=UTC))  # fmt: skip
    assert set(json.loads(messages.to_json(ping))) == {
        "schema", "schema_version", "command_id", "action", "device", "timeout_s", "by", "at"
    }  # fmt: skip
