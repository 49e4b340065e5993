"""The exam view and live listening in Debian's Chromium: the player reports the duration, the
volume and band controls change the Web Audio chain, the band filter measurably passes the
heart band and damps above it; French on a tablet, English on a desktop; another home's exam
is refused; live chunks are heard within 300 ms of their capture, counting the relay's part as
stamped in the hub (docs/hospital.md, "Live listening")."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_agent.pipeline.live import decode_chunk
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from edge_agent.wire import topics
from stetho_testkit.browser import give_back
from stetho_testkit.hub.console import PASSWORD, Archived, console_running
from stetho_testkit.mqtt_client import MqttTestClient
from tests.stetho_hub.test_console_browser import SHOTS, _chromium, _click, _wait
from tests.stetho_hub.test_console_exam import LIVE_BUDGET_S, _fake_agent

pytestmark = [pytest.mark.browser]
DESKTOP, TABLET = (1280, 900), (820, 1180)
CHUNK_S = 0.1  # the fake agent's chunks, like the real agent's blocks (docs/mqtt.md §5)
BROWSER_S = 0.1  # the hub's socket write -> the page's handler: 1-2 ms quiet, 17 ms at load 15

# Renders one second of a tone through the page's own band filter, offline; returns the gain.
FILTER_GAIN = """
var done = arguments[arguments.length - 1], band = arguments[0], hz = arguments[1];
var ctx = new OfflineAudioContext(1, 48000, 48000);
var osc = ctx.createOscillator(); osc.frequency.value = hz;
osc.connect(window.stethoPlayer.filterFor(ctx, band)).connect(ctx.destination);
osc.start();
ctx.startRendering().then(function (buf) {
  var x = buf.getChannelData(0), s = 0;
  for (var i = 24000; i < 48000; i++) s += x[i] * x[i];
  done(Math.sqrt(s / 24000) * Math.SQRT2);
});
"""


def _sign_in(driver: Any, hub: Archived) -> None:
    from selenium.webdriver.common.by import By

    driver.get(hub.url + "/signin")
    driver.find_element(By.ID, "username").send_keys("dr-a")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "signin").click()
    _wait(lambda: driver.find_elements(By.ID, "inbox"))


def _check_player(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    player = driver.find_elements(By.CSS_SELECTOR, "audio.player")[0]
    duration = _wait(lambda: driver.execute_script(
        "var a = arguments[0]; return a.readyState >= 1 ? a.duration : 0;", player
    ))  # fmt: skip
    assert abs(duration - 6.0) < 0.01
    driver.execute_script("arguments[0].play();", player)
    _wait(lambda: driver.execute_script("return arguments[0].currentTime;", player) > 0)
    Select(driver.find_element(By.ID, "band")).select_by_value("heart")
    driver.execute_script(
        "var v = document.getElementById('volume'); v.value = '2.5';"
        "v.dispatchEvent(new Event('input'));"
    )
    lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    shown = driver.find_element(By.ID, "volume-value").text  # "2.5×" was "2.5×" in French too
    assert shown == ("2,5×" if lang == "fr" else "2.5×")
    chain = driver.execute_script(
        "var c = arguments[0].stethoChain; return [c.gain.gain.value, c.filter.type,"
        " c.filter.frequency.value, c.filter.Q.value];",
        player,
    )
    assert chain[0] == pytest.approx(2.5) and chain[1] == "bandpass"
    assert chain[2] == pytest.approx(100.0) and chain[3] == pytest.approx(100 / 375, rel=1e-3)
    driver.set_script_timeout(20)
    passed = driver.execute_async_script(FILTER_GAIN, "heart", 100)
    damped = driver.execute_async_script(FILTER_GAIN, "heart", 1500)
    assert passed > 0.95 and damped < 0.3, (passed, damped)  # 2nd order: -12 dB at 1.5 kHz


def test_the_exam_view_plays_filters_and_speaks_both_languages(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with console_running(tmp_path) as hub:
        driver = _chromium()
        try:
            driver.set_page_load_timeout(30)
            _sign_in(driver, hub)
            driver.set_window_size(*DESKTOP)
            driver.get(f"{hub.url}/exams/{hub.exam_a}?lang=en")
            assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
            _check_player(driver)
            pictures = driver.find_elements(By.CSS_SELECTOR, "img.picture")
            assert len(pictures) == 4
            for image in pictures:
                driver.execute_script("arguments[0].scrollIntoView();", image)
                assert _wait(lambda i=image: driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth;", i
                ), 60)  # fmt: skip
            driver.execute_script("window.scrollTo(0, 0);")
            side = "return document.querySelector('aside').getBoundingClientRect().left;"
            assert driver.execute_script(side) > DESKTOP[0] / 2  # beside the sites
            driver.set_window_size(DESKTOP[0], 1500)  # the docs' picture: more of the page
            for folder in filter(None, (tmp_path, SHOTS and Path(SHOTS))):
                driver.save_screenshot(str(Path(str(folder)) / "hub-console-exam.png"))
            driver.set_window_size(*TABLET)
            driver.get(f"{hub.url}/exams/{hub.exam_a}?lang=fr")
            assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
            assert "Examens précédents" in driver.page_source and "aortique" in driver.page_source
            assert driver.execute_script(side) < TABLET[0] / 4  # below the sites on a tablet
            _check_player(driver)
            driver.get(f"{hub.url}/exams/{hub.exam_b}")  # the switch's French is kept
            assert "ne vous est pas ouvert" in driver.page_source
            assert not driver.find_elements(By.CSS_SELECTOR, "audio.player")
        finally:
            give_back(driver)


def _stamp_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Each chunk's seq and the wall clock as the hub's socket write returns (a spy: the write
    itself is unchanged)."""
    from aiohttp import web

    stamps: list[tuple[int, float]] = []
    send = web.WebSocketResponse.send_bytes

    async def stamped(ws: web.WebSocketResponse, data: bytes, *args: Any, **kwargs: Any) -> None:
        await send(ws, data, *args, **kwargs)
        stamps.append((decode_chunk(data)[0].seq, time.time()))

    monkeypatch.setattr(web.WebSocketResponse, "send_bytes", stamped)
    return stamps


