"""What a doctor's form that sends to a care home does, on the recording page and the exam page
alike (`shell.send_form`): a form to correct is refused with its reason in the doctor's
language, a broker that fails is a 503 logged by id, and only a message the broker took is
audited and shown as sent."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.transport.mqtt import MqttSettings
from stetho_hub.console.words import words
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.mqtt_client import MqttTestClient
from tests.stetho_hub.test_console_attacker import audit, csrf_of, fill, run, sign_in

PAGES = ("/recordings/{recording_id}", "/exams/{exam_id}")
DECIDED = {"disposition": "gp-visit-24h", "note": ""}
REQUESTED = {"auscultation_site": "mitral", "duration": "12,5"}


def sent_rows(target: DatabaseTarget) -> list[tuple[str, ...]]:
    return [row for row in audit(target) if row[1] in ("decide", "request_recording")]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("form", "key", "params"),
    [
        ({"disposition": "send flowers", "note": ""}, "decision.choose_decision", {}),
        ({"disposition": "no-action", "note": "x" * 1001}, "decision.note_long",
         {"length": 1001, "limit": 1000}),
        ({"auscultation_site": "elbow", "duration": "10"}, "decision.choose_site", {}),
        ({"auscultation_site": "mitral", "duration": "1e2"}, "decision.duration_number", {}),
    ],
)  # fmt: skip
def test_a_form_to_correct_is_refused_with_its_reason_and_nothing_sent(
    tmp_path: Path, page: str, form: dict[str, str], key: str, params: dict[str, object]
) -> None:
    broker = MqttSettings("127.0.0.1", free_port(), "console-test")  # nobody: never reached
    action = "/decision" if "disposition" in form else "/request"

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        path = fill(page, ids["own"])
        for lang in ("en", "fr"):
            posted = {**form, "csrf": await csrf_of(client, f"{path}?lang={lang}")}
            answer = await client.post(path + action, data=posted, allow_redirects=False)
            assert answer.status == 400, lang
            assert html.escape(words(lang)[key].format(**params)) in await answer.text(), lang

    target = run(tmp_path, scenario, publish=broker)
    assert sent_rows(target) == []


@pytest.mark.parametrize("page", PAGES)
def test_a_broker_that_fails_is_a_503_logged_by_id_and_not_audited(
    tmp_path: Path, page: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MqttSettings("127.0.0.1", free_port(), "console-test")
    about: list[str] = []

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        path = fill(page, ids["own"])
        about.append(path.rsplit("/", 1)[1])
        for action, form in (("/decision", DECIDED), ("/request", REQUESTED)):
            posted = {**form, "csrf": await csrf_of(client, f"{path}?lang=fr")}
            answer = await client.post(path + action, data=posted, allow_redirects=False)
            assert answer.status == 503, action
            assert html.escape(words("fr")["error.broker_failed"]) in await answer.text()

    with caplog.at_level(logging.WARNING, logger="stetho_hub.console.shell"):
        target = run(tmp_path, scenario, publish=broker)
    failed = [r.getMessage() for r in caplog.records if "console_send_failed" in r.getMessage()]
    assert len(failed) == 2
    reason = f"cannot reach broker 127.0.0.1:{broker.port}"
    for line in failed:
        assert line.startswith(f"event=console_send_failed about={about[0]} error='{reason}")
    assert sent_rows(target) == []


@pytest.mark.broker
@pytest.mark.parametrize("page", PAGES)
def test_a_sent_form_is_on_the_wire_audited_and_shown_as_sent(
    broker: LocalBroker, tmp_path: Path, page: str
) -> None:
    settings = MqttSettings("127.0.0.1", broker.port, "console-test")
    ids_seen: list[str] = []

    async def scenario(client: TestClient, ids: dict[str, dict[str, str]]) -> None:
        assert await sign_in(client, "dr-a") == 303
        path = fill(page, ids["own"])
        ids_seen.append(path.rsplit("/", 1)[1])
        for action, form, shown in (("/decision", DECIDED, "decided"),
                                    ("/request", REQUESTED, "requested")):  # fmt: skip
            posted = {**form, "csrf": await csrf_of(client, path)}
            answer = await client.post(path + action, data=posted, allow_redirects=False)
            assert answer.status == 303, action
            assert answer.headers["Location"] == f"{path}?{shown}=1#{shown}"

    with MqttTestClient(broker.host, broker.port, ["stetho/v1/home-a/#"]) as care_home:
        target = run(tmp_path, scenario, publish=settings)
        # Each page: the decision (an answer or an ack) and the request, taken by the broker.
        got = care_home.wait_for(lambda got: sum(b"record_request" in m.payload for m in got) == 1)
    assert len(got) >= 2, [m.topic for m in got]
    rows = sent_rows(target)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("dr-a", "decide", "home-a", ids_seen[0]),
        ("dr-a", "request_recording", "home-a", ids_seen[0]),
    ]
