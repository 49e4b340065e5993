"""The console in Debian's Chromium (chromium-driver, selenium): sign in, see the alert arrive
live, open it, the audio element reports the recording's duration; another home stays hidden;
in French on a tablet, a recording says the mains hum its analysis took out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from stetho_hub import wire
from stetho_hub.storage import Archive, AudioStore, open_database
from stetho_testkit.browser import (
    CHROMIUM,
    DRIVER,
    POLL_S,
    clicked,
    give_back,
    take_chromium,
)
from stetho_testkit.hub.console import PASSWORD, _alert, console_running
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.broker]
SHOTS = os.environ.get("STETHO_SCREENSHOTS")  # e.g. docs/img to refresh the docs' pictures


def _chromium(size: tuple[int, int] = (1280, 900)) -> Any:
    """A Chromium for the console, kept for the session: hand it back with `give_back`."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Debian chromium and chromium-driver are missing: run scripts/bootstrap.sh")
    flags = (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
    )  # fmt: skip
    return take_chromium(flags, size)


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    return wait_until(check, timeout_s, every_s=POLL_S, what="the condition in the browser")


def _click(driver: Any, selector: str) -> None:
    """Find and click in one step (a live page may replace the element)."""
    _wait(lambda: clicked(driver, selector))


def test_a_doctor_signs_in_sees_a_new_alert_live_and_plays_it(
    tmp_path: Path, broker: LocalBroker
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    publish = broker_settings(broker_from_url(broker.url), None)
    with (
        MqttTestClient(broker.host, broker.port, ["stetho/v1/+/acks"]) as care_home,
        console_running(tmp_path, publish) as hub,
    ):
        driver = _chromium()
        try:
            driver.set_page_load_timeout(30)
            driver.get(hub.url + "/")
            driver.find_element(By.ID, "username").send_keys("dr-a")
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "signin").click()
            _wait(lambda: driver.find_elements(By.ID, "inbox"))
            assert hub.home_b.recording_id not in driver.page_source
            # A new alert for home-a arrives while the inbox is open: the page shows it.
            fresh = make_recording(3, site="home-a", seconds=1.25)
            db = open_database(hub.target)
            archive = Archive(db, AudioStore(tmp_path / "audio"))
            archive.store(wire.RecordingMeta(fresh.meta, fresh.meta_json))
            archive.store(wire.RecordingAudio(fresh.recording_id, "home-a", "steth-a", fresh.flac))
            archive.store(_alert(fresh))
            db.close()
            _click(driver, f'a[href="/recordings/{fresh.recording_id}"]')  # it arrives live
            player = _wait(lambda: driver.find_elements(By.ID, "player"))[0]
            duration = _wait(lambda: driver.execute_script(
                "var a = arguments[0]; return a.readyState >= 1 ? a.duration : 0;", player
            ))  # fmt: skip
            assert abs(duration - 1.25) < 0.01
            driver.execute_script("arguments[0].play();", player)
            _wait(lambda: driver.execute_script("return arguments[0].currentTime;", player) > 0)
            driver.get(f"{hub.url}/recordings/{hub.home_a.recording_id}")  # analysed: a picture
            image = _wait(lambda: driver.find_elements(By.ID, "picture"))[0]
            assert _wait(lambda: driver.execute_script("return arguments[0].naturalWidth;", image))
            # The doctor decides "urgent visit today": the care home receives the ack.
            Select(driver.find_element(By.ID, "disposition")).select_by_value("urgent-visit-today")
            driver.find_element(By.ID, "note").send_keys("I come before noon")
            driver.find_element(By.ID, "send-decision").click()
            _wait(lambda: driver.find_elements(By.ID, "decided"))
            ack = json.loads(care_home.wait_for(lambda m: len(m) >= 1)[0].payload)
            assert (ack["disposition"], ack["by"]) == ("urgent-visit-today", "dr-a")
            # The answer opens the page at its sent line, under the picture: in view.
            top = driver.execute_script(
                "return [document.getElementById('decided').getBoundingClientRect().top,"
                " window.innerHeight];"
            )
            assert 0 <= top[0] < top[1], top
            driver.execute_script("window.scrollTo(0, 0);")  # the docs' picture: the page's top
            for folder in filter(None, (tmp_path, SHOTS and Path(SHOTS))):
                driver.save_screenshot(str(Path(folder) / "hub-console-recording.png"))
            driver.get(f"{hub.url}/recordings/{hub.home_b.recording_id}")
            assert "Not found" in driver.page_source or "not yours" in driver.page_source
            driver.save_screenshot(str(tmp_path / "console-recording.png"))
        finally:
            give_back(driver)