def _ms(x: Any) -> str:
    return f"p50 {np.median(x) * 1000:.0f} ms, p95 {np.percentile(x, 95) * 1000:.0f} ms"


@pytest.mark.broker
def test_a_doctor_hears_a_stethoscope_live_in_the_browser(
    broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = broker_settings(broker_from_url(broker.url), None)
    cmd, stream = topics.command("home-a", "steth-a"), topics.live("home-a", "steth-a")
    written = _stamp_writes(monkeypatch)
    with (
        MqttTestClient(broker.host, broker.port, [cmd, stream]) as care_home,
        console_running(tmp_path, publish) as hub,
    ):
        driver = _chromium()
        done = threading.Event()
        agent = threading.Thread(target=_fake_agent, args=(care_home, 40, done), daemon=True)
        try:
            driver.set_page_load_timeout(30)
            _sign_in(driver, hub)
            driver.get(f"{hub.url}/live/home-a/steth-a")
            agent.start()
            _click(driver, "#live-start")
            _wait(lambda: driver.execute_script("return window.stethoLive.chunks;") >= 30, 30)
            live = driver.execute_script("return window.stethoLive;")
            page = np.asarray(live["latencies"])  # capture -> the page's socket
            ahead = np.asarray(live["ahead"])  # the page's arrival -> heard
            # The socket is ordered and this page its only reader: the page's i-th chunk is the
            # hub's i-th write. The same chunk's copy to a plain subscriber in this process is
            # the baseline: what the broker and this machine's load cost any listener.
            copies = [(decode_chunk(m.payload)[0], m.at) for m in care_home.on(stream)]
            stamped = {h.seq: (h.captured_at, at) for h, at in copies}
            hub_s = np.asarray([at - stamped[seq][0] for seq, at in written[: len(page)]])
            plain = np.asarray(
                [stamped[seq][1] - stamped[seq][0] for seq, _ in written[: len(page)]]
            )
            relay, browser = hub_s - plain, page - hub_s
            # Capture -> ear: a chunk's last sample waits CHUNK_S for its publish, then the
            # network, then the page's jitter buffer and the audio output (`ahead`).
            ear = page + ahead + CHUNK_S
            load_s = np.percentile(plain, 95) - plain.min()
            own_s = np.percentile(relay, 95) + CHUNK_S + np.median(ahead)
            print(f"live: capture->hub socket {_ms(hub_s)} (a plain subscriber {_ms(plain)}),"
                  f" ->page {_ms(page)}, buffer+output {_ms(ahead)}; capture->ear {_ms(ear)};"
                  f" own {own_s * 1000:.0f} ms, load {load_s * 1000:.0f} ms, the browser"
                  f" {_ms(browser)}; {live['chunks']} chunks")  # fmt: skip
            assert live["error"] is None
            # The goal on what the relay and the page own, allowing what the machine's load
            # cost the plain subscriber (its p95 over its best): a stall is not the relay's, and
            # the page holds it for the chunks behind it (played back to back).
            assert own_s < LIVE_BUDGET_S + load_s, (own_s, load_s)
            assert np.percentile(browser, 95) < BROWSER_S
            _click(driver, "#live-stop")
            care_home.wait_for(lambda m: any(b'"live_stop"' in x.payload for x in m), 20)
        finally:
            done.set()
            give_back(driver)
            if agent.is_alive() or agent.ident is not None:
                agent.join(timeout=10)
