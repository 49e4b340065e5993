"""The nurse's stethoscopes screen says how many recordings wait for the hospital's receipt and
how old the oldest is (issue 15: `stetho status` and the nurse's page), in her language."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from edge_agent.storage.receipts import ReceiptStats
from edge_agent.web.context import CTX
from tests.edge_agent.web.test_page_security import Clock, run, sign_in


def test_the_stethoscopes_screen_counts_recordings_waiting_for_a_receipt(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        page = await (await client.get("/stethoscopes")).text()
        assert 'id="receipts"' not in page  # an agent without a hub waits for none

        async def waiting() -> ReceiptStats:
            return ReceiptStats(awaiting=3, oldest_stored_at=clock.now - 750, resent_total=4)

        client.server.app[CTX].receipts = waiting
        page = await (await client.get("/stethoscopes")).text()
        assert "Recordings waiting for the hospital&#39;s receipt: 3." in page
        assert "The oldest was made 12 min ago." in page
        await client.get("/lang/fr")  # the language switch, kept in a cookie
        page = await (await client.get("/stethoscopes")).text()
        assert "accusé de réception de l&#39;hôpital : 3." in page
        assert "Le plus ancien date de 12 min." in page

    run(tmp_path, scenario)


def test_a_recording_made_this_minute_is_not_said_zero_minutes_old(tmp_path: Path) -> None:
    # Before: "Le plus ancien date de 0 min." walking the demo's stethoscopes screen.
    pages: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        async def waiting() -> ReceiptStats:
            return ReceiptStats(awaiting=1, oldest_stored_at=clock.now - 20, resent_total=0)

        client.server.app[CTX].receipts = waiting
        assert await sign_in(client) == 303
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            pages.append(await (await client.get("/stethoscopes")).text())

    run(tmp_path, scenario)
    assert "The oldest was made less than a minute ago." in pages[0]
    assert "Le plus ancien date de moins d&#39;une minute." in pages[1]
    assert "0 min" not in pages[0] + pages[1]
