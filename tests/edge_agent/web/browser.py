"""Real Chromium for the page's tests: Debian's `chromium` driven by `chromium-driver` (selenium).

No browser is downloaded: scripts/bootstrap.sh installs both Debian packages.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TABLET = (1280, 800)  # a 10-inch tablet held landscape, in CSS pixels


@contextmanager
def chromium(profile: Path, language: str = "en") -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip(
            "Debian chromium and chromium-driver are not installed: run scripts/bootstrap.sh"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        f"--window-size={TABLET[0]},{TABLET[1]}", f"--lang={language}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def forget(driver: Any) -> None:
    """Clear every cookie, so that a browser shared by a module's tests signs in afresh: each
    test's agent listens on its own port of 127.0.0.1, and cookies do not tell ports apart."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    assert not driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
