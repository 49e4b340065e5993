"""A doctor's decision in the console reaches the care home as acks (and the exam's answer)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from stetho_hub.console.decisions import DecisionError, decision_messages, recording_request
from stetho_hub.storage import open_database
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running
from stetho_testkit.mqtt_client import MqttTestClient


@pytest.mark.parametrize(("typed", "seconds"), [("12,5", 12.5), (" 12.5 ", 12.5), ("20", 20.0)])
def test_a_requested_length_reads_either_decimal_mark(typed: str, seconds: float) -> None:
    message = recording_request("home-a", "agent-1", "res-1", "mitral", typed, "dr-a")
    assert json.loads(message.payload)["duration_s"] == seconds


@pytest.mark.parametrize(
    ("typed", "key"),
    [("1,2,5", "decision.duration_number"), ("12,5,", "decision.duration_number"),
     ("nan", "decision.duration_number"), ("inf", "decision.duration_number"),
     ("1e2", "decision.duration_number"), ("0,5", "decision.duration_range"),
     ("120,5", "decision.duration_range"), ("-5", "decision.duration_range")],
)  # fmt: skip
def test_a_requested_length_that_is_no_length_is_refused(typed: str, key: str) -> None:
    # The agent's reading (edge_agent.wire.recording_length); "nan" was "1 to 120 s" before.
    with pytest.raises(DecisionError) as refused:
        recording_request("home-a", "agent-1", "res-1", "mitral", typed, "dr-a")
    assert refused.value.key == key


def test_an_exam_gets_its_answer_and_every_alert_its_ack() -> None:
    exam, alert = str(uuid.uuid4()), str(uuid.uuid4())
    out = decision_messages("home-a", exam, [alert], "dr-a", "urgent-visit-today", " 4 pm ")
    assert [m.topic for m in out] == ["stetho/v1/home-a/exams/answers", "stetho/v1/home-a/acks"]
    answer, ack = (json.loads(m.payload) for m in out)
    assert answer["disposition"] == ack["disposition"] == "urgent-visit-today"
    assert answer["note"] == ack["note"] == "4 pm" and ack["alert_id"] == alert
    with pytest.raises(DecisionError, match="choose a decision"):
        decision_messages("home-a", exam, [], "dr-a", "send flowers", "")
    with pytest.raises(DecisionError, match="no one waits"):
        decision_messages("home-a", None, [], "dr-a", "no-action", "")
    with pytest.raises(DecisionError, match="under 1000"):
        decision_messages("home-a", exam, [], "dr-a", "no-action", "x" * 1001)


@pytest.mark.broker
def test_a_doctor_decides_in_the_console_and_the_care_home_hears_it(
    broker: LocalBroker, tmp_path: Path
) -> None:
    publish = broker_settings(broker_from_url(broker.url), None)
    with (
        MqttTestClient(broker.host, broker.port, ["stetho/v1/+/acks"]) as care_home,
        console_running(tmp_path, publish) as hub,
    ):
        doctor = Browser(hub.url)
        assert doctor.sign_in("dr-a") == 303
        page = f"/recordings/{hub.home_a.recording_id}"
        csrf = doctor.csrf(page)
        form = {"csrf": csrf, "disposition": "gp-visit-24h", "note": "tomorrow morning"}
        status, _body, headers = doctor.post(page + "/decision", form)
        # The sent line is below the fold on a tablet: the answer scrolls to it (before, the
        # page opened at its top and the doctor could not see that it was sent).
        assert status == 303 and headers["Location"].endswith("?decided=1#decided")
        got = care_home.wait_for(lambda m: len(m) >= 1)
        ack = json.loads(got[0].payload)
        assert got[0].topic == "stetho/v1/home-a/acks"
        assert (ack["disposition"], ack["by"], ack["note"]) == (
            "gp-visit-24h", "dr-a", "tomorrow morning",
        )  # fmt: skip
        assert b"Decision sent" in doctor.get(page + "?decided=1")[1]
        # Another care home's recording, a bad decision, a missing token: nothing is sent.
        other = f"/recordings/{hub.home_b.recording_id}/decision"
        assert doctor.post(other, {**form, "csrf": csrf})[0] == 404
        assert doctor.post(page + "/decision", {**form, "disposition": "x"})[0] == 400
        assert doctor.post(page + "/decision", {**form, "csrf": "forged"})[0] == 403
        assert len(care_home.on("/acks")) == 1
        care_home.subscribe("stetho/v1/+/+/cmd")
        ask = {"csrf": csrf, "auscultation_site": "aortic", "duration": "15"}
        status, _body, headers = doctor.post(page + "/request", ask)
        assert status == 303 and headers["Location"].endswith("?requested=1#requested")
        (command,) = care_home.wait_for(lambda m: any(x.topic.endswith("/cmd") for x in m))[-1:]
        body = json.loads(command.payload)
        assert command.topic == f"stetho/v1/home-a/{hub.home_a.meta.agent}/cmd"
        assert (body["action"], body["auscultation_site"], body["duration_s"]) == (
            "record_request", "aortic", 15.0,
        )  # fmt: skip
        assert body["resident"] == hub.home_a.meta.resident and body["by"] == "dr-a"
        assert doctor.post(page + "/request", {**ask, "auscultation_site": "elbow"})[0] == 400
        assert doctor.post(page + "/request", {**ask, "duration": "900"})[0] == 400
    db = open_database(hub.target)
    try:
        actions = [row[2] for row in audit_entries(db)]
        assert actions.count("decide") == 1 and actions.count("request_recording") == 1
    finally:
        db.close()


def test_the_agent_reads_a_decision_and_a_version_1_ack_alike() -> None:
    from edge_agent.runtime.commands import parse_ack

    alert = str(uuid.uuid4())
    (decided,) = decision_messages("home-a", None, [alert], "dr-a", "hospital-transfer", "")
    assert parse_ack(decided.payload).disposition == "hospital-transfer"
    plain = json.loads(decided.payload)
    del plain["disposition"]  # what a version-1 doctor's tool sends
    assert parse_ack(json.dumps(plain).encode()).disposition is None
