"""The console on a tablet held upright (768 x 1024 CSS pixels), in French and English: every
control is at least 44 px high and wide to touch, and nothing needs sideways scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stetho_testkit.browser import give_back, sideways, too_small_to_touch
from stetho_testkit.hub.console import PASSWORD, console_running
from tests.stetho_hub.test_console_browser import _chromium, _wait

pytestmark = [pytest.mark.browser]


def test_every_control_is_big_enough_to_touch_upright(tmp_path: Path) -> None:
    # Before: the header's links and the table's "ouvrir" were 19 px tall, buttons 32 px,
    # the decision's and the band's lists 19 px, the volume slider 16 px; in English "open"
    # was 40 px wide. One console and one Chromium for both languages: cookies cleared
    # between them, the second is a fresh sign-in as the first was (one browser start less).
    from selenium.webdriver.common.by import By

    pages: dict[tuple[str, str], tuple[list[Any], tuple[int, int]]] = {}
    with console_running(tmp_path) as hub:
        signed_in_pages = ("/", "/homes", f"/recordings/{hub.home_a.recording_id}",
                           f"/exams/{hub.exam_a}", "/live/home-a/steth-a", "/nowhere")  # fmt: skip
        driver = _chromium((768, 1024))
        try:
            driver.set_page_load_timeout(30)
            for lang in ("fr", "en"):
                driver.delete_all_cookies()
                driver.get(hub.url + f"/signin?lang={lang}")
                assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
                pages[lang, "/signin"] = (too_small_to_touch(driver), sideways(driver))
                driver.find_element(By.ID, "username").send_keys("dr-a")
                driver.find_element(By.ID, "password").send_keys(PASSWORD)
                driver.find_element(By.ID, "signin").click()
                _wait(lambda: driver.find_elements(By.ID, "inbox"))
                for page in signed_in_pages:
                    driver.get(hub.url + page)
                    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
                    pages[lang, page] = (too_small_to_touch(driver), sideways(driver))
        finally:
            give_back(driver)
    for page, (small, (wide, shown)) in pages.items():
        assert not small, (page, small)
        assert wide <= shown, f"{page}: {wide} px wide in a {shown} px window"
