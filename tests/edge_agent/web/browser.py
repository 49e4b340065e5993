"""Real Chromium for the page's tests: Debian's `chromium` driven by `chromium-driver` (selenium).

No browser is downloaded: scripts/bootstrap.sh installs both Debian packages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from stetho_testkit.browser import CHROMIUM, DRIVER, shared_chromium

TABLET = (1280, 800)  # a 10-inch tablet held landscape, in CSS pixels


@contextmanager
def chromium(language: str = "en") -> Iterator[Any]:
    """A Chromium asking for pages in ``language``, at the tablet's size, with no cookie (one
    kept for the session: `stetho_testkit.browser.shared_chromium`)."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip(
            "Debian chromium and chromium-driver are not installed: run scripts/bootstrap.sh"
        )
    flags = (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--lang={language}",
    )  # fmt: skip
    with shared_chromium(flags, TABLET, {"intl.accept_languages": language}) as driver:
        yield driver
