"""Faults at the bedside, in real Chromium against a real agent and broker.

A stethoscope whose link drops mid-recording: the page says so and offers a re-record; what
was heard is kept and sent with its gap marked. Two nurses, one stethoscope: the second is
told who has it (her page opened before it was taken; after, it cannot be chosen), and nothing
of hers mixes into the first nurse's exam. A stethoscope beside a
charger, one whose volume is turned down, or someone talking during a lung recording: the page
says so in the nurse's language, and the site is done all the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.wire import topics
from stetho_testkit.browser import picked, read
from tests.edge_agent.web.agent_proc import PIN, SITE, STAFF, STAFF_2, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_walk import _click, _css, _mosquitto_sub, _shot, _wait

pytestmark = [pytest.mark.broker, pytest.mark.browser]
FLAKY = """
[[devices]]
id = "steth-3"
kind = "simulated"
speed = 8.0
link = "flaky"
"""
HUMMING = """
[[devices]]
id = "steth-4"
kind = "simulated"
scenario = "mains-hum"
speed = 8.0
"""
LOW_GAIN = """
[[devices]]
id = "steth-5"
kind = "simulated"
scenario = "low-gain"
speed = 8.0
"""
TALKING = """
[[devices]]
id = "steth-6"
kind = "simulated"
scenario = "talking"
speed = 8.0
"""
HEART = ("heart-4", "aortic", "pulmonic")
LUNG = ("lung-anterior", "lung-right-upper", "lung-left-upper")


def _open_exam(d: Any, base: str, staff: str, resident: str, protocol: str = "heart-4") -> str:
    d.get(base + "/")
    _css(d, "#staff")[0].send_keys(staff)
    _css(d, "#secret")[0].send_keys(PIN)
    _click(d, "#signin")
    _click(d, f'[data-ref="{resident}"]')
    _click(d, f"#protocol-{protocol}")
    _click(d, "#start-exam")
    ((exam,),) = _wait(d, lambda d: read(d, ".exam", "data-exam"), "exam screen")
    return exam


def _text(d: Any, css: str) -> str:
    """The text of the first element `css` names ("" when there is none)."""
    return next((t for (t,) in read(d, css, "innerText")), "")


@pytest.fixture
def french() -> Iterator[Any]:
    """A Chromium in French with no cookie (kept for the session, cleaned for each test)."""
    with chromium("fr") as driver:
        yield driver


def _pick(d: Any, device: str) -> None:
    _wait(d, lambda d: picked(d, "#device", device), f"no {device} to pick")


def test_a_dropped_link_and_a_busy_stethoscope(tmp_path: Path, broker: LocalBroker) -> None:
    sub_out = tmp_path / "sub.txt"
    with sub_out.open("wb") as out:
        sub = _mosquitto_sub(broker.port, out)
        try:
            with (
                running_agent(tmp_path, broker.port, FLAKY) as base,
                chromium() as a,
                chromium() as b,
            ):
                first = _open_exam(a, base, STAFF, "res-0042")
                # The link drops every 5 s of stream: an 8 s recording always spans a drop.
                _pick(a, "steth-3")
                _click(a, '#record[data-site="aortic"]')
                advice = _wait(a, lambda d: read(d, "#verdict .advice", "data-advice"), "verdict")
                keys = [k for (k,) in advice]
                assert "advice.disconnected" in keys, keys
                assert "disconnected" in _text(a, "#verdict")
                _shot(a, tmp_path, "disconnected")
                # Nurse B's page opens while steth-1 is free: she picks it.
                second = _open_exam(b, base, STAFF_2, "res-0043")
                _pick(b, "steth-1")
                # Nurse A re-records with steth-1, which her exam now holds.
                _pick(a, "steth-1")
                _click(a, '#rerecord[data-site="aortic"]')
                _wait(a, lambda d: _css(d, "#recording-now"), "A's recording did not start")
                # B's page, opened before, still offers it: the agent refuses, by name.
                _click(b, '#record[data-site="aortic"]')
                error = _wait(b, lambda d: _text(d, "#page-error"), "B was not told")
                assert "in use by Marie" in error and "nurse-a" not in error
                _shot(b, tmp_path, "busy")
                assert not _css(b, "#recording-now")
                _wait(a, lambda d: _css(d, '#summary tr.done[data-site="aortic"]'), "A's site")
                b.refresh()
                # Her colleague by name (her account's), not her staff id; not to be chosen.
                held = read(b, '#device option[value="steth-1"]', "disabled", "innerText")
                assert held[0][0] == "True" and "In use by Marie" in held[0][1], held
                _wait(b, lambda d: len(_css(d, "#summary tr.pending")) == 4, "B's exam mixed")
        finally:
            sub.terminate()
            sub.wait(timeout=5)
    lines = [ln.split(" ", 1) for ln in sub_out.read_text().splitlines() if " " in ln]
    recordings = [json.loads(p) for t, p in lines if t.endswith("/recordings")]
    exams = [json.loads(p) for t, p in lines if t == topics.exams(SITE)]
    assert {r["exam_id"] for r in recordings} == {first}  # nothing recorded for the second
    dropped = [r for r in recordings if r["device"] == "steth-3"]
    assert len(dropped) == 1 and dropped[0]["gaps"], dropped  # kept, its gap marked
    assert [e["event"] for e in exams if e["exam_id"] == second] == ["opened"]


@pytest.mark.parametrize(
    ("config", "device", "pill", "key", "said", "shot", "sites"),
    [
        (HUMMING, "steth-4", "yes", "advice.mains_hum", "Bourdonnement électrique capté puis "
         "retiré", "mains-hum-fr", HEART),
        (LOW_GAIN, "steth-5", "faint", "advice.faint", "Son faible, analysé quand même",
         "low-gain-fr", HEART),
        (TALKING, "steth-6", "yes", "advice.voice", "Une voix a été entendue", "talking-fr",
         LUNG),
    ],
    ids=["charger", "low-volume", "talking"],
)  # fmt: skip
def test_a_notice_in_french_and_the_site_is_done(
    tmp_path: Path, broker: LocalBroker, config: str, device: str, pill: str, key: str,
    said: str, shot: str, sites: tuple[str, str, str], french: Any,
) -> None:  # fmt: skip
    """A charger's hum, a stethoscope at low volume (amber while listening) or someone talking
    over the lungs: one line of advice, and the site is done all the same."""
    protocol, site, next_site = sites
    sub_out = tmp_path / "sub.txt"
    with sub_out.open("wb") as out:
        sub = _mosquitto_sub(broker.port, out)
        try:
            d = french
            with running_agent(tmp_path, broker.port, config) as base:
                _open_exam(d, base, STAFF, "res-0042", protocol)
                _pick(d, device)
                _wait(d, lambda d: _css(d, f'#contact[data-state="{pill}"]'), "pill")
                _click(d, f'#record[data-site="{site}"]')
                advice = _wait(d, lambda d: read(d, "#notices .advice", "data-advice",
                                                 "innerText"), "no advice")  # fmt: skip
                assert [k for k, _ in advice] == [key]
                assert advice[0][1].startswith(said)
                assert "Bon enregistrement" in _text(d, "#verdict")
                _wait(d, lambda d: _css(d, f'#summary tr.done[data-site="{site}"]'), "not done")
                assert _css(d, f'#record[data-site="{next_site}"]') and not _css(d, "#rerecord")
                if pill == "faint":
                    assert _text(d, "#contact.warn") == "Faible : appuyez ou montez le volume"
                _shot(d, tmp_path, shot)
        finally:
            sub.terminate()
            sub.wait(timeout=5)
    lines = [ln.split(" ", 1) for ln in sub_out.read_text().splitlines() if " " in ln]
    (recording,) = [json.loads(p) for t, p in lines if t.endswith("/recordings")]
    quality = recording["analysis"]["quality"]
    assert quality["acceptable"] is True
    if key == "advice.mains_hum":
        assert quality["mains_hum_hz"] == [50.0] and "faint_level_dbfs" not in quality
    elif key == "advice.faint":
        assert quality["faint_level_dbfs"] < -65.0 and "mains_hum_hz" not in quality
    else:  # the doctor's flag says it too
        (wheeze,) = [f for f in recording["analysis"]["triage"]["flags"]
                     if f["code"] == "lung_wheeze"]  # fmt: skip
        assert wheeze["details"]["voice_sounds"] >= 3
        assert "Speech was heard during the recording" in wheeze["reason"]
