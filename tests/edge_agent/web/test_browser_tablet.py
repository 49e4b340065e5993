"""The nurse's pages on a 10-inch tablet held upright (768 x 1024 CSS pixels), in French: every
control is at least 44 px tall to touch (a radio button or a box counts by its label), and
nothing needs sideways scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.browser import clicked, sideways, too_small_to_touch
from tests.edge_agent.web.agent_proc import PIN, STAFF, running_agent
from tests.edge_agent.web.browser import chromium

pytestmark = [pytest.mark.broker, pytest.mark.browser]
UPRIGHT = (768, 1024)


def _check(driver: Any, page: str) -> None:
    small = too_small_to_touch(driver)
    assert not small, (page, small)
    wide, shown = sideways(driver)
    assert wide <= shown, f"{page}: {wide} px wide in a {shown} px window"


def test_every_control_is_big_enough_to_touch_upright_in_french(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: "Ajouter un résident" and "Importer un fichier CSV" (the folding parts of the
    # residents screen) were 28 px tall.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with running_agent(tmp_path, broker.port) as base, chromium(tmp_path / "pr", "fr") as d:
        d.set_window_size(*UPRIGHT)
        d.get(base + "/login")
        _check(d, "/login")
        d.find_element(By.ID, "staff").send_keys(STAFF)
        d.find_element(By.ID, "secret").send_keys(PIN)
        WebDriverWait(d, 20).until(lambda d: clicked(d, "#signin"))
        WebDriverWait(d, 20).until(lambda d: d.find_elements(By.ID, "residents"))
        for page in ("/residents", "/residents/res-0042", "/requests", "/stethoscopes", "/x"):
            d.get(base + page)
            d.execute_script("document.querySelectorAll('details').forEach(e => e.open = true)")
            _check(d, page)
