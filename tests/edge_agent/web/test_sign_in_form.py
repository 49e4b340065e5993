"""The sign-in form takes what an account's secret can be: a PIN or a password."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.edge_agent.web.test_page_security import Clock, run


def test_the_secret_box_offers_letters_as_well_as_digits(tmp_path: Path) -> None:
    # Before: inputmode="numeric" gave a tablet a digits-only keypad, so a nurse whose
    # account has a password could not type it.
    boxes: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        page = await (await client.get("/login")).text()
        boxes.extend(re.findall(r'<input[^>]*name="secret"[^>]*>', page))

    run(tmp_path, scenario)
    assert len(boxes) == 1
    assert 'type="password"' in boxes[0] and "inputmode" not in boxes[0]
