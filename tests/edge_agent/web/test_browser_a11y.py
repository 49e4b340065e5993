"""The nurse's pages against axe-core's rules (WCAG 2.0/2.1 A and AA, best practices), in
real Chromium.

One agent and one browser: the sign-in page, then every page a signed-in nurse sees (residents,
a resident, an exam under way with one site recorded, a doctor's request, stethoscopes, a
pairing, a page not found), in English on a laptop and in French upright on a tablet (the
sign-in page in both languages at both sizes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.axe import axe_source, violations
from stetho_testkit.browser import clicked, picked
from tests.edge_agent.web.agent_proc import PIN, STAFF, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_tablet import UPRIGHT, _show
from tests.edge_agent.web.test_browser_walk import KEYPAD_RADIO, _publish_request

pytestmark = [pytest.mark.broker, pytest.mark.browser]
LAPTOP = (1366, 768)
SIZES = (UPRIGHT, LAPTOP)
# Past sign-in, each page once per language and once per size: the rules read the markup and
# its styles, which change with one or the other, not with the pair (the full square cost 12 s).
EACH_ONCE = ((LAPTOP, "en"), (UPRIGHT, "fr"))
OPEN_FOLDS = "document.querySelectorAll('details').forEach(e => e.open = true)"  # checked too


def test_every_page_passes_axe_in_both_languages_and_sizes(
    tmp_path: Path, broker: LocalBroker
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    source, found = axe_source(), []
    with (
        running_agent(tmp_path, broker.port, KEYPAD_RADIO) as base,
        chromium() as d,
    ):
        wait = WebDriverWait(d, 30, poll_frequency=0.1)

        def check(page: str, size: tuple[int, int]) -> None:
            lang = d.execute_script("return document.documentElement.lang")
            found.extend(violations(d, f"{page} [{lang} {size[0]}x{size[1]}]", source=source))

        for size in SIZES:  # one resize per size: each costs more than a page
            _show(d, size)
            for lang in ("en", "fr"):
                d.get(f"{base}/lang/{lang}")
                d.get(base + "/login")
                check("/login", size)
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        wait.until(lambda d: clicked(d, "#signin"))
        wait.until(lambda d: d.find_elements(By.ID, "residents"))
        _publish_request(broker.port)
        pages = {
            "/residents": "/residents",
            "/residents/<ref>": "/residents/res-0042",
            "/stethoscopes": "/stethoscopes",
            "/x (not found)": "/x",
            "/requests": "/requests",
            "/exams/<id>": _an_exam_with_one_site(d, wait),
            "/stethoscopes/pairing/<id>": _a_pairing(d, base, wait),
        }
        d.get(base + "/requests")
        wait.until(lambda d: d.refresh() or d.find_elements(By.NAME, "age_band"))
        for size, lang in EACH_ONCE:
            _show(d, size)
            d.get(f"{base}/lang/{lang}")
            for page, path in pages.items():
                d.get(path if path.startswith("http") else base + path)
                d.execute_script(OPEN_FOLDS)
                check(page, size)
    assert not found, "\n" + "\n".join(found)


def _an_exam_with_one_site(d: Any, wait: Any) -> str:
    """Start heart-4 for the first resident and record one site: the page with its waveform,
    its verdict and its summary."""
    from selenium.webdriver.common.by import By

    wait.until(lambda d: clicked(d, '[data-ref="res-0042"]'))
    wait.until(lambda d: clicked(d, "#protocol-heart-4"))
    wait.until(lambda d: clicked(d, "#start-exam"))
    wait.until(lambda d: picked(d, "#device", "steth-1"))
    wait.until(lambda d: clicked(d, "#record"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#verdict"))
    return str(d.current_url)


def _a_pairing(d: Any, base: str, wait: Any) -> str:
    """Find, Pair: the pairing page with its passkey."""
    d.get(base + "/stethoscopes")
    wait.until(lambda d: clicked(d, "#scan"))
    wait.until(lambda d: clicked(d, '[data-address="5E:7A:00:00:01:01"]'))
    wait.until(lambda d: "/pairing/" in d.current_url)
    return str(d.current_url)
