"""The console's exam view and live listening over HTTP: sites, findings, earlier exams,
timeline, languages, isolation, audit; the live relay's latency from publish to the socket."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_agent.pipeline.live import decode_chunk, encode_chunk
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from edge_agent.wire import messages, topics
from stetho_hub.console.live import SESSION_CHECK_S
from stetho_hub.console.shell import COOKIE
from stetho_hub.storage import open_database
from stetho_hub.storage.views import audit_entries
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import Archived, console_running
from stetho_testkit.mqtt_client import MqttTestClient

LIVE_BUDGET_S = 0.3  # issue 15: the doctor hears at most 300 ms behind capture


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Archived]:
    with console_running(tmp_path) as running:
        yield running


def _actions(hub: Archived) -> list[tuple[str, str, str]]:
    db = open_database(hub.target)
    try:
        return [(row[1], row[2], row[4]) for row in audit_entries(db)]
    finally:
        db.close()


def test_the_exam_view_shows_each_site_its_findings_and_the_earlier_exams(hub: Archived) -> None:
    doctor = Browser(hub.url)
    assert doctor.sign_in("dr-a") == 303
    status, body, headers = doctor.get(f"/exams/{hub.exam_a}")
    page = body.decode()
    assert status == 200, page[:300]
    for site in ("aortic", "pulmonic", "tricuspid", "mitral"):
        assert f'data-site="{site}"' in page
    assert page.count('<audio class="player"') == 4  # one counted recording a site
    assert page.count('class="picture"') == 4
    assert 'class="rerecords"' in page  # aortic was recorded twice; the first is listed apart
    assert 'data-code="heart_rate_very_high"' in page and "threshold" in page
    assert f'href="/exams/{hub.exam_a_before}"' in page  # the earlier exam, beside it
    assert page.count('class="heart_bpm"') == 2  # two exams' heart rates (no breathing here)
    assert page.count('class="hit"') == 2  # each with its tap target
    assert 'id="player-controls" data-heart="25,400" data-lung="100,2000"' in page
    assert '<script src="/static/player.js">' in page and "<script>" not in page
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert 'href="/live/home-a/steth-a"' in page
    assert ("dr-a", "view_exam", hub.exam_a) in _actions(hub)
    counted = page.split('src="/recordings/')[1].split("/audio")[0]
    assert f"/exams/{hub.exam_a}".encode() in doctor.get(f"/recordings/{counted}")[1]
    inbox = doctor.get("/")[1].decode()
    assert f'class="exam-link" href="/exams/{hub.exam_a}"' in inbox


def test_the_exam_view_speaks_french_when_asked(hub: Archived) -> None:
    doctor = Browser(hub.url)
    doctor.sign_in("dr-a")
    page = doctor.get(f"/exams/{hub.exam_a}?lang=fr")[1].decode()
    assert '<html lang="fr">' in page and "Examens précédents" in page and "aortique" in page
    assert "seuil" in page and "Aide à la décision" in page
    assert '<html lang="en">' in doctor.get(f"/exams/{hub.exam_a}?lang=en")[1].decode()


def test_another_home_s_exam_and_stethoscope_are_not_found(hub: Archived) -> None:
    doctor = Browser(hub.url)
    assert doctor.get(f"/exams/{hub.exam_a}")[0] == 303  # signed out: to the sign-in page
    doctor.sign_in("dr-a")
    for path in (f"/exams/{hub.exam_b}", "/exams/not-a-uuid", "/live/home-b/steth-a",
                 "/live/home-a/no-such-steth", "/live/home-b/steth-a/socket"):  # fmt: skip
        assert doctor.get(path)[0] == 404, path
    assert doctor.get("/live/home-a/steth-a")[0] == 200
    admin = Browser(hub.url)
    admin.sign_in("admin")
    assert admin.get(f"/exams/{hub.exam_b}")[0] == 200
    assert doctor.get("/static/player.js")[2]["Content-Type"].startswith("text/javascript")


def _fake_agent(care_home: MqttTestClient, chunks: int, done: threading.Event) -> None:
    """Wait for the hub's live_start, then stream 100 ms chunks stamped at publish time."""
    care_home.wait_for(lambda m: any(b'"live_start"' in x.payload for x in m), timeout_s=20)
    pcm = (np.sin(np.arange(400) * 2 * np.pi * 100 / 4000) * 8000).astype(np.int16)
    for seq in range(chunks):
        if done.is_set():
            return
        header = messages.LiveChunkHeader(seq=seq, captured_at=time.time(), sample_rate_hz=4000)
        care_home.publish(topics.live("home-a", "steth-a"), encode_chunk(header, pcm))
        time.sleep(0.1)


async def _listen(url: str, cookie: str, count: int) -> list[float]:
    import aiohttp

    delays = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers={"Cookie": cookie}) as ws,
    ):
        while len(delays) < count:
            msg = await ws.receive(timeout=20)
            assert msg.type == aiohttp.WSMsgType.BINARY, msg
            header, pcm = decode_chunk(msg.data)
            delays.append(time.time() - header.captured_at)
            assert len(pcm) == 400
    return delays


