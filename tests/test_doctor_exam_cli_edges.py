"""`stetho answer` and `stetho request` in-process: the message each sends, to which broker, the
line it prints, and each refusal word for word (the subprocess tests need a broker: 3.5 s a
command)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from edge_agent.errors import ConnectError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings
from stetho_doctor import client
from stetho_doctor.exam_cli import answer, request

EXAM = uuid.UUID(int=7)
BROKER = ["--broker", "mqtt://broker.example:1884"]
Sent = list[tuple[MqttSettings, OutboundMessage]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    published: Sent = []

    async def publish_once(settings: MqttSettings, message: OutboundMessage) -> None:
        published.append((settings, message))

    monkeypatch.setattr(client, "publish_once", publish_once)
    monkeypatch.setattr("getpass.getuser", lambda: "dr-login")
    return published


def _run(*args: str) -> Any:
    app = typer.Typer()
    app.command("answer")(answer)
    app.command("request")(request)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


def _said(result: Any) -> str:
    return " ".join(result.stderr.split())


def _body(message: OutboundMessage) -> dict[str, Any]:
    body = json.loads(message.payload)
    assert isinstance(body, dict)
    return body


def test_an_answer_is_sent_to_the_exams_answers_of_its_home(sent: Sent) -> None:
    result = _run("answer", str(EXAM), "--site", "home-a", "--disposition", "gp-visit-24h",
                  "--note", "lundi", "--by", "dr-lee", *BROKER)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _said(result) == (
        f"sent the answer to exam {EXAM} on stetho/v1/home-a/exams/answers; the nurses' page "
        "shows it if care home home-a holds the exam"
    )
    [(settings, message)] = sent
    assert (settings.host, settings.port) == ("broker.example", 1884)
    assert message.topic == "stetho/v1/home-a/exams/answers" and message.qos == 1
    body = _body(message)
    assert (body["exam_id"], body["disposition"], body["note"], body["by"]) == (
        str(EXAM), "gp-visit-24h", "lundi", "dr-lee"
    )  # fmt: skip


def test_an_answer_without_by_is_signed_with_the_login_name(sent: Sent) -> None:
    result = _run("answer", str(EXAM), "--site", "home-a", "--disposition", "no-action", *BROKER)
    assert result.exit_code == 0, result.output
    body = _body(sent[0][1])
    assert (body["by"], body["disposition"], body["note"]) == ("dr-login", "no-action", None)


def test_an_unknown_disposition_is_refused_before_anything_is_sent(sent: Sent) -> None:
    result = _run("answer", str(EXAM), "--site", "home-a", "--disposition", "later", *BROKER)
    assert result.exit_code == 2 and not sent
    assert _said(result) == (
        "error: --disposition: 'later' is not one of: no-action, gp-visit-24h, urgent-visit-today, "
        "hospital-transfer, re-record"
    )


def test_a_broker_that_cannot_be_reached_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def publish_once(settings: MqttSettings, message: OutboundMessage) -> None:
        raise ConnectError("broker.example:1884: connection refused")

    monkeypatch.setattr(client, "publish_once", publish_once)
    result = _run(
        "answer", str(EXAM), "--site", "home-a", "--disposition", "urgent-visit-today", *BROKER
    )
    assert result.exit_code == 1
    assert _said(result) == "error: broker.example:1884: connection refused"


def test_a_request_is_sent_to_the_agent_of_its_home(sent: Sent) -> None:
    result = _run("request", "--resident", "r-17", "--at", "mitral", "--site", "home-a",
                  "--agent", "pi-02", "--duration", "12.5", "--by", "dr-lee", *BROKER)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _said(result) == "requested mitral for r-17"
    [(settings, message)] = sent
    assert (settings.host, settings.port) == ("broker.example", 1884)
    assert message.topic == "stetho/v1/home-a/pi-02/cmd"
    body = _body(message)
    assert (body["action"], body["resident"], body["auscultation_site"]) == (
        "record_request", "r-17", "mitral"
    )  # fmt: skip
    assert (body["duration_s"], body["by"]) == (12.5, "dr-lee")


def test_a_request_defaults_to_the_agent_named_agent_and_the_login_name(sent: Sent) -> None:
    result = _run("request", "--resident", "r-17", "--at", "aortic", "--site", "home-a", *BROKER)
    assert result.exit_code == 0, result.output
    [(_, message)] = sent
    assert message.topic == "stetho/v1/home-a/agent/cmd"
    body = _body(message)
    assert (body["by"], body.get("duration_s"), body["auscultation_site"]) == (
        "dr-login", None, "aortic"
    )  # fmt: skip


def test_a_site_the_agent_does_not_record_at_is_refused(sent: Sent) -> None:
    result = _run("request", "--resident", "r-17", "--at", "heart", "--site", "home-a", *BROKER)
    assert result.exit_code == 2 and not sent
    assert _said(result).startswith("error: --at: 'heart' is not one of: aortic, pulmonic")


def test_a_name_typed_as_the_resident_is_refused_and_not_echoed(sent: Sent) -> None:
    result = _run("request", "--resident", "Jane Doe", "--at", "mitral", "--site", "home-a",
                  *BROKER)  # fmt: skip
    assert result.exit_code == 2 and not sent
    assert "Jane" not in result.output
    assert _said(result) == (
        "error: --resident: expected the care home's opaque reference (1-63 lower-case "
        "letters, digits and dashes), never a name"
    )


def test_a_value_the_schema_refuses_is_named_by_its_option(sent: Sent) -> None:
    result = _run("answer", str(EXAM), "--site", "home-a", "--disposition", "no-action",
                  "--by", "b" * 81, *BROKER)  # fmt: skip
    assert result.exit_code == 2 and not sent
    assert _said(result) == "error: --by: String should have at most 80 characters"
