"""Issue 18: an exam recording the hospital's broker could not take is refused before it starts,
and the nurse reads why in her language: how many seconds the broker takes and whom to ask.
The words carry no health data (no resident, no label)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from edge_agent.transport.capture_limit import CaptureGate
from edge_agent.transport.packet_size import PacketLimit
from edge_agent.web.context import CTX
from tests.edge_agent.web.test_page_security import Clock, csrf_of, run, sign_in

SMALL = PacketLimit(65536, configured=False)  # 7 s at 4 kHz; the exam asks for 15 s


def test_a_recording_the_broker_cannot_take_is_refused_in_english_and_french(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        service = client.server.app[CTX].exams
        limit: list[PacketLimit | None] = [SMALL]
        service.gate = CaptureGate("home", lambda: limit[0])
        service.default_duration_s = 15.0
        segmenter = service.attach("steth-1", 4000)
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        form = {"resident": "res-1", "protocol": "heart-4", "csrf": token}
        opened = await client.post("/exams", data=form, allow_redirects=False)
        exam = opened.headers["Location"]
        record = {"site": "aortic", "device": "steth-1", "csrf": token}
        page = await client.post(f"{exam}/record", data=record)
        text = await page.text()
        assert page.status == 409 and not segmenter.busy
        assert "accepts recordings of at most 7 seconds" in text and "15 seconds" in text
        assert "care home&#39;s IT contact" in text and "Mme Secret" not in text
        await client.get("/lang/fr")
        script = await client.post(f"{exam}/record", data=record, headers={"X-CSRF-Token": token})
        said = (await script.json())["error"]  # the page's own fetch gets the same words
        assert script.status == 409
        assert "des enregistrements de 7 secondes au plus" in said and "15 secondes" in said
        assert "référent informatique" in said
        assert "res-1" not in said
        limit[0] = None  # the broker states no limit on its next connection
        started = await client.post(f"{exam}/record", data=record, allow_redirects=False)
        assert started.status == 303 and segmenter.busy

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario)
    assert "event=capture_refused device=steth-1 duration_s=15 max_s=7" in caplog.text
    assert "exam.duration_s" in caplog.text  # the operator's alarm names the setting
    assert "event=capture_alarm_cleared device=steth-1" in caplog.text
