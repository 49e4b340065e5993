"""One icon for both web pages: the nurses' page and the doctors' console serve stetho_common's
favicon.svg, the same bytes at the same two paths.

Before: each page shipped its own copy (edge_agent/web/static, stetho_hub/console/static) and a
test kept the two equal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from stetho_common.favicon import FAVICON_SVG
from stetho_hub.console import ConsoleSettings, make_app
from stetho_hub.storage import DatabaseTarget, migrate, open_database
from tests.edge_agent.web.test_page_security import Clock, run

PATHS = ("/favicon.ico", "/static/favicon.svg")


async def _icons(client: TestClient) -> list[tuple[int, str, bytes]]:
    answers = []
    for path in PATHS:  # as a browser asks, signed out
        answer = await client.get(path, headers={"Sec-Fetch-Mode": "no-cors"})
        answers.append((answer.status, answer.content_type, await answer.read()))
    return answers


def test_both_pages_serve_the_one_icon(tmp_path: Path) -> None:
    served: dict[str, list[tuple[int, str, bytes]]] = {}

    async def nurses(client: TestClient, clock: Clock) -> None:
        served["nurses"] = await _icons(client)

    run(tmp_path / "agent", nurses)
    (tmp_path / "hub").mkdir()
    target = DatabaseTarget("sqlite", str(tmp_path / "hub" / "hub.db"))
    db = open_database(target, migrating=True)
    migrate(db)

    async def doctors() -> None:
        app = make_app(ConsoleSettings(target, tmp_path / "hub"), db)
        async with TestClient(TestServer(app)) as client:
            served["doctors"] = await _icons(client)

    try:
        asyncio.run(doctors())
    finally:
        db.close()
    expected = [(200, "image/svg+xml", FAVICON_SVG)] * len(PATHS)
    assert served == {"nurses": expected, "doctors": expected}
    assert FAVICON_SVG.startswith(b"<svg") and len(FAVICON_SVG) < 1024


def test_the_icon_is_one_file_in_the_shared_package() -> None:
    root = Path(__file__).parents[1]
    # Our packages only: a virtualenv's or a mutation copy's icons are not ours.
    packages = [d for d in root.iterdir() if (d / "__init__.py").is_file()]
    icons = sorted(str(p.relative_to(root)) for d in packages for p in d.glob("**/favicon.svg"))
    assert icons == ["stetho_common/static/favicon.svg"]