def test_a_doctor_reads_the_inbox_and_a_recording_in_french_on_a_tablet(
    tmp_path: Path,
) -> None:
    """French chosen by the browser, 800 px wide: the live row, the recording page and its
    forms speak French, and nothing needs sideways scrolling."""
    from selenium.webdriver.common.by import By

    with console_running(tmp_path) as hub:
        driver = _chromium((800, 1280))
        try:
            driver.set_page_load_timeout(30)
            driver.get(hub.url + "/signin?lang=fr")
            assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
            driver.find_element(By.ID, "username").send_keys("dr-a")
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "signin").click()
            _wait(lambda: driver.find_elements(By.ID, "inbox"))
            assert "Les plus urgentes d'abord" in driver.page_source
            fresh = make_recording(3, site="home-a", seconds=1.25)
            db = open_database(hub.target)
            archive = Archive(db, AudioStore(tmp_path / "audio"))
            archive.store(wire.RecordingMeta(fresh.meta, fresh.meta_json))
            archive.store(_alert(fresh))
            db.close()
            link = f'a[href="/recordings/{fresh.recording_id}"]'
            row = _wait(lambda: driver.find_elements(By.CSS_SELECTOR, link))[0]
            assert row.text == "ouvrir"  # the live row speaks French too
            assert "son en attente" in driver.page_source and ">urgent<" in driver.page_source
            _no_sideways_scroll(driver)
            driver.get(f"{hub.url}/recordings/{hub.home_a.recording_id}")
            _wait(lambda: driver.find_elements(By.ID, "picture"))
            text = driver.find_element(By.TAG_NAME, "main").text
            for said in ("Résultats", "Durée", "Envoyer à l'établissement", "Aide à la décision"):
                assert said in text, said
            options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#disposition option")]
            assert "Visite urgente aujourd'hui" in options
            _no_sideways_scroll(driver)
            driver.find_element(By.ID, "send-decision").click()  # no choice made: the browser
            assert driver.find_elements(By.ID, "disposition")  # refuses it (required field)
            for folder in filter(None, (tmp_path, SHOTS and Path(SHOTS))):
                driver.save_screenshot(str(Path(folder) / "hub-console-recording-fr-tablet.png"))
            # A recording the analysis took mains hum out of: said beside its findings.
            humming = make_recording(
                4, site="home-a", seconds=6.0, analysed=True, heart_bpm=72, mains_hum_hz=50.0
            )
            db = open_database(hub.target)
            Archive(db, AudioStore(tmp_path / "audio")).store(
                wire.RecordingMeta(humming.meta, humming.meta_json)
            )
            db.close()
            driver.get(f"{hub.url}/recordings/{humming.recording_id}")
            (hum,) = _wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".mains-hum"))
            assert hum.get_attribute("data-hz") == "50"
            assert hum.text.startswith("Bourdonnement du secteur à 50 Hz (chargeur, moteur de lit")
            assert hum.text.endswith("le son est joué tel qu'enregistré, bourdonnement compris.")
            _no_sideways_scroll(driver)
            driver.save_screenshot(str(tmp_path / "console-recording-hum-fr.png"))
        finally:
            give_back(driver)


def _no_sideways_scroll(driver: Any) -> None:
    wide, shown = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert wide <= shown, f"the page is {wide} px wide in a {shown} px window"
