"""The console on a tablet held upright (768 x 1024 CSS pixels), in French and English: every
control is at least 44 px high and wide to touch, and nothing needs sideways scrolling."""

from __future__ import annotations

from pathlib import Path

import pytest

from stetho_testkit.browser import sideways, too_small_to_touch
from stetho_testkit.hub.console import PASSWORD, console_running
from tests.stetho_hub.test_console_browser import _chromium, _wait

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_control_is_big_enough_to_touch_upright(tmp_path: Path, lang: str) -> None:
    # Before: the header's links and the table's "ouvrir" were 19 px tall, buttons 32 px,
    # the decision's and the band's lists 19 px, the volume slider 16 px; in English "open"
    # was 40 px wide.
    from selenium.webdriver.common.by import By

    with console_running(tmp_path) as hub:
        driver = _chromium(tmp_path / "profile", "768,1024")
        try:
            driver.set_page_load_timeout(30)
            driver.get(hub.url + f"/signin?lang={lang}")
            pages = {"/signin": (too_small_to_touch(driver), sideways(driver))}
            driver.find_element(By.ID, "username").send_keys("dr-a")
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "signin").click()
            _wait(lambda: driver.find_elements(By.ID, "inbox"))
            for page in ("/", "/homes", f"/recordings/{hub.home_a.recording_id}",
                         f"/exams/{hub.exam_a}", "/live/home-a/steth-a", "/nowhere"):  # fmt: skip
                driver.get(hub.url + page)
                pages[page] = (too_small_to_touch(driver), sideways(driver))
        finally:
            driver.quit()
    for page, (small, (wide, shown)) in pages.items():
        assert not small, (page, small)
        assert wide <= shown, f"{page}: {wide} px wide in a {shown} px window"
