"""A whole exam in real Chromium against a real agent, broker and simulated stethoscopes.

Sign in, pick a resident, heart-4, record four sites (one with the poor-contact stethoscope,
which must ask for a re-record), re-record, read the doctor's answer (sent with
`stetho answer`), finish. mosquitto_sub
receives the exam messages and the recordings with their exam_id. A doctor's request (sent with
`stetho request`) waits with its age band to pick, in French, and is dismissed. Then pair a keypad
stethoscope in radio range: its passkey appears on screen, a simulated nurse types it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.wire import topics
from stetho_testkit.browser import POLL_S, clicked, picked, read
from tests.edge_agent.web.agent_proc import PIN, ROOT, SITE, STAFF, running_agent
from tests.edge_agent.web.browser import TABLET, chromium

pytestmark = [pytest.mark.broker, pytest.mark.browser]
WAIT_S = 40.0
SHOTS = os.environ.get("STETHO_SCREENSHOTS")  # e.g. docs/img to refresh the docs' pictures
# A keypad stethoscope in range; at 4x its simulated nurse types the passkey 2.5 s after it
# shows (the test reads it within a second).
KEYPAD_RADIO = """
[radio]
simulated = ["normal"]
speed = 4.0
keypad = "types"
"""


def _wait(driver: Any, what: Callable[[Any], Any], message: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A page being replaced (a form's POST answered) leaves elements read a moment before
    # stale: read again at the next poll rather than fail.
    return WebDriverWait(
        driver, WAIT_S, poll_frequency=POLL_S, ignored_exceptions=(StaleElementReferenceException,)
    ).until(what, message)


def _shot(driver: Any, tmp: Path, name: str) -> None:
    """The whole page as the tablet shows it when scrolled, at the tablet's width."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(TABLET[0], max(TABLET[1], min(int(height) + 140, 2400)))
    driver.execute_script("window.scrollTo(0, 0)")
    for folder in filter(None, (tmp / "screenshots", SHOTS and Path(SHOTS))):
        folder.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(folder / f"care-home-{name}.png"))
    driver.set_window_size(*TABLET)


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _listed(driver: Any) -> list[str]:
    """The references the residents screen lists."""
    return [e.get_attribute("data-ref") for e in _css(driver, "#residents [data-ref]")]


def _click(driver: Any, selector: str) -> None:
    """Find and click in one step (the page's live updates may replace the element)."""
    _wait(driver, lambda d: clicked(d, selector), f"no {selector}")


def _record_with(driver: Any, device: str, button: str, site: str) -> None:
    _wait(driver, lambda d: picked(d, "#device", device), f"no {device} to pick")
    want = f'#{button}[data-site="{site}"]'
    _wait(driver, lambda d: _css(d, want), f"no {button} {site}")
    _click(driver, f"#{button}")
    _wait(driver, lambda d: _css(d, "#recording-now"), f"{site}: recording did not start")


def _mosquitto_sub(port: int, out: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5", "-v",
         "-t", topics.exams(SITE), "-t", f"stetho/v1/{SITE}/+/recordings"],
        stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _publish_answer(port: int, exam_id: str) -> None:
    """The doctor's tool, as a doctor runs it: `stetho answer`."""
    subprocess.run(
        [sys.executable, "-m", "stetho_cli", "answer", exam_id, "--site", SITE,
         "--disposition", "urgent-visit-today", "--note", "I come at 4 pm", "--by", "dr-house",
         "--broker", f"mqtt://127.0.0.1:{port}"],
        check=True, timeout=30, cwd=ROOT, capture_output=True,
    )  # fmt: skip


def test_a_whole_exam_in_chromium(tmp_path: Path, broker: LocalBroker) -> None:
    sub_out = tmp_path / "sub.txt"
    with sub_out.open("wb") as out:
        sub = _mosquitto_sub(broker.port, out)
        try:
            with (
                running_agent(tmp_path, broker.port, KEYPAD_RADIO) as base,
                chromium() as d,
            ):
                exam_id = _walk(d, base, tmp_path, broker.port)
                _session_ends_on_the_exam_page(d, base, exam_id)
        finally:
            sub.terminate()
            sub.wait(timeout=5)
    lines = [ln.split(" ", 1) for ln in sub_out.read_text().splitlines() if " " in ln]
    exams = [json.loads(p) for t, p in lines if t == topics.exams(SITE)]
    recordings = [json.loads(p) for t, p in lines if t.endswith("/recordings")]
    assert [e["event"] for e in exams] == ["opened"] + ["site_recorded"] * 5 + ["closed"]
    assert {e["exam_id"] for e in exams} == {exam_id}
    final = exams[-1]
    assert final["state"] == "done" and [s["state"] for s in final["sites"]] == ["done"] * 4
    assert "Mme" not in sub_out.read_text()  # the local label never leaves the Pi
    assert len(recordings) == 5 and {r["exam_id"] for r in recordings} == {exam_id}
    pulmonic = [r for r in recordings if r["auscultation_site"] == "pulmonic"]
    assert [r["device"] for r in pulmonic] == ["steth-2", "steth-1"]
    assert pulmonic[0]["analysis"]["quality"]["acceptable"] is False