def _cookie(browser: Browser) -> str:
    return f"{COOKIE}={next(c.value for c in browser.jar if c.name == COOKIE)}"


async def _until_signed_out(url: str, browser: Browser) -> float:
    """Hear 3 chunks, sign out elsewhere: the hub closes the socket; return how long it took."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers={"Cookie": _cookie(browser)}) as ws,
    ):
        for _ in range(3):
            assert (await ws.receive(timeout=20)).type == aiohttp.WSMsgType.BINARY
        csrf = await asyncio.to_thread(browser.csrf, "/")
        await asyncio.to_thread(browser.post, "/signout", {"csrf": csrf})
        left = time.monotonic()
        while (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.BINARY:
            pass
        return time.monotonic() - left


@pytest.mark.broker
def test_live_audio_reaches_the_doctor_within_300_ms_and_is_audited(
    broker: LocalBroker, tmp_path: Path
) -> None:
    publish = broker_settings(broker_from_url(broker.url), None)
    cmd = topics.command("home-a", "steth-a")
    with (
        MqttTestClient(broker.host, broker.port, [cmd]) as care_home,
        console_running(tmp_path, publish) as hub,
    ):
        doctor = Browser(hub.url)
        doctor.sign_in("dr-a")
        cookie = _cookie(doctor)
        other = Browser(hub.url)  # the same doctor on another device, who then signs out
        other.sign_in("dr-a")
        done = threading.Event()
        agent = threading.Thread(target=_fake_agent, args=(care_home, 30, done), daemon=True)
        agent.start()
        url = hub.url.replace("http", "ws") + "/live/home-a/steth-a/socket"
        try:
            # Three pages on one stethoscope: one leaves early, one is signed out, the last
            # still hears.
            async def pages() -> tuple[list[float], list[float], float]:
                return await asyncio.gather(
                    _listen(url, cookie, 25), _listen(url, cookie, 8),
                    _until_signed_out(url, other),
                )  # fmt: skip

            delays, early, closed_after_s = asyncio.run(pages())
        finally:
            done.set()
            agent.join(timeout=10)
        stops = care_home.wait_for(
            lambda m: any(b'"live_stop"' in x.payload for x in m), timeout_s=20
        )
        time.sleep(0.5)  # a second live_stop, were there one, would have come by now
        commands = [json.loads(m.payload) for m in care_home.on("/cmd")]
        assert len(commands) >= len(stops)
        assert {c["by"] for c in commands} == {"dr-a"} and len(early) == 8
        assert closed_after_s < 2 * SESSION_CHECK_S
        actions = [c["action"] for c in commands]
        assert actions.count("live_start") == 1 and actions.count("live_stop") == 1, actions
        p50, p95 = statistics.median(delays), float(np.percentile(delays, 95))
        print(f"live publish->socket: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms,"
              f" max {max(delays) * 1000:.1f} ms over {len(delays)} chunks")  # fmt: skip
        assert p95 < LIVE_BUDGET_S
        assert _actions(hub).count(("dr-a", "listen_live", "steth-a")) == 3


@pytest.mark.broker
def test_a_decision_on_the_exam_answers_it_and_acks_its_alerts(
    broker: LocalBroker, tmp_path: Path
) -> None:
    publish = broker_settings(broker_from_url(broker.url), None)
    wanted = ["stetho/v1/home-a/acks", "stetho/v1/home-a/exams/answers", "stetho/v1/home-a/+/cmd"]
    with (
        MqttTestClient(broker.host, broker.port, wanted) as care_home,
        console_running(tmp_path, publish) as hub,
    ):
        doctor = Browser(hub.url)
        doctor.sign_in("dr-a")
        page = f"/exams/{hub.exam_a}"
        csrf = doctor.csrf(page)
        form = {"csrf": csrf, "disposition": "urgent-visit-today", "note": "before noon"}
        status, _b, headers = doctor.post(page + "/decision", form)
        assert status == 303 and headers["Location"].endswith("?decided=1#decided")
        got = care_home.wait_for(lambda m: len(m) >= 2)
        answer = json.loads(care_home.on("/exams/answers")[0].payload)
        ack = json.loads(care_home.on("/acks")[0].payload)
        assert answer["exam_id"] == hub.exam_a and answer["disposition"] == "urgent-visit-today"
        assert ack["disposition"] == "urgent-visit-today" and len(got) == 2
        request = {"csrf": csrf, "auscultation_site": "mitral", "duration": "20"}
        assert doctor.post(page + "/request", request)[0] == 303
        command = json.loads(care_home.wait_for(lambda m: len(m) >= 3)[2].payload)
        assert (command["action"], command["resident"]) == ("record_request", "res-1")
        other = f"/exams/{hub.exam_b}/decision"
        assert doctor.post(other, form)[0] == 404
        assert doctor.post(page + "/decision", {**form, "csrf": "forged"})[0] == 403
        actions = [a for _u, a, t in _actions(hub) if t == hub.exam_a]
        assert actions.count("decide") == 1 and actions.count("request_recording") == 1
