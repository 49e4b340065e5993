"""The doctor's console against axe-core's rules (WCAG 2.0/2.1 A and AA, best practices), in
real Chromium.

One console and one browser: the sign-in page, then every page a signed-in doctor sees (the
inbox, the homes, a recording with its picture, an exam, live listening, another home's
recording and exam refused), in English on a laptop and in French on a tablet (the sign-in
page in both languages at both sizes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stetho_testkit.axe import axe_source, violations
from stetho_testkit.browser import give_back
from stetho_testkit.hub.console import PASSWORD, console_running
from tests.edge_agent.web.test_browser_tablet import UPRIGHT, _show
from tests.stetho_hub.test_console_browser import _chromium, _wait

pytestmark = [pytest.mark.browser]
LAPTOP = (1366, 768)
SIZES = (UPRIGHT, LAPTOP)
# Past sign-in, each page once per language and once per size: the rules read the markup and
# its styles, which change with one or the other, not with the pair (the full square cost 9 s).
EACH_ONCE = ((LAPTOP, "en"), (UPRIGHT, "fr"))


def test_every_console_page_passes_axe_in_both_languages_and_sizes(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    source, found = axe_source(), []
    with console_running(tmp_path) as hub:
        d = _chromium()
        try:
            d.set_page_load_timeout(30)

            def check(page: str, size: tuple[int, int]) -> None:
                lang = d.execute_script("return document.documentElement.lang")
                where = f"{page} [{lang} {size[0]}x{size[1]}]"
                found.extend(violations(d, where, source=source))

            for size in SIZES:  # one resize per size: each costs more than a page
                _show(d, size)
                for lang in ("en", "fr"):
                    d.get(f"{hub.url}/signin?lang={lang}")
                    check("/signin", size)
            d.find_element(By.ID, "username").send_keys("dr-a")
            d.find_element(By.ID, "password").send_keys(PASSWORD)
            d.find_element(By.ID, "signin").click()
            _wait(lambda: d.find_elements(By.ID, "inbox"))
            pages = {
                "/": "/",
                "/homes": "/homes",
                "/recordings/<id>": f"/recordings/{hub.home_a.recording_id}",
                "/exams/<id>": f"/exams/{hub.exam_a}",
                "/live/<site>/<device>": "/live/home-a/steth-a",
                "/recordings/<another home's>": f"/recordings/{hub.home_b.recording_id}",
                "/exams/<another home's>": f"/exams/{hub.exam_b}",
            }
            for size, lang in EACH_ONCE:
                _show(d, size)
                for page, path in pages.items():
                    d.get(f"{hub.url}{path}?lang={lang}")
                    check(page, size)
        finally:
            give_back(d)
    assert not found, "\n" + "\n".join(found)