def _walk(d: Any, base: str, tmp: Path, broker_port: int) -> str:
    d.get(base + "/")
    _shot(d, tmp, "sign-in")
    _css(d, "#staff")[0].send_keys(STAFF)
    _css(d, "#secret")[0].send_keys(PIN)
    _click(d, "#signin")
    _wait(d, lambda d: _css(d, "#residents"), "residents screen")
    _shot(d, tmp, "residents")
    # A search is a POST: the label typed stays out of the address bar and the history.
    _css(d, "#search")[0].send_keys("Mme")
    _click(d, "#search-submit")
    _wait(d, lambda d: _listed(d) == ["res-0042"], "the search's one resident")
    assert d.current_url == base + "/residents/search", d.current_url
    assert _css(d, "#search")[0].get_attribute("value") == "Mme"
    _click(d, '[data-ref="res-0042"]')
    _click(d, "#protocol-heart-4")
    _css(d, "#reason")[0].send_keys("short of breath since this morning")
    _shot(d, tmp, "start-exam")
    _click(d, "#start-exam")
    ((exam_id,),) = _wait(d, lambda d: read(d, ".exam", "data-exam"), "exam screen")
    _wait(d, lambda d: d.execute_script("return window.stethoLive.frames") > 10, "live waveform")
    _record_with(d, "steth-1", "record", "aortic")
    _shot(d, tmp, "recording")
    _record_with(d, "steth-2", "record", "pulmonic")
    advice = _wait(d, lambda d: read(d, "#verdict .advice", "data-advice"), "no re-record prompt")
    assert advice[0][0] in ("advice.slipping", "advice.too_quiet", "advice.no_heartbeat")
    _shot(d, tmp, "rerecord")
    _record_with(d, "steth-1", "rerecord", "pulmonic")
    _record_with(d, "steth-1", "record", "tricuspid")
    _record_with(d, "steth-1", "record", "mitral")
    _wait(d, lambda d: _css(d, "#verdict") and not _css(d, "#record"), "all sites done")
    rows = _css(d, "#summary tr.done")
    assert len(rows) == 4
    _publish_answer(broker_port, exam_id)
    _wait(d, lambda d: _css(d, ".answer-item"), "the doctor's answer did not appear")
    _shot(d, tmp, "summary")
    _click(d, "#close")
    _wait(d, lambda d: _css(d, '#panel-inner[data-state="done"]'), "exam not closed")
    _click(d, "#lang-fr")  # the switch: the same exam in French
    _wait(d, lambda d: "Réponse du médecin" in d.page_source, "no French")
    _shot(d, tmp, "summary-fr")
    _a_doctors_request_in_french(d, base, tmp, broker_port)
    d.get(base + "/stethoscopes")
    _shot(d, tmp, "stethoscopes")
    _pair_keypad_stethoscope(d, tmp)
    return str(exam_id)


def _publish_request(port: int) -> None:
    """The doctor's tool asks for 12.5 s at the left lung base of the other resident."""
    subprocess.run(
        [sys.executable, "-m", "stetho_cli", "request", "--site", SITE, "--agent", "pi",
         "--resident", "res-0043", "--at", "lung-left-lower", "--duration", "12.5",
         "--by", "dr-house", "--broker", f"mqtt://127.0.0.1:{port}"],
        check=True, timeout=30, cwd=ROOT, capture_output=True,
    )  # fmt: skip


def _a_doctors_request_in_french(d: Any, base: str, tmp: Path, broker_port: int) -> None:
    """The request waits with its accept form: the age band named and chosen in French."""
    _publish_request(broker_port)
    d.get(base + "/requests")
    _wait(d, lambda d: d.refresh() or _css(d, '#requests select[name="age_band"]'), "no request")
    label = read(d, "#requests label", "innerText")
    assert label and label[0][0].startswith("Âge"), label
    options = [o for (o,) in read(d, '#requests select[name="age_band"] option', "innerText")]
    assert "enfant de moins d'un an" in options, options
    _shot(d, tmp, "request-fr")
    _click(d, '#requests form[action$="/dismiss"] button')  # no exam: the exam events stay
    _wait(d, lambda d: not _css(d, "#requests select"), "the request was not dismissed")


def _session_ends_on_the_exam_page(d: Any, base: str, exam_id: str) -> None:
    """The session gone (here its cookie) while the exam page polls its panel: the page goes to
    sign in. Before, the poll followed the redirect and put the sign-in page in the panel."""
    d.get(f"{base}/exams/{exam_id}")
    _wait(d, lambda d: _css(d, "#panel-inner"), "exam page")
    d.delete_all_cookies()
    _wait(d, lambda d: d.current_url.endswith("/login"), "the page did not go to sign in")


def _pair_keypad_stethoscope(d: Any, tmp: Path) -> None:
    """Find, Pair: the status page shows the passkey in big digits, then "paired"."""
    _click(d, "#lang-en")
    _click(d, "#scan")
    _click(d, '[data-address="5E:7A:00:00:01:01"]')
    digits = _wait(d, lambda d: read(d, "#passkey span", "innerText"), "no passkey on screen")
    assert len(digits) == 6 and all(x.isdigit() for (x,) in digits)
    _shot(d, tmp, "pairing-passkey")
    _wait(d, lambda d: _css(d, "#pair-done"), "the typed passkey did not pair it")
