"""A recording length with a decimal comma, as a French tablet may send it, is taken."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from edge_agent.web.context import CTX
from tests.edge_agent.web.test_page_security import Clock, opened_exam, run, sign_in


def test_the_record_form_takes_12_comma_5_seconds(tmp_path: Path) -> None:
    # Before: "12,5" was refused ("a recording lasts 1 to 120 seconds: '12,5' is not such a
    # number"), though the doctor's console took it.
    wanted: list[object] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, token = await opened_exam(client)
        form = {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": "12,5"}
        response = await client.post(f"{exam}/record", data=form, allow_redirects=False,
                                      headers={"Accept-Language": "fr"})  # fmt: skip
        wanted.append(response.status)
        segmenter = client.server.app[CTX].exams.slots["steth-1"].segmenter
        assert segmenter is not None
        wanted.append(segmenter.progress())

    run(tmp_path, scenario, attached=("steth-1",))
    assert wanted == [303, (0.0, 12.5)]
