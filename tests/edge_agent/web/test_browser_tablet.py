"""The nurse's pages on a 10-inch tablet held upright (768 x 1024 CSS pixels), in French: every
control is at least 44 px tall to touch (a radio button or a box counts by its label), and
nothing needs sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.browser import POLL_S, clicked, sideways, too_small_to_touch
from tests.edge_agent.web.agent_proc import PIN, STAFF, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_walk import _publish_request

pytestmark = [pytest.mark.broker, pytest.mark.browser]


@pytest.fixture
def french() -> Iterator[Any]:
    """A Chromium in French with no cookie (kept for the session, cleaned for each test)."""
    with chromium("fr") as driver:
        yield driver


UPRIGHT = (768, 1024)


def _check(driver: Any, page: str) -> None:
    small = too_small_to_touch(driver)
    assert not small, (page, small)
    wide, shown = sideways(driver)
    assert wide <= shown, f"{page}: {wide} px wide in a {shown} px window"


def _show(driver: Any, size: tuple[int, int]) -> None:
    """Size the window so that its page is `size` CSS pixels (the window's own bars apart).

    A loaded machine may report the page's size before the window has taken its new one
    (seen: 545 px high for 688): the bars are measured again until the page is `size`.
    """
    from selenium.webdriver.support.ui import WebDriverWait

    def inner() -> list[int]:
        return list(driver.execute_script("return [window.innerWidth, window.innerHeight];"))

    def fits(driver: Any) -> bool:
        seen = inner()
        if seen == list(size):
            return True
        outer = driver.get_window_size()
        driver.set_window_size(
            outer["width"] + size[0] - seen[0], outer["height"] + size[1] - seen[1]
        )
        return False

    driver.set_window_size(*size)
    WebDriverWait(driver, 10, poll_frequency=POLL_S).until(fits, f"the page never reached {size}")


def test_every_control_is_big_enough_to_touch_upright_in_french(
    tmp_path: Path, broker: LocalBroker, french: Any
) -> None:
    # Before: "Ajouter un résident" and "Importer un fichier CSV" (the folding parts of the
    # residents screen) were 28 px tall.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = french
    with running_agent(tmp_path, broker.port) as base:
        d.get(base + "/login")
        _show(d, UPRIGHT)
        _check(d, "/login")
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(lambda d: clicked(d, "#signin"))
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(
            lambda d: d.find_elements(By.ID, "residents")
        )
        _publish_request(broker.port)  # /requests with a request: its accept form and age band
        d.get(base + "/requests")
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(
            lambda d: d.refresh() or d.find_elements(By.NAME, "age_band")
        )
        for page in ("/residents", "/residents/res-0042", "/requests", "/stethoscopes", "/x"):
            d.get(base + page)
            d.execute_script("document.querySelectorAll('details').forEach(e => e.open = true)")
            _check(d, page)


# A 10-inch tablet held sideways shows about 1024 x 688 CSS pixels of page under its own bars.
SIDEWAYS = (1024, 688)


def test_the_record_button_is_in_view_on_a_tablet_held_sideways(
    tmp_path: Path, broker: LocalBroker, french: Any
) -> None:
    # Before: the header took two rows (title, links, languages and sign-out did not fit in
    # 1024 px) and the waveform 160 px, so "Record" began 726 px down: under the fold.
    # One agent and browser: French first (the browser's language), then English (the switch).
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = french
    with running_agent(tmp_path, broker.port) as base:
        d.get(base + "/login")
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        wait = WebDriverWait(d, 30, poll_frequency=POLL_S)
        wait.until(lambda d: clicked(d, "#signin"))
        wait.until(lambda d: clicked(d, '[data-ref="res-0042"]'))
        wait.until(lambda d: clicked(d, "#start-exam"))
        wait.until(lambda d: d.find_elements(By.ID, "record"))
        exam = d.current_url
        for lang in ("fr", "en"):
            if lang == "en":
                d.get(base + "/lang/en")
                d.get(exam)
                wait.until(lambda d: d.find_elements(By.ID, "record"))
            assert d.execute_script("return document.documentElement.lang;") == lang
            _show(d, SIDEWAYS)
            bottom, shown = d.execute_script(
                "return [document.getElementById('record').getBoundingClientRect().bottom,"
                " window.innerHeight];"
            )
            assert bottom <= shown, f"{lang}: Record ends {bottom} px down a {shown} px high window"


# Each option of a list and each button's words, in their own font, against the room inside
# them (padding and a list's arrow apart): a list narrower than what it says cuts it off, a
# button narrower than its words breaks them over two lines.
_CUT_OFF = """
const cut = [], probe = document.createElement('span');
probe.style.whiteSpace = 'pre'; probe.style.position = 'absolute';
document.body.appendChild(probe);
for (const e of document.querySelectorAll('#requests select, #requests button')) {
  const st = getComputedStyle(e), arrow = e.tagName === 'SELECT' ? 20 : 0;
  const room = e.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - arrow;
  probe.style.font = st.font;
  for (const text of e.tagName === 'SELECT' ? [...e.options].map(o => o.text) : [e.innerText]) {
    probe.textContent = text;
    if (probe.offsetWidth > room) cut.push(`"${text}" ${probe.offsetWidth} > ${room}`);
  }
}
probe.remove();
return cut;
"""


def test_a_doctors_request_says_each_age_band_whole_in_french(
    tmp_path: Path, broker: LocalBroker, french: Any
) -> None:
    # Before: at 1280 px the requests' tiles were 280 px wide and the accept form's list read
    # "adulte (16 ans et plu", its button on two lines. One browser visits the three sizes.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cut: dict[tuple[int, int], list[str]] = {}
    d = french
    with running_agent(tmp_path, broker.port) as base:
        d.get(base + "/login")
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(lambda d: clicked(d, "#signin"))
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(
            lambda d: d.find_elements(By.ID, "residents")
        )
        _publish_request(broker.port)
        for size in (UPRIGHT, (1024, 768), (1280, 800)):
            _show(d, size)
            d.get(base + "/requests")
            WebDriverWait(d, 20, poll_frequency=POLL_S).until(
                lambda d: d.refresh() or d.find_elements(By.NAME, "age_band")
            )
            cut[size] = d.execute_script(_CUT_OFF)
    assert not any(cut.values()), cut


def test_the_header_is_one_row_on_a_tablet_or_laptop_held_sideways(
    tmp_path: Path, broker: LocalBroker, french: Any
) -> None:
    # Before: from 1241 to about 1300 px (a 1280 x 800 tablet) the title came back and the
    # French header took two rows (145 px instead of 73), pushing every page down.
    # One agent and browser: French first (the browser's language), then English (the switch).
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    rows: dict[tuple[str, int], float] = {}
    d = french
    with running_agent(tmp_path, broker.port) as base:
        d.get(base + "/login")
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(lambda d: clicked(d, "#signin"))
        WebDriverWait(d, 20, poll_frequency=POLL_S).until(
            lambda d: d.find_elements(By.ID, "residents")
        )
        for lang in ("fr", "en"):
            if lang == "en":
                d.get(base + "/lang/en")
            for width in (1024, 1280, 1300, 1366):
                _show(d, (width, 768))
                d.get(base + "/residents/res-0042")
                assert d.execute_script("return document.documentElement.lang;") == lang
                rows[lang, width] = d.execute_script(
                    "return document.querySelector('.bar').getBoundingClientRect().height;"
                )
    assert all(height < 100 for height in rows.values()), rows
